"""The pybullet sim in a child process (SimProcessBackend): the same answers as the in-process SimBackend (state with
the sim's observations, commands, hold, success, the scene for the studio's mirror), requests served from several
threads, a hung or killed child reported as RobotConnectionError naming what happened, and close() ending the child."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from lad_core.errors import ConfigError
from lad_core.robots.base import RobotCommand, RobotConnectionError, RobotError
from lad_core.robots.factory import robot_info_for_embodiment

pytest.importorskip("pybullet")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def gripper():
    return robot_info_for_embodiment("gripper")


def test_child_matches_the_in_process_sim_and_close_ends_it(gripper):
    from lad_core.robots.pybullet_backend import SimBackend
    from lad_core.robots.sim_process import SimProcessBackend, read_scene

    local = SimBackend(gripper, realtime=False, seed=3)
    remote = SimProcessBackend(gripper, options={"realtime": False, "seed": 3})
    local.connect()
    remote.connect()
    try:
        assert remote.alive and remote.pid != os.getpid()
        # It runs behind the caller (the studio's UI) for CPU: nice 10 by default.
        assert os.getpriority(os.PRIO_PROCESS, remote.pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
        assert remote.scene_config.embodiment == "gripper" and remote.scene_seed == 3
        a, b = local.read_state(), remote.read_state()
        assert np.allclose(a.ee_position, b.ee_position) and np.allclose(a.joints, b.joints)
        assert set(b.observations) == {"object_pose", "target_position"}  # what protocol v1 cannot carry
        assert np.allclose(a.observations["object_pose"], b.observations["object_pose"])
        # Deterministic mode: one command = one control tick on both sides, so they stay in step.
        target = RobotCommand(a.ee_position + [0.0, 0.02, -0.03], a.ee_orientation, [0.2])
        for _ in range(10):
            local.command(target)
            remote.command(target)
        start = a.ee_position
        a, b = local.read_state(), remote.read_state()
        assert np.allclose(a.ee_position, b.ee_position, atol=1e-6) and np.allclose(a.joints, b.joints, atol=1e-6)
        assert np.linalg.norm(b.ee_position - start) > 0.005 and not b.holding  # it moved towards the target
        remote.stop()
        assert remote.read_state().holding
        assert remote.success() is False and remote.success() == bool(local.env.success())
        scene, mine = remote.read_scene(), read_scene(local.env.client)
        assert len(scene) == len(mine) >= 3 and max(len(body[2]) for body in scene) > 5  # floor, arm, objects
        for (pos, _, q), (pos_mine, _, q_mine) in zip(scene, mine):
            assert np.allclose(pos, pos_mine, atol=1e-6) and np.allclose(q, q_mine, atol=1e-6)
        h = remote.health()
        assert h.ok and h.connected and str(remote.pid) in h.message and h.latency_ms is not None
        # Several threads (control loop, scene view, UI) may share it: requests are serialised.
        errors, states = [], []

        def reader():
            try:
                for _ in range(15):
                    states.append(remote.read_state())
                    remote.read_scene()
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors and len(states) == 45
    finally:
        local.close()
        pid = remote.pid
        remote.close()
    assert not remote.alive and remote.pid is None and _gone(pid)
    with pytest.raises(RobotConnectionError, match="not connected"):
        remote.read_state()


def test_a_hung_child_times_out_and_a_killed_one_is_reported(gripper):
    from lad_core.robots.sim_process import SimProcessBackend

    backend = SimProcessBackend(gripper, options={"realtime": True}, timeout_s=0.5)
    backend.connect()
    try:
        state = backend.read_state()
        pid = backend.pid
        os.kill(pid, signal.SIGSTOP)  # the simulation hangs
        t0 = time.monotonic()
        with pytest.raises(RobotConnectionError, match=r"no answer to 'command' within 0.5 s"):
            backend.command(state.as_command())
        assert time.monotonic() - t0 < 3.0
        assert not backend.alive and _gone(pid)  # the hung child was killed
        with pytest.raises(RobotConnectionError, match="hung"):
            backend.read_state()  # it stays failed: the operator sees why
        h = backend.health()
        assert not h.ok and "hung" in h.message
        # A fresh connect starts a new child; killing it is reported with its exit code.
        backend.connect()
        assert backend.alive and backend.pid != pid
        os.kill(backend.pid, signal.SIGKILL)
        with pytest.raises(RobotConnectionError, match=r"exited \(code -9\)"):
            backend.read_state()
    finally:
        pid = backend.pid
        backend.close()
    assert pid is None or _gone(pid)


def test_bad_options_and_embodiment_mismatch_are_named(gripper):
    from lad_core.robots.base import RobotInfo
    from lad_core.robots.sim_process import SimProcessBackend

    with pytest.raises(ConfigError, match="unknown option.*'speed'"):
        SimProcessBackend(gripper, options={"speed": 2})
    wrong = SimProcessBackend(RobotInfo("gripper", ("a", "b", "c"), np.zeros(3), np.ones(3)), options={})
    with pytest.raises(RobotError, match="3 joints but the simulated embodiment"):
        wrong.connect()
    assert not wrong.alive and wrong.pid is None  # the failed child was cleaned up
