"""Frame sources: spec resolution, registration, bad input, pacing, replay and the synthetic hand."""

from __future__ import annotations

import time
import tomllib
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest

from lad_core.errors import InputError
from lad_core.tracking.sources.base import FrameSource, available_sources, open_source, resolve_spec
from lad_core.tracking.sources.synthetic import SyntheticHandSource

REPO = Path(__file__).resolve().parents[2]


def test_builtin_sources_are_registered_as_entry_points():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    group = pyproject["project"]["entry-points"]["lad.frame_sources"]
    builtin = {"webcam", "video", "images", "replay", "synthetic"}
    assert builtin <= set(group)  # plugins/ registers examples in the same group, as a third party would
    for name, target in group.items():
        module, _, attr = target.partition(":")
        cls = getattr(import_module(module), attr)
        assert issubclass(cls, FrameSource) and cls.name == name
    assert set(group) <= set(available_sources())


def test_resolve_spec(tmp_path):
    (tmp_path / "imgs").mkdir()
    assert resolve_spec("synthetic") == ("synthetic", "")
    assert resolve_spec("0") == ("webcam", "0")
    assert resolve_spec(str(tmp_path / "imgs")) == ("images", str(tmp_path / "imgs"))
    assert resolve_spec("rec.h5") == ("replay", "rec.h5")
    assert resolve_spec("clip.mp4") == ("video", "clip.mp4")
    assert resolve_spec("webcam:2") == ("webcam", "2")
    with pytest.raises(InputError, match="unknown frame source 'nosuch'"):
        open_source("nosuch:thing")


def test_missing_and_corrupt_video_give_clear_errors(tmp_path):
    with pytest.raises(InputError, match="missing.mp4: file not found"):
        open_source(str(tmp_path / "missing.mp4"))
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    start = time.perf_counter()
    with pytest.raises(InputError, match="corrupt.mp4"):
        open_source(str(bad))
    assert time.perf_counter() - start < 5.0


def test_missing_camera_fails_on_open():
    with pytest.raises(InputError, match="webcam 57: no such camera"):
        open_source("57")


def test_video_source_resizes_paces_and_steps(video_path):
    src = open_source(str(video_path), width=320, height=180, step=2, max_frames=5)
    frames = list(src)
    assert [f.index for f in frames] == list(range(5))
    assert frames[0].image.shape == (180, 320, 3) and frames[0].image.dtype == np.uint8
    assert np.allclose([f.timestamp for f in frames], np.arange(5) * 2 / 30.0)
    paced = open_source(str(video_path), width=160, height=90, realtime=True, max_frames=10)
    start = time.monotonic()
    list(paced)
    assert time.monotonic() - start >= 9 / 30.0 - 0.02  # frames come at the file's 30 fps


def test_image_folder_reports_unreadable_file(tmp_path, shared_data):
    import shutil

    photo = next((shared_data / "hands" / "photos" / "four").glob("*.jpg"))
    shutil.copy(photo, tmp_path / "a.jpg")  # a temporary copy inside the test's tmp dir, never in the repo
    (tmp_path / "b.jpg").write_bytes(b"not an image")
    with pytest.raises(InputError, match=r"b\.jpg: cannot be decoded"):
        list(open_source(str(tmp_path)))
    frames = list(open_source(str(tmp_path), skip_unreadable=True))
    assert len(frames) == 1 and frames[0].image.ndim == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty: no images"):
        open_source(str(tmp_path / "empty"))


def test_replay_of_the_real_pose_sequence(shared_data, real_pose_sequence):
    src = open_source(str(shared_data / "poses" / "right_hand_video_sequence" / "joints.npy"))
    frames = list(src)
    assert len(frames) == 621
    assert np.allclose(frames[10].hands[0].world_landmarks, real_pose_sequence[10])
    assert frames[10].timestamp == pytest.approx(10 / 30.0)


def test_replay_rejects_bad_files(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((5, 20, 3)))
    with pytest.raises(InputError, match=r"bad\.npy: expected an \(N, 21, 3\) array"):
        open_source(str(tmp_path / "bad.npy"))
    (tmp_path / "bad.h5").write_bytes(b"nope")
    with pytest.raises(InputError, match=r"bad\.h5"):
        open_source(str(tmp_path / "bad.h5"))


def test_synthetic_hand_runs_its_script():
    from lad_core.embodiments import human_model

    src = SyntheticHandSource(realtime=False, loop=False)
    frames = list(src)
    assert len(frames) == round(src.period * 30)
    assert all(f.image is None and len(f.hands) == 1 and f.hands[0].handedness == "right" for f in frames)

    def at(name):  # the middle of the hold of the first `name` step
        t = 0.0
        for step, move, hold in src.script:
            if step == name:
                return t + move + hold / 2
            t += move + hold
        raise KeyError(name)

    open_hand = human_model.articulate(human_model.named_pose("open"))
    for pose, tip in (("pinch_index", 8), ("pinch_middle", 12), ("pinch_ring", 16), ("pinch_little", 20)):
        hand = src.hand_at(at(pose)).world_landmarks
        assert np.linalg.norm(hand[4] - hand[tip]) < 0.5 * np.linalg.norm(open_hand[4] - open_hand[tip]), pose
    fist = src.hand_at(at("power")).world_landmarks
    curled = np.linalg.norm(fist[[8, 12, 16, 20]] - fist[0], axis=-1)
    straight = np.linalg.norm(open_hand[[8, 12, 16, 20]] - open_hand[0], axis=-1)
    assert np.all(curled < 0.8 * straight)
    # smooth: no frame-to-frame jump larger than 1.5 cm at 30 fps
    world = np.stack([f.hands[0].world_landmarks for f in frames])
    assert np.linalg.norm(np.diff(world, axis=0), axis=-1).max() < 0.015


def test_synthetic_hand_is_paced_and_loops():
    src = SyntheticHandSource(realtime=True, loop=True, duration=0.3)
    start = time.monotonic()
    frames = list(src)
    assert len(frames) == 9 and time.monotonic() - start >= 0.25
    looping = SyntheticHandSource(realtime=False, loop=True, duration=None)
    it = iter(looping)
    n = int(looping.period * 30) + 5
    assert len([next(it) for _ in range(n)]) == n
