"""A short live session: the UI thread never stalls and the hand views keep up with the tracker.

The issue's figures (10 s, no stall over 100 ms, >= 25 view updates/s) are measured by benchmarks/bench_studio.py;
this test runs 4 s and allows for the shared 2-core test machine: p99 timer gap under 100 ms, no single stall over
250 ms, and >= 20 view updates per second.
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
    assert out["session_fps"] >= 20, out
    assert out["p99_gap_ms"] < 100, out
    assert out["max_stall_ms"] < 250, out
    assert out["view_fps"] >= 20, out
