"""Episode files: write/read round trip on real data, layout, dataset index/delete/trim, recorder numbering."""

from __future__ import annotations

import json
import time

import h5py
import numpy as np
import pytest

from conftest import synthetic_frame
from lad_core.episodes import (
    EpisodeDataset,
    EpisodeInfo,
    EpisodeReader,
    EpisodeWriter,
    Recorder,
    ThreadedEpisodeWriter,
    read_episode,
    write_episode,
)
from lad_core.errors import InputError


def assert_same_episode(a, b, *, image_atol: int = 0):
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    for cam in a.images:
        if image_atol == 0:
            np.testing.assert_array_equal(a.images[cam], b.images[cam])
        else:
            diff = np.abs(a.images[cam].astype(int) - b.images[cam].astype(int))
            assert diff.mean() <= image_atol, (cam, diff.mean())
    for key in a.schema.lowdim_dims:
        np.testing.assert_array_equal(a.lowdim(key), b.lowdim(key))
    for field in ("embodiment", "task", "fps", "success", "retarget_scales", "calibration"):
        assert getattr(a.info, field) == getattr(b.info, field), field


def test_streamed_episode_reads_back_with_documented_layout(tmp_path, real_episode):
    path = tmp_path / "episode_000000.h5"
    with EpisodeWriter(path, real_episode.schema, real_episode.info) as w:
        for t in range(len(real_episode)):
            w.append(real_episode.frame(t))
            if t == 20:  # while recording only the temporary name exists, and flushed frames are readable
                w.flush()
                assert not path.exists() and w.path.exists() and w.frames_on_disk == 21
                with h5py.File(w.path, "r", swmr=True) as f:
                    assert f["timestamps"].shape == (21,)
                    np.testing.assert_array_equal(f["observations/images/wrist"][20], real_episode.images["wrist"][20])
    assert path.exists() and not w.path.exists()
    back = read_episode(path)
    assert_same_episode(back, real_episode)
    assert back.info.extra == {"seed": 3} and back.info.complete and not back.info.repaired
    with h5py.File(path, "r") as f:
        img = f["observations/images/external"]
        assert img.dtype == np.uint8 and img.shape == (45, 64, 64, 3)
        assert img.chunks == (1, 64, 64, 3) and img.compression == "gzip"
        assert f["observations/hand_keypoints"].shape == (45, 63)
        assert f["actions/arm"].shape == (45, 6) and f["actions/end_effector"].shape == (45, 11)
        assert f["actions/end_effector"].attrs["kind"] == "joints"
        assert f["timestamps"].dtype == np.float64
        import lad_core

        assert f.attrs["software_version"] == lad_core.__version__ and f.attrs["schema_version"] == 1
        assert json.loads(f.attrs["calibration"]) == {"wrist_offset": [0.0, 0.01, 0.02]}
        assert f.attrs["embodiment"] == "faive" and f.attrs["fps"] == 30.0
    # compressed: real images take less room than raw
    raw = sum(v.nbytes for v in real_episode.images.values())
    assert path.stat().st_size < raw


def test_writer_rejects_frames_that_do_not_match_the_schema(tmp_path, schema):
    info = EpisodeInfo(embodiment="gripper", task="cube_in_box", fps=30)
    w = EpisodeWriter(tmp_path / "episode_000000.h5", schema, info)
    good = synthetic_frame(0, schema)
    w.append(good)
    bad = synthetic_frame(1, schema)
    bad.images["wrist"] = bad.images["wrist"][:, :, :2]
    with pytest.raises(InputError, match="wrist.*uint8"):
        w.append(bad)
    with pytest.raises(InputError, match="actions/arm"):
        w.append(synthetic_frame(1, schema).__class__(1 / 30, good.images, good.observations, np.zeros(5), good.end_effector))
    with pytest.raises(InputError, match="timestamps must increase"):
        w.append(synthetic_frame(0, schema))
    assert w.close(success=True).exists()
    assert len(read_episode(tmp_path / "episode_000000.h5")) == 1


