"""Scripted expert demonstrations really grasp, lift and place the cube (physics, no rendering)."""

from __future__ import annotations

import numpy as np
import pytest

from lad_core.sim.env import SimConfig, SimEnv
from lad_core.sim.expert import run_demo

SEEDS = range(10)


@pytest.mark.slow
@pytest.mark.parametrize("embodiment", ["gripper", "mimic"])
def test_scripted_demo_grasps_lifts_and_places_the_cube(embodiment):
    with SimEnv(SimConfig(embodiment, task="cube_in_box", cameras=())) as env:
        results = [run_demo(env, seed) for seed in SEEDS]
    lifted = sum(r.lifted for r in results)
    placed = sum(r.success for r in results)
    assert lifted >= 8, f"{embodiment}: lifted the cube in {lifted}/10 seeds"
    assert placed >= 8, f"{embodiment}: cube in the box in {placed}/10 seeds"


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="Faive-like hand: the scripted power grasp flings the cube (0/10 seeds lifted)")
def test_faive_scripted_demo_grasps_and_lifts_the_cube():
    with SimEnv(SimConfig("faive", task="cube_in_box", cameras=())) as env:
        results = [run_demo(env, seed) for seed in range(4)]  # 4 seeds keep the known failure cheap
    assert sum(r.lifted for r in results) >= 4


def test_the_cube_stays_put_when_the_robot_does_nothing():
    """Success is not free: holding the home pose leaves the cube on the floor, outside the box."""
    with SimEnv(SimConfig("gripper", cameras=())) as env:
        obs = env.reset(3)
        start = obs.object_pose[:3].copy()
        for _ in range(10):
            obs = env.step(obs.arm_pose, env.open_command(), render=False)
        assert np.linalg.norm(obs.object_pose[:3] - start) < 1e-3
        assert not env.success() and not env.object_held()


def test_toy_in_bowl_scene_is_seeded_and_the_toy_rests_outside_the_bowl():
    with SimEnv(SimConfig("gripper", task="toy_in_bowl", cameras=())) as env:
        a = env.reset(5).object_pose
        b = env.reset(5).object_pose
        c = env.reset(6).object_pose
        assert np.allclose(a, b) and not np.allclose(a[:2], c[:2])
        assert 0.0 < a[2] < 0.08 and not env.success()
