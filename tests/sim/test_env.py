"""Scene set-up, arm control (IK with limits, both action representations), couplings and cameras."""

from __future__ import annotations

import numpy as np
import pytest

from lad_core.errors import ConfigError, InputError
from lad_core.sim.arm import delta_action, relative_action, target_from_action
from lad_core.sim.env import SimConfig, SimEnv


@pytest.fixture(scope="module")
def mimic_env():
    with SimEnv(SimConfig("mimic", cameras=("external", "wrist"), image_size=(32, 40))) as env:
        yield env


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="task"):
        SimConfig("gripper", task="laundry")
    with pytest.raises(ConfigError, match="cameras"):
        SimConfig("gripper", cameras=("ceiling",))


def test_robot_is_panda_without_its_gripper_carrying_the_hand(mimic_env):
    import pybullet as p

    mimic_env.reset(0)
    names = {p.getJointInfo(mimic_env.robot, j, physicsClientId=mimic_env.client)[12].decode()
             for j in range(p.getNumJoints(mimic_env.robot, physicsClientId=mimic_env.client))}
    assert "panda_link7" in names and "palm" in names and "index_tip" in names
    assert not names & {"panda_hand", "panda_leftfinger", "panda_rightfinger"}


def test_arm_reaches_pose_targets_in_both_action_representations(mimic_env):
    obs = mimic_env.reset(0)
    start = obs.arm_pose.copy()
    goal = start + np.array([0.05, -0.04, -0.06, 0.0, 0.0, 0.0])
    ee = mimic_env.open_command()
    for _ in range(25):  # delta actions: each step moves a fraction of the remaining way
        act = delta_action(obs.arm_pose, goal) * 0.3
        obs = mimic_env.step_action(act, ee, "delta", render=False)
    assert np.linalg.norm(obs.arm_pose[:3] - goal[:3]) < 0.01
    chunk_start = obs.arm_pose.copy()
    goal2 = chunk_start + np.array([-0.04, 0.05, 0.03, 0.0, 0.0, 0.0])
    rel = relative_action(chunk_start, goal2)
    assert np.allclose(target_from_action(rel, "relative", chunk_start=chunk_start)[:3], goal2[:3], atol=1e-6)
    for _ in range(20):
        obs = mimic_env.step_action(rel, ee, "relative", chunk_start=chunk_start, render=False)
    assert np.linalg.norm(obs.arm_pose[:3] - goal2[:3]) < 0.01


def test_unreachable_targets_are_clipped_to_joint_and_velocity_limits(mimic_env):
    obs = mimic_env.reset(0)
    lower, upper = mimic_env.joint_limits()["arm"]
    far = obs.arm_pose + np.array([2.0, 2.0, -1.0, 0, 0, 0])
    before = mimic_env.limit_events
    prev = obs.arm_joints
    for _ in range(10):
        obs = mimic_env.step(far, mimic_env.open_command(), render=False)
        assert np.all(obs.arm_joints >= lower - 0.02) and np.all(obs.arm_joints <= upper + 0.02)
        assert np.all(np.abs(obs.arm_joints - prev) <= 2.61 * mimic_env.dt + 0.05)
        prev = obs.arm_joints
    assert mimic_env.limit_events > before
    with pytest.raises(InputError):
        mimic_env.step(np.full(6, np.nan), mimic_env.open_command())


def test_hand_joints_follow_commands_through_the_couplings(mimic_env):
    from lad_core.sim.grasps import grasp_shape

    mimic_env.reset(0)
    power = grasp_shape("mimic", "power")
    for _ in range(15):
        obs = mimic_env.step(mimic_env.arm_pose(), power, render=False)
    urdf = mimic_env.urdf_joint_positions()
    names = mimic_env.kin.tree.joint_names
    pip, dip = urdf[names.index("index_pip")], urdf[names.index("index_dip")]
    assert pip > 0.8 and abs(dip - pip) < 0.1  # mimic: DIP follows PIP 1:1
    assert np.abs(obs.ee_joints - power).max() < 0.25


def test_grasp_shapes_come_from_retargeted_human_grasps():
    from lad_core.embodiments.human_model import articulate, named_pose
    from lad_core.retarget import build_retargeter
    from lad_core.sim.grasps import grasp_shape

    q = grasp_shape("faive", "power")
    assert np.allclose(q, build_retargeter("faive").retarget_batch(articulate(named_pose("power"))[None])[0])
    assert grasp_shape("faive", "power").sum() > grasp_shape("faive", "open").sum() + 2.0  # fingers flex
    assert grasp_shape("gripper", "pinch_index")[0] < grasp_shape("gripper", "open")[0]


def test_cameras_render_the_configured_views(mimic_env):
    obs = mimic_env.reset(0)
    assert set(obs.images) == {"external", "wrist"}
    for img in obs.images.values():
        assert img.shape == (32, 40, 3) and img.dtype == np.uint8 and img.std() > 5
    moved = mimic_env.step(obs.arm_pose + [0, 0.1, 0, 0, 0, 0], mimic_env.open_command())
    for _ in range(5):
        moved = mimic_env.step(obs.arm_pose + [0, 0.1, 0, 0, 0, 0], mimic_env.open_command())
    assert np.abs(moved.images["wrist"].astype(int) - obs.images["wrist"]).mean() > 1.0