def test_recorder_numbers_rerecords_and_discards(tmp_path, schema):
    rec = Recorder(tmp_path, schema, embodiment="gripper", task="cube_in_box", fps=30)
    events = []
    rec.subscribe(lambda e: events.append((e.kind, e.index)))
    for ep in range(3):
        assert rec.start() == ep
        for t in range(10 + ep):
            assert rec.add_frame(synthetic_frame(t, schema))
        s = rec.stop(success=ep != 1)
        assert (s.index, s.frames, s.dropped, s.replaced) == (ep, 10 + ep, 0, False)
    ds = EpisodeDataset(tmp_path)
    assert [(e.index, e.length, e.success) for e in ds.index()] == [(0, 10, True), (1, 11, False), (2, 12, True)]
    with pytest.raises(InputError, match="rerecord"):
        rec.start(1)

    # re-record 1: the old take survives a discard, and is replaced on stop
    rec.rerecord(1)
    rec.add_frame(synthetic_frame(0, schema))
    rec.discard()
    assert ds.entry(1).length == 11
    rec.rerecord(1)
    for t in range(5):
        rec.add_frame(synthetic_frame(t, schema))
    assert rec.stop(success=True).replaced
    assert (ds.entry(1).length, ds.entry(1).success) == (5, True)

    # next() stops and starts the following episode; delete and trim work on the index
    rec.start()
    for t in range(30):
        rec.add_frame(synthetic_frame(t, schema))
    summary, nxt = rec.next(success=True)
    assert (summary.index, nxt) == (3, 4)
    rec.discard()
    assert not ds.partials() and ds.indices() == [0, 1, 2, 3]
    assert ds.trim(3, 5, -5) == 20
    trimmed = read_episode(ds.path_for(3))
    np.testing.assert_array_equal(trimmed.arm[0], synthetic_frame(5, schema).arm)
    assert trimmed.timestamps[0] == 0.0 and trimmed.info.extra["trimmed_from"] == [5, 25, 30]
    with pytest.raises(InputError, match="leaves nothing"):
        ds.trim(3, 10, 10)
    ds.delete(0)
    assert ds.indices() == [1, 2, 3] and rec.next_index == 4
    assert ("started", 0) in events and ("discarded", 1) in events and ("stopped", 3) in events
    index_doc = json.loads(ds.write_index().read_text())
    assert index_doc["total_frames"] == 5 + 12 + 20


def test_recorder_reports_disk_space(tmp_path, schema):
    rec = Recorder(tmp_path, schema, embodiment="gripper", task="t", fps=30, low_disk_bytes=1 << 62)
    warnings = []
    rec.subscribe(lambda e: warnings.append(e) if e.kind == "low_disk" else None)
    status = rec.disk_status()
    assert status.free_bytes > 0 and status.low and status.minutes_left is None
    rec.start()
    for t in range(20):
        rec.add_frame(synthetic_frame(t, schema))
    rec.stop()
    assert len(warnings) == 1 and "MiB free" in warnings[0].message
    assert rec.disk_status().minutes_left > 0  # a write rate is known after one episode


class _SlowWriter:
    """Stands in for a disk that cannot keep up: each append takes 50 ms."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def append(self, frame):
        time.sleep(0.05)
        self.inner.append(frame)


def test_submit_never_blocks_and_counts_dropped_frames(tmp_path, schema):
    info = EpisodeInfo(embodiment="gripper", task="t", fps=30)
    w = EpisodeWriter(tmp_path / "episode_000000.h5", schema, info)
    tw = ThreadedEpisodeWriter(_SlowWriter(w), queue_size=4)
    worst = 0.0
    accepted = 0
    for t in range(40):
        t0 = time.perf_counter()
        accepted += tw.submit(synthetic_frame(t, schema))
        worst = max(worst, time.perf_counter() - t0)
    assert worst < 0.02  # far below one 50 ms write: submit does not wait for the disk
    assert tw.dropped == 40 - accepted and tw.dropped > 20
    path = tw.finish(success=True)
    assert len(read_episode(path)) == accepted


def test_write_episode_refuses_to_overwrite_and_checks_shapes(tmp_path, real_episode):
    path = write_episode(tmp_path / "episode_000000.h5", real_episode)
    with pytest.raises(InputError, match="already exists"):
        write_episode(path, real_episode)
    real_episode.arm = real_episode.arm[:-1]
    with pytest.raises(InputError, match="actions/arm"):
        write_episode(tmp_path / "episode_000001.h5", real_episode)
    with EpisodeReader(path) as r:
        np.testing.assert_array_equal(r.frame(-1).images["wrist"], r.images("wrist")[-1])
        with pytest.raises(InputError, match="no camera"):
            r.images("top")
