"""Plugin discovery (with a broken plugin), the registered backends, the fake kinematic robot and the CLI."""

from __future__ import annotations

import subprocess
import sys
import time
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

from lad_core import plugins
from lad_core.errors import ConfigError
from lad_core.robots.base import BackendConfig, RobotCommand, RobotConnectionError
from lad_core.robots.factory import backend_factory, create_backend, generic_robot_info, robot_info_for_embodiment
from lad_core.robots.kinematic import FakeKinematicBackend

GROUP = plugins.ROBOT_BACKENDS


def ep(name, value):
    return EntryPoint(name=name, value=value, group=GROUP)


def test_discover_reports_broken_plugins_and_loads_the_rest(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))  # makes _broken_plugin importable
    loaded, failures = plugins.discover(GROUP, entry_points_=[
        ep("kinematic", "lad_core.robots.kinematic:create"),
        ep("missing_module", "no_such_driver_pkg.backend:create"),
        ep("missing_attr", "lad_core.robots.kinematic:no_such_factory"),
        ep("explodes", "_broken_plugin:create"),
        ep("kinematic", "plugins.example_backend:create"),  # duplicate name
    ])
    assert set(loaded) == {"kinematic"}
    assert loaded["kinematic"].__module__ == "lad_core.robots.kinematic"
    by_name = {f.name: f for f in failures}
    assert set(by_name) == {"missing_module", "missing_attr", "explodes", "kinematic"}
    assert "ModuleNotFoundError" in by_name["missing_module"].error
    assert "AttributeError" in by_name["missing_attr"].error
    assert "RuntimeError: driver SDK not installed" in by_name["explodes"].error
    assert "Traceback" in by_name["explodes"].traceback
    assert "DuplicateName" in by_name["kinematic"].error
    assert "no_such_driver_pkg" in str(by_name["missing_module"])


def test_installed_entry_points_register_the_builtin_and_example_backends():
    loaded, failures = plugins.discover(GROUP, refresh=True)
    assert {"kinematic", "example"} <= set(loaded), (loaded, failures)
    info = generic_robot_info(2)
    for name in ("kinematic", "example"):
        with create_backend(name, info) as backend:
            state = backend.read_state()
            backend.command(RobotCommand(state.ee_position, state.ee_orientation, [0.1, -0.1]))
            assert backend.health().ok


def test_unknown_or_broken_backend_names_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown robot backend 'warp_drive'.*kinematic"):
        backend_factory("warp_drive")
    with pytest.raises(ConfigError, match="cannot load backend factory"):
        backend_factory("no_such_mod:create")
    with pytest.raises(ConfigError, match="unknown option"):
        create_backend("kinematic", generic_robot_info(1), turbo=True)


def test_fake_kinematic_backend_moves_at_its_speed_holds_on_stop_and_respects_limits():
    now = [0.0]
    info = generic_robot_info(2, limit=1.0)
    robot = FakeKinematicBackend(info, max_joint_speed=1.0, max_linear_speed=0.1, clock=lambda: now[0])
    with pytest.raises(RobotConnectionError):
        robot.read_state()
    robot.connect()
    start = robot.read_state()
    robot.command(RobotCommand(start.ee_position + [1.0, 0, 0], start.ee_orientation, [5.0, -0.2]))
    now[0] = 0.1
    s = robot.read_state()
    assert s.ee_position[0] - start.ee_position[0] == pytest.approx(0.01)  # 0.1 m/s for 0.1 s
    np.testing.assert_allclose(s.joints, [0.1, -0.1])
    robot.stop()
    now[0] = 1.0
    held = robot.read_state()
    np.testing.assert_allclose(held.ee_position, s.ee_position)
    assert held.holding
    robot.command(RobotCommand(held.ee_position, held.ee_orientation, [5.0, 0.0]))
    now[0] = 10.0
    assert robot.read_state().joints[0] == pytest.approx(1.0)  # clipped to the joint limit


def test_embodiment_info_comes_from_the_registry():
    info = robot_info_for_embodiment("mimic")
    assert info.n_joints == 16 and np.all(info.lower <= info.upper)
    backend = backend_factory("kinematic")(BackendConfig(info=info))
    backend.connect()
    assert backend.read_state().joints.shape == (16,)


def test_cli_lists_plugins_and_serves_an_embodiment():
    out = subprocess.run([sys.executable, "-m", "lad_core.cli.main", "plugins"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "lad.robot_backends:" in out.stdout and "kinematic" in out.stdout
    t0 = time.monotonic()
    served = subprocess.run([sys.executable, "-m", "lad_core.cli.robot", "--embodiment", "gripper", "--port", "0",
                             "--max-seconds", "0.2"], capture_output=True, text=True, timeout=60)
    assert served.returncode == 0 and served.stdout.startswith("READY tcp://127.0.0.1:"), served.stderr
    assert "gripper (1 joints)" in served.stderr
    assert time.monotonic() - t0 < 30
    bad = subprocess.run([sys.executable, "-m", "lad_core.cli.robot", "--backend", "warp_drive", "--port", "0"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown robot backend 'warp_drive'" in bad.stderr and "sim" in bad.stderr
