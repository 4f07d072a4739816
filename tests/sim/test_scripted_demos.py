"""Scripted expert demonstrations really grasp, lift and place the cube (physics, no rendering).

All 3 embodiments x 10 seeds run once per session, in two worker processes (the machine's 2 cores); every test
below reads those results. A demo is deterministic, so where it runs does not change what it does.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pytest

from lad_core.sim.env import SimConfig, SimEnv
from lad_core.sim.expert import run_demo, run_demos

SEEDS = list(range(10))
EMBODIMENTS = ("gripper", "mimic", "faive")


@pytest.fixture(scope="session")
def cube_demo_results():
    """embodiment -> [DemoResult] for SEEDS on cube_in_box."""
    halves = (SEEDS[::2], SEEDS[1::2])
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        jobs = {(emb, k): pool.submit(run_demos, emb, half) for emb in EMBODIMENTS for k, half in enumerate(halves)}
        done = {key: job.result() for key, job in jobs.items()}
    return {emb: sorted(done[(emb, 0)] + done[(emb, 1)], key=lambda r: r.seed) for emb in EMBODIMENTS}


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("embodiment", EMBODIMENTS)
def test_scripted_demo_grasps_lifts_and_places_the_cube(embodiment, cube_demo_results):
    results = cube_demo_results[embodiment]
    assert [r.seed for r in results] == SEEDS
    lifted = sum(r.lifted for r in results)
    placed = sum(r.success for r in results)
    assert lifted >= 8, f"{embodiment}: lifted the cube in {lifted}/10 seeds"
    assert placed >= 8, f"{embodiment}: cube in the box in {placed}/10 seeds"


@pytest.mark.slow
def test_a_demo_in_a_worker_process_matches_one_run_here(cube_demo_results):
    """The pool's results are the demos themselves: the same seed run in this process gives the same outcome."""
    with SimEnv(SimConfig("gripper", cameras=())) as env:
        here = run_demo(env, 3)
    assert here == cube_demo_results["gripper"][3]


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
