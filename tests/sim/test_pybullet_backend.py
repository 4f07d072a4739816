"""The `sim` robot backend behind the RobotBackend interface (entry point lookup, commands, stop, bad options)."""

from __future__ import annotations

import numpy as np
import pytest

from lad_core.errors import ConfigError
from lad_core.robots.base import RobotCommand
from lad_core.robots.factory import create_backend, robot_info_for_embodiment


def test_sim_backend_moves_the_wrist_and_holds_on_stop():
    backend = create_backend("sim", robot_info_for_embodiment("gripper"), sim_task="cube_in_box", realtime=False)
    with backend:
        s0 = backend.read_state()
        assert s0.joints.shape == (1,) and s0.arm_joints.shape == (7,) and s0.holding
        goal = s0.ee_position + [0.0, 0.05, -0.05]
        for _ in range(20):
            backend.command(RobotCommand(goal, s0.ee_orientation, [0.2]))
        s1 = backend.read_state()
        assert np.linalg.norm(s1.ee_position - goal) < 0.01 and not s1.holding
        assert s1.joints[0] == pytest.approx(0.2, abs=0.05)
        backend.stop()
        assert backend.read_state().holding
        assert backend.health().ok


def test_sim_backend_rejects_unknown_options():
    with pytest.raises(ConfigError, match="bogus"):
        create_backend("sim", robot_info_for_embodiment("gripper"), bogus=1)
