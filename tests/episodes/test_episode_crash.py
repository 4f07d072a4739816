"""A recorder killed with SIGKILL mid-episode: earlier episodes are untouched, the partial one is repaired with
at most one second lost."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import small_schema, synthetic_frame
from lad_core.episodes import EpisodeDataset, EpisodeReader, repair_episode
from lad_core.errors import InputError

HERE = Path(__file__).resolve().parent


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_sigkill_mid_episode_loses_at_most_one_second(tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, str(HERE / "record_until_killed.py"), str(tmp_path), "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    hashes, last = {}, -1
    try:
        for line in proc.stdout:
            kind, value = line.split()
            if kind == "done":  # hash each finished file as soon as it exists
                hashes[Path(value)] = _sha(Path(value))
            elif kind == "frame":
                last = int(value)
                if last >= 75:  # 2.5 s into the third episode
                    break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    assert len(hashes) == 2 and last >= 75

    ds = EpisodeDataset(tmp_path)
    assert ds.indices() == [0, 1]
    schema = small_schema()
    for path, digest in hashes.items():  # earlier episodes: byte-identical and readable
        assert _sha(path) == digest
        with EpisodeReader(path) as r:
            assert len(r) == 20 and r.info.success
            np.testing.assert_array_equal(r.images("wrist")[19], synthetic_frame(19, schema).images["wrist"])

    [partial] = ds.partials()
    assert partial.name == "episode_000002.h5.partial"
    with pytest.raises(InputError, match="repair"):
        EpisodeReader(partial)
    repaired = repair_episode(partial)
    assert repaired == tmp_path / "episode_000002.h5" and not partial.exists()
    with EpisodeReader(repaired) as r:
        n = len(r)
        assert r.info.repaired and r.info.complete and r.info.num_frames == n
        assert n >= last + 1 - 30, f"lost {last + 1 - n} frames (> 1 s at 30 Hz)"
        data = r.load()
    for t in (0, n // 2, n - 1):  # every recovered frame is the frame that was recorded
        expected = synthetic_frame(t, schema)
        np.testing.assert_array_equal(data.images["external"][t], expected.images["external"])
        np.testing.assert_array_equal(data.arm[t], expected.arm)
        assert data.timestamps[t] == pytest.approx(expected.timestamp)
    assert np.all(np.isfinite(data.observations["arm_pose"]))
    assert ds.next_index() == 3
