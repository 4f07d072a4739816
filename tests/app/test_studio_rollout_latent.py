"""Qt-free models of the rollout console and the latent inspector: a teleop recording replayed from the robot's
pose, live-hand takeover holding the wrist, setup errors naming the file, human sequences for the scrubber, SR/CR
readouts and the PCA projection of a real checkpoint."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lad_core.errors import ConfigError, InputError, LadError
from lad_core.studio.rollout import RolloutSetup, build_console

LATENT = Path(__file__).resolve().parents[1] / "latent" / "data" / "latent_cpu_all"


@pytest.fixture
def teleop_episode(tmp_path, real_pose_sequence):
    """A studio-style gripper recording: wrist poses in the camera frame (0.6 m away, turned), human landmarks."""
    from scipy.spatial.transform import Rotation

    from lad_core.episodes import EpisodeData, EpisodeInfo, write_episode
    from lad_core.studio.recording import teleop_schema

    n = 40
    pos = np.c_[0.1 + 0.002 * np.arange(n), np.full(n, -0.05), np.full(n, 0.6)]
    rot = (Rotation.from_euler("z", 0.01 * np.arange(n)[:, None]) * Rotation.from_euler("x", 1.2)).as_rotvec()
    data = EpisodeData(EpisodeInfo(embodiment="gripper", task="teleop", fps=30.0, success=True),
                       teleop_schema("gripper"), np.arange(n) / 30.0, {},
                       {"human_landmarks": real_pose_sequence[:n].reshape(n, 63).astype(np.float32)},
                       np.c_[pos, rot].astype(np.float32), np.linspace(0.2, 0.8, n, dtype=np.float32)[:, None])
    return write_episode(tmp_path / "episode_000000.h5", data)


def _wait(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_teleop_recording_replays_its_motion_from_the_robot_pose(teleop_episode):
    from scipy.spatial.transform import Rotation

    console = build_console(RolloutSetup(str(teleop_episode), backend="kinematic", embodiment="gripper", rate_hz=50))
    try:
        ctrl = console.controller
        home = ctrl.latest_state()
        assert _wait(lambda: ctrl.preview() is not None)
        chunk = ctrl.preview()
        first = chunk.steps[0]
        assert np.allclose(first.ee_position, home.ee_position, atol=1e-6)  # displacements, not camera positions
        assert np.allclose(chunk.preview_positions()[:, 0] - home.ee_position[0], 0.002 * np.arange(8), atol=1e-6)
        rel = Rotation.from_quat(chunk.steps[3].ee_orientation) * Rotation.from_quat(home.ee_orientation).inv()
        assert np.isclose(np.linalg.norm(rel.as_rotvec()), 0.03, atol=1e-4)  # the recorded turn, relative
        assert np.allclose([s.joints[0] for s in chunk.steps], np.linspace(0.2, 0.8, 40)[:8], atol=1e-6)
    finally:
        console.close()


def test_takeover_drives_the_joints_from_the_live_hand_and_holds_the_wrist(teleop_episode):
    console = build_console(RolloutSetup(str(teleop_episode), backend="kinematic", embodiment="gripper", rate_hz=50))
    ctrl = console.controller
    try:
        hold = ctrl.latest_state().ee_position.copy()
        console.feed(SimpleNamespace(robots={"gripper": SimpleNamespace(qpos=np.array([0.9]))},
                                     tracked=SimpleNamespace(present=True)))
        assert not console.teleop._fresh  # ignored until an operator takes over
        console.takeover()
        assert ctrl.intervening and ctrl.state == "running"
        for _ in range(30):
            console.feed(SimpleNamespace(robots={"gripper": SimpleNamespace(qpos=np.array([0.9]))},
                                         tracked=SimpleNamespace(present=True)))
            time.sleep(0.02)
        live = [s for s in ctrl.steps if s.intervention]
        assert len(live) >= 5
        assert all(np.allclose(s.command.ee_position, hold) for s in live)
        assert live[-1].command.joints[0] == pytest.approx(0.9, abs=1e-6)  # the live hand's value, within limits
        console.feed(SimpleNamespace(robots={}, tracked=SimpleNamespace(present=False)))
        assert not console.teleop.tracking  # tracking lost: the robot holds instead of replaying a stale target
        console.hand_back()
        assert not ctrl.intervening and ctrl.source is console.source
    finally:
        console.close()


def test_rollout_setup_errors_name_the_file_or_field(tmp_path):
    with pytest.raises(InputError, match="nope.h5"):
        build_console(RolloutSetup(str(tmp_path / "nope.h5")))
    with pytest.raises(ConfigError, match="must be positive"):
        RolloutSetup(str(tmp_path), rate_hz=0).validate()
    with pytest.raises(LadError):
        build_console(RolloutSetup(str(tmp_path), backend="kinematic", embodiment="gripper"))  # empty folder


def test_human_sequences_metric_readouts_and_projection(tmp_path, real_pose_sequence, shared_data):
    from lad_core.latent.modeling import LatentActionModel
    from lad_core.studio.latent import LatentProjection, metric_readouts, projection_data, read_human_sequence

    seq = read_human_sequence(shared_data / "poses" / "right_hand_video_sequence" / "joints.npy")
    assert seq.shape == real_pose_sequence.shape and np.allclose(seq, real_pose_sequence)
    np.save(tmp_path / "flat.npy", np.zeros((5, 63)))
    with pytest.raises(InputError, match="flat.npy"):
        read_human_sequence(tmp_path / "flat.npy")
    model = LatentActionModel.load(LATENT)
    r = metric_readouts(model.meta)
    table = model.meta["metrics"]["val"]["loss"]
    assert r["matrix"][r["names"].index("faive"), r["names"].index("faive")] == pytest.approx(table["faive->faive"])
    assert r["sr"] < r["cr"]  # self-reconstruction beats cross-reconstruction on this model
    assert metric_readouts({}) is None
    model.meta["provenance"] = {}  # no pairs file: synthetic hands retargeted now
    data, where = projection_data(model, n=40)
    assert "synthetic" in where and {m: len(v) for m, v in data.items()} == {m: 40 for m in model.embodiments}
    proj = LatentProjection.fit(model, data)
    z = model.encode("mimic", data["mimic"][7])
    assert np.allclose(proj.project(z), proj.points["mimic"][7], atol=1e-5)
    # Paired tuples land close together: a modality's point is nearer its partners than the average point.
    d_pair = np.linalg.norm(proj.points["faive"] - proj.points["mimic"], axis=1).mean()
    d_rand = np.linalg.norm(proj.points["faive"] - proj.points["mimic"][::-1], axis=1).mean()
    assert d_pair < d_rand
