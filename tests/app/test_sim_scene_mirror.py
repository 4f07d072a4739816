"""The sim scene view's mirror: every body's pose and joints read from one pybullet client pose a copy of the scene
in another (the renderer process builds that copy); bodies the copy lacks are skipped."""

from __future__ import annotations

import numpy as np
import pytest

pybullet = pytest.importorskip("pybullet")
pybullet_data = pytest.importorskip("pybullet_data")


def test_scene_read_from_one_client_poses_a_copy_in_another():
    from lad_core.studio.simview import apply_scene, read_scene, sim_client

    p = pybullet
    a, b = p.connect(p.DIRECT), p.connect(p.DIRECT)
    try:
        for c in (a, b):
            p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=c)
            p.loadURDF("r2d2.urdf", [0, 0, 0.5], physicsClientId=c)
        p.loadURDF("cube_small.urdf", [0.3, 0, 0.1], physicsClientId=a)  # b has no cube: skipped
        rng = np.random.default_rng(0)
        robot = p.getBodyUniqueId(0, physicsClientId=a)
        for j in range(p.getNumJoints(robot, physicsClientId=a)):
            p.resetJointState(robot, j, float(rng.uniform(-0.5, 0.5)), physicsClientId=a)
        p.resetBasePositionAndOrientation(robot, [0.1, -0.2, 0.7], p.getQuaternionFromEuler([0, 0, 0.8]),
                                          physicsClientId=a)
        scene = read_scene(a)
        assert len(scene) == 2 and len(read_scene(b)) == 1
        assert not np.allclose(scene[0][2], read_scene(b)[0][2])
        apply_scene(b, scene)
        copied = read_scene(b)
        assert np.allclose(copied[0][0], scene[0][0]) and np.allclose(copied[0][1], scene[0][1])
        assert np.allclose(copied[0][2], scene[0][2]) and len(copied[0][2]) > 5
        assert sim_client(object()) is None
    finally:
        p.disconnect(a)
        p.disconnect(b)
