"""Bad input: truncated and foreign files, unknown embodiments, a disk that fills up while recording."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import small_schema, synthetic_frame
from lad_core.episodes import (
    EpisodeDataset,
    EpisodeInfo,
    EpisodeReader,
    EpisodeWriter,
    Recorder,
    read_episode,
    repair_episode,
    write_episode,
)
from lad_core.errors import ConfigError, InputError, LadError, UnknownEmbodimentError

HERE = Path(__file__).resolve().parent


def _episode(tmp_path, n=12) -> Path:
    schema = small_schema()
    with EpisodeWriter(tmp_path / "episode_000000.h5", schema,
                       EpisodeInfo(embodiment="gripper", task="cube_in_box", fps=30)) as w:
        for t in range(n):
            w.append(synthetic_frame(t, schema))
    return tmp_path / "episode_000000.h5"


def test_truncated_file_gives_a_clear_error(tmp_path):
    path = _episode(tmp_path)
    data = path.read_bytes()
    cut = tmp_path / "episode_000001.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        EpisodeReader(cut)
    assert str(cut) in str(err.value) and "truncated" in str(err.value)
    with pytest.raises(InputError, match="truncated"):
        repair_episode(cut, tmp_path / "episode_000009.h5")
    junk = tmp_path / "episode_000002.h5"
    junk.write_bytes(b"not hdf5 at all" * 100)
    with pytest.raises(InputError, match=f"{junk}.*not an HDF5 file"):
        EpisodeReader(junk)
    with pytest.raises(InputError, match="no such episode"):
        EpisodeReader(tmp_path / "episode_000099.h5")
    # the dataset index reports broken files instead of failing as a whole
    entries = {e.index: e for e in EpisodeDataset(tmp_path).index()}
    assert entries[0].error is None and entries[0].length == 12
    assert "truncated" in entries[1].error and "not an HDF5" in entries[2].error


def test_foreign_hdf5_file_is_named_as_such(tmp_path):
    path = tmp_path / "episode_000000.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data/demo_0/actions", data=np.zeros((3, 7)))
    with pytest.raises(InputError, match="not a LAD episode.*robomimic"):
        EpisodeReader(path)
    with h5py.File(path, "a") as f:  # one of ours from a future version
        f.attrs["format"] = "lad-episode"
        f.attrs["schema_version"] = 99
    with pytest.raises(InputError, match="schema version 99 is not supported"):
        EpisodeReader(path)


def test_unknown_embodiment_is_rejected_when_writing_and_reading(tmp_path, monkeypatch):
    import lad_core.embodiments as registry

    monkeypatch.setattr(registry, "names", lambda: ["faive", "gripper", "human", "mimic"])
    path = _episode(tmp_path)
    with h5py.File(path, "a") as f:
        f.attrs["embodiment"] = "octopus"
    with pytest.raises(UnknownEmbodimentError) as err:
        EpisodeReader(path)
    assert str(path) in str(err.value) and "'octopus'" in str(err.value) and "mimic" in str(err.value)
    assert len(read_episode(path, check_embodiment=False)) == 12  # still readable on request
    schema = small_schema()
    with pytest.raises(UnknownEmbodimentError, match="octopus"):
        Recorder(tmp_path / "ds", schema, embodiment="octopus", task="t", fps=30)
    data = read_episode(path, check_embodiment=False)
    with pytest.raises(UnknownEmbodimentError):
        write_episode(tmp_path / "episode_000005.h5", data)
    with pytest.raises(ConfigError, match="embodiment must be a non-empty string"):
        Recorder(tmp_path / "ds", schema, embodiment="  ", task="t", fps=30)
    with pytest.raises(ConfigError, match="fps"):
        EpisodeInfo(embodiment="gripper", task="t", fps=0)


def test_shipped_embodiments_are_accepted_and_others_refused(tmp_path):
    import lad_core.embodiments as registry

    if not registry.names():
        pytest.skip(f"embodiment registry empty in this install: {registry.load_failures()}")
    from lad_core.episodes import validate_embodiment

    for name in registry.names():
        assert validate_embodiment(name) == name
    with pytest.raises(UnknownEmbodimentError):
        validate_embodiment("octopus")


def test_nan_actions_are_refused_before_they_reach_the_disk(tmp_path):
    schema = small_schema()
    rec = Recorder(tmp_path, schema, embodiment="gripper", task="t", fps=30)
    rec.start()
    frame = synthetic_frame(0, schema)
    frame.arm[2] = np.nan
    with pytest.raises(InputError, match="actions/arm contains NaN"):
        rec.add_frame(frame)
    rec.discard()


@pytest.mark.slow
def test_full_disk_stops_recording_cleanly_and_keeps_what_was_written(tmp_path):
    """A real write failure: the child may only write 400 kB per file (RLIMIT_FSIZE, like a full disk)."""
    out = subprocess.run([sys.executable, str(HERE / "record_until_disk_full.py"), str(tmp_path), "400000"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr  # no crash, no segfault at exit
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["stop_error"] and "File too large" in report["stop_error"]
    assert "lad episodes repair" in report["stop_error"] and not report["recording"]
    assert len(report["events"]) == 1 and report["refused"] > 0
    ds = EpisodeDataset(tmp_path)
    assert ds.indices() == [0] and len(read_episode(ds.path_for(0))) == 10  # the earlier episode is intact
    [partial] = ds.partials()
    repaired = repair_episode(partial)
    data = read_episode(repaired)
    schema = small_schema()
    assert 30 < len(data) <= report["accepted"] and data.info.repaired
    for t in range(len(data)):  # every recovered frame is exactly the recorded one
        exp = synthetic_frame(t, schema)
        np.testing.assert_array_equal(data.images["wrist"][t], exp.images["wrist"])
        np.testing.assert_array_equal(data.images["external"][t], exp.images["external"])
        np.testing.assert_array_equal(data.end_effector[t], exp.end_effector)


def test_repair_refuses_to_overwrite_a_finished_take(tmp_path):
    path = _episode(tmp_path)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(path.read_bytes())
    with pytest.raises(InputError, match="already exists"):
        repair_episode(partial)
    out = repair_episode(partial, tmp_path / "episode_000007.h5")
    assert len(read_episode(out)) == 12 and read_episode(out).info.repaired
    empty = tmp_path / "episode_000003.h5.partial"
    with EpisodeWriter(tmp_path / "episode_000003.h5", small_schema(),
                       EpisodeInfo(embodiment="gripper", task="t", fps=30)) as w:
        w.abort(delete=False)
    with pytest.raises(LadError, match="no complete frame"):
        repair_episode(empty)


def test_repair_of_an_unreadable_partial_is_bounded_in_time(tmp_path):
    """A partial that HDF5 cannot read (here a FIFO: opening it blocks forever) is an error, never a hang."""
    import os
    import time

    from lad_core.episodes import repair_episode
    from lad_core.errors import InputError

    fifo = tmp_path / "episode_000003.h5.partial"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(InputError, match=r"episode_000003\.h5\.partial: HDF5 could not read"):
        repair_episode(fifo, timeout=3.0)
    assert time.monotonic() - t0 < 20
    assert fifo.exists() and not (tmp_path / "episode_000003.h5").exists()
