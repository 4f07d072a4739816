"""Robot server and remote backend over loopback: roles, limits, e-stop, and the deadman (in-thread and killed
client process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lad_core.robots.base import RobotCommand
from lad_core.robots.remote import RemoteBackend, RemoteError

HERE = Path(__file__).parent
IDENTITY = [0.0, 0.0, 0.0, 1.0]


def test_remote_backend_round_trip_with_server_side_limits(server):
    with RemoteBackend(server.endpoint) as robot:
        assert robot.info.n_joints == 3 and robot.heartbeat_timeout_s == pytest.approx(0.12)
        start = robot.read_state()
        robot.command(RobotCommand(start.ee_position + [0.5, 0, 0], IDENTITY, [1.4, 0, 0]))
        kinds = {v["kind"] for v in robot.last_violations}
        assert {"ee_velocity", "joint_velocity"} <= kinds  # the server clamps on its own, whatever the client sent
        time.sleep(0.05)
        moved = robot.read_state()
        step = np.linalg.norm(moved.ee_position - start.ee_position)
        assert 0.0 < step <= 0.25 * 0.02 + 1e-9
        assert robot.health().ok and robot.last_latency_ms is not None


def test_roles_observer_cannot_command_and_second_controller_is_busy(server):
    with RemoteBackend(server.endpoint) as controller, RemoteBackend(server.endpoint, role="observe") as observer:
        state = observer.read_state()
        with pytest.raises(RemoteError) as err:
            observer.command(state.as_command())
        assert err.value.code == "not_controller"
        other = RemoteBackend(server.endpoint, client_name="intruder")
        with pytest.raises(RemoteError) as err:
            other.connect()
        assert err.value.code == "busy"
        other.close()
        controller.command(state.as_command())


def test_estop_over_protocol_latches_until_reset(server):
    with RemoteBackend(server.endpoint) as robot, RemoteBackend(server.endpoint, role="observe") as panel:
        state = robot.read_state()
        panel.estop("panel button")  # anyone may e-stop
        with pytest.raises(RemoteError) as err:
            robot.command(state.as_command())
        assert err.value.code == "estopped"
        assert robot.read_state().estopped and not robot.health().ok
        robot.reset_estop()
        robot.command(state.as_command())
        kinds = [e["kind"] for e in robot.events()[0]]
        assert "estop" in kinds and "estop_reset" in kinds


def test_deadman_holds_within_200ms_when_heartbeats_stop(server):
    robot = RemoteBackend(server.endpoint)
    robot.connect()
    s = robot.read_state()
    for i in range(10):  # moving
        robot.command(RobotCommand(s.ee_position + [0.004 * i, 0, 0], IDENTITY, s.joints))
        time.sleep(0.02)
    t_silent = time.monotonic()  # the last word from the client was just before this
    time.sleep(0.3)
    assert server.last_hold is not None
    reaction = server.last_hold - t_silent
    assert 0.0 < reaction <= 0.2, f"deadman reacted after {reaction * 1000:.0f} ms"
    with pytest.raises(RemoteError) as err:
        robot.command(s.as_command())
    assert err.value.code == "session_expired"
    assert any(e.kind == "deadman" for e in server.log.events())
    robot.connect()  # a fresh hello resumes
    robot.command(robot.read_state().as_command())
    robot.close()


def test_killed_client_process_makes_server_process_hold_within_200ms(server_process):
    _, endpoint = server_process
    client = subprocess.Popen([sys.executable, str(HERE / "_stream_client.py"), endpoint], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert client.stdout.readline().strip() == "STREAMING"
        with RemoteBackend(endpoint, role="observe") as observer:
            deadline = time.monotonic() + 5
            while observer.read_state().holding and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)
            assert observer.last_server_state["mode"] == "active"
            t_kill = time.monotonic()
            os.kill(client.pid, signal.SIGKILL)
            client.wait(5)
            time.sleep(0.3)
            state = observer.read_state()
            assert state.holding and observer.last_server_state["mode"] == "idle"
            reaction = observer.last_server_state["last_hold"] - t_kill
            assert 0.0 < reaction <= 0.2, f"server held {reaction * 1000:.0f} ms after the kill"
            time.sleep(0.1)
            later = observer.read_state()
            np.testing.assert_array_equal(later.ee_position, state.ee_position)  # not moving any more
            np.testing.assert_array_equal(later.joints, state.joints)
            kinds = [e["kind"] for e in observer.events()[0]]
            assert "deadman" in kinds
    finally:
        if client.poll() is None:
            client.kill()
            client.wait(5)
