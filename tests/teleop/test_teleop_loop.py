"""The teleop loop driven by the real MediaPipe pose sequence moves the simulated hand within its limits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from lad_core.retarget import build_retargeter
from lad_core.robots.factory import create_backend, robot_info_for_embodiment
from lad_core.teleop import ArmMapper, ArmMapperConfig, TeleopInput, TeleopLoop, inputs_from_sequence


@pytest.mark.slow
@pytest.mark.shared_data
def test_real_pose_sequence_drives_the_sim_hand_without_limit_violations(real_pose_sequence):
    frames = np.asarray(real_pose_sequence[::3][:120], dtype=np.float64)  # 6 s of the video at 20 Hz
    n = len(frames)
    t = np.arange(n) / 20.0
    # The sequence has its wrist rotation removed; add a slow wrist circle so the arm moves too.
    wrist = np.stack([0.04 * np.sin(t), 0.03 * (1 - np.cos(t)), -0.03 * np.sin(0.5 * t)], axis=1)
    clutch = np.ones(n, bool)
    clutch[40:55] = False  # release the clutch for a while: the arm must hold
    backend = create_backend("sim", robot_info_for_embodiment("mimic"), sim_task="cube_in_box", realtime=False)
    with backend:
        env = backend.env
        lower, upper = env.joint_limits()["end_effector"]
        arm_lo, arm_hi = env.joint_limits()["arm"]
        loop = TeleopLoop(backend, build_retargeter("mimic"), rate_hz=20.0, sleep=None)
        ticks, hand_q, arm_pos = [], [], []
        for tick in loop.run(inputs_from_sequence(frames, 20.0, wrist_positions=wrist,
                                                  wrist_rotations=np.repeat(np.eye(3)[None], n, 0), clutch=clutch)):
            urdf = env.urdf_joint_positions()
            assert np.all(urdf >= lower - 0.02) and np.all(urdf <= upper + 0.02), f"tick {tick.index}: hand limits"
            arm = env.arm_joints()
            assert np.all(arm >= arm_lo - 0.01) and np.all(arm <= arm_hi + 0.01), f"tick {tick.index}: arm limits"
            assert np.all(tick.command.joints >= env.spec.lower) and np.all(tick.command.joints <= env.spec.upper)
            ticks.append(tick)
            hand_q.append(env.ee_joints())
            arm_pos.append(env.arm_pose()[:3])
    assert len(ticks) == n
    hand_q, arm_pos = np.asarray(hand_q), np.asarray(arm_pos)
    assert np.ptp(hand_q, axis=0).max() > 0.8  # the fingers really moved (fist, pinches in the video)
    assert np.linalg.norm(arm_pos[39] - arm_pos[0]) > 0.02  # the arm followed the wrist
    assert not any(tk.engaged for tk in ticks[40:55]) and np.linalg.norm(arm_pos[54] - arm_pos[41]) < 0.01
    stats = loop.stats.summary()
    assert stats["ticks"] == n and stats["compute_mean_ms"] > 0


def _mapper() -> ArmMapper:
    m = ArmMapper(ArmMapperConfig(motion_scale=2.0))
    m.reset(np.array([0.5, 0.0, 0.3]), np.eye(3))
    return m


def _inp(pos, clutch=True, rot=np.eye(3)) -> TeleopInput:
    return TeleopInput(0.0, None, np.asarray(pos, float), rot, clutch)


def test_clutch_re_anchors_and_scaling_multiplies_motion():
    m = _mapper()
    m.update(_inp([0.0, 0.0, 0.0]))
    r = m.update(_inp([0.0, 0.0, -0.05]))  # towards the camera = robot forward, scaled x2
    assert np.allclose(r.target_position, [0.6, 0.0, 0.3])
    held = m.update(_inp([0.0, 0.0, 0.2], clutch=False))  # disengaged: the hand moves back, the robot holds
    assert not held.engaged and np.allclose(held.target_position, [0.6, 0.0, 0.3])
    r = m.update(_inp([0.0, 0.0, 0.2]))  # engage again at the new hand place: no jump
    assert np.allclose(r.target_position, [0.6, 0.0, 0.3])
    r = m.update(_inp([-0.01, 0.0, 0.2]))  # the image's left = the operator's right = the robot's right (-y)
    assert np.allclose(r.target_position, [0.6, -0.02, 0.3])


def test_wrist_rotation_is_followed_and_workspace_clamped():
    m = _mapper()
    m.update(_inp([0.0, 0.0, 0.0]))
    rot = Rotation.from_euler("z", 0.3).as_matrix()  # about the camera's optical axis
    r = m.update(_inp([0.0, 0.0, -2.0], rot=rot))
    assert r.clamped and r.target_position[0] == pytest.approx(0.75)
    angle = Rotation.from_matrix(r.target_rotation).magnitude()
    assert angle == pytest.approx(0.3, abs=1e-6)


def test_loop_holds_its_rate_with_a_fake_clock():
    """Fixed rate on an injected clock: the loop sleeps away the rest of each period."""
    from lad_core.robots.factory import generic_robot_info

    now = {"t": 0.0}
    clock = lambda: now["t"]  # noqa: E731

    def sleep(s):
        now["t"] += s

    class Retarget:
        def step(self, landmarks):
            now["t"] += 0.01  # 10 ms of work per tick
            from lad_core.retarget import RetargetResult

            return RetargetResult(np.zeros(3), True, 0.0)

        def reset(self):
            pass

    from lad_core.robots.kinematic import FakeKinematicBackend

    backend = FakeKinematicBackend(generic_robot_info(3), clock=clock)
    with backend:
        loop = TeleopLoop(backend, Retarget(), rate_hz=20.0, clock=clock, sleep=sleep)
        frames = np.zeros((30, 21, 3))
        list(loop.run(inputs_from_sequence(frames, 20.0)))
    s = loop.stats.summary()
    assert s["ticks"] == 30 and s["period_mean_ms"] == pytest.approx(50.0, abs=1e-6)
    assert s["compute_mean_ms"] == pytest.approx(10.0, abs=1e-6) and s["overruns"] == 0


@pytest.mark.shared_data
def test_input_from_tracking_makes_the_wrist_pose_relative_to_the_calibration(real_pose_sequence):
    from lad_core.teleop import input_from_tracking
    from lad_core.tracking.processing import HandCalibration
    from lad_core.tracking.types import TrackedFrame, WristPose

    pose = np.asarray(real_pose_sequence[100], dtype=np.float64)
    ref_r = Rotation.from_euler("xyz", [0.2, -0.1, 0.4]).as_matrix()
    ref = WristPose(ref_r, np.array([0.05, -0.02, 0.45]), 1.0)
    calib = HandCalibration(np.ones(20), np.asarray(real_pose_sequence[0]), 0.09, wrist_pose=ref)
    turn = Rotation.from_euler("z", 0.25).as_matrix()  # the hand turned about the camera axis since calibration
    now = WristPose(turn @ ref_r, np.array([0.08, -0.02, 0.40]), 1.0)
    frame = TrackedFrame(7, 1.25, present=True, lost=False, time_since_loss=0.0, canonical=pose, wrist_pose=now)

    inp = input_from_tracking(frame, calib)
    assert inp.timestamp == 1.25 and inp.clutch and inp.landmarks is pose
    assert np.allclose(inp.wrist_position, [0.03, 0.0, -0.05])
    assert np.allclose(inp.wrist_rotation, turn)
    # Into the arm mapper: 5 cm towards the camera and 3 cm to the image's right move the robot forward and left.
    m = ArmMapper(ArmMapperConfig(motion_scale=1.0))
    m.reset(np.array([0.5, 0.0, 0.3]), np.eye(3))
    m.update(TeleopInput(0.0, pose, np.zeros(3), np.eye(3), True))  # engaged at the calibration pose
    r = m.update(inp)
    assert np.allclose(r.target_position, [0.55, 0.03, 0.3])

    # No calibration, or a lost hand: the fingers are driven (or not) but the arm never is.
    no_ref = input_from_tracking(frame, None, clutch=False)
    assert no_ref.wrist_position is None and no_ref.wrist_rotation is None and not no_ref.clutch
    assert no_ref.landmarks is pose
    lost = TrackedFrame(8, 1.3, present=False, lost=True, time_since_loss=0.05, canonical=pose, wrist_pose=now)
    gone = input_from_tracking(lost, calib)
    assert gone.landmarks is None and gone.wrist_position is None
    held = m.update(gone)
    assert not held.engaged and np.allclose(held.target_position, r.target_position)
