"""A short live session: the UI thread never stalls and the hand views keep up with the tracker.

The issue's figures (10 s, no stall over 100 ms, >= 25 view updates/s) are measured by benchmarks/bench_studio.py;
this test runs 4 s on the shared, loaded 2-core test machine, where absolute rates swing with other jobs: it checks
that the views keep up with the tracker (>= 60 % of the session's frames shown), a p99 timer gap under 200 ms and no
single stall over 400 ms.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_live_session_has_no_ui_stall_and_keeps_view_rate():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        from bench_studio import measure
    finally:
        sys.path.pop(0)
    out = measure(seconds=4.0, warmup=1.5)
    assert out["session_fps"] >= 10, out
    assert out["view_fps"] >= 0.6 * out["session_fps"], out
    assert out["p99_gap_ms"] < 200, out
    assert out["max_stall_ms"] < 400, out
