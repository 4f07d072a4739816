"""FAKE robot for tests and demos: a kinematic point robot with no physics, no contacts and no arm model.

``FakeKinematicBackend`` moves its wrist pose and end-effector joints towards the last commanded target at fixed
maximum speeds, integrating in wall-clock time whenever it is asked anything (so time passes as on a real robot,
without a thread). ``stop()`` sets the target to the current pose. It never violates its joint limits. It stands in
for a real or simulated robot where only the command/state plumbing matters (safety layer, robot server, rollout
controller); the pybullet backend is the one with physics.

Registered as the ``kinematic`` robot backend (entry point group ``lad.robot_backends``).
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from lad_core.errors import ConfigError
from lad_core.robots import quat
from lad_core.robots.base import (
    BackendConfig,
    BackendHealth,
    RobotBackend,
    RobotCommand,
    RobotConnectionError,
    RobotInfo,
    RobotState,
)

DEFAULT_HOME_POSITION = (0.0, 0.0, 0.4)
DEFAULT_HOME_ORIENTATION = (0.0, 0.0, 0.0, 1.0)


class FakeKinematicBackend(RobotBackend):
    """Rate-limited tracking of the commanded target; thread-safe (an internal lock guards the state)."""

    def __init__(
        self,
        info: RobotInfo,
        *,
        max_joint_speed: float = 3.0,
        max_linear_speed: float = 0.5,
        max_angular_speed: float = 3.0,
        home_position: tuple[float, float, float] = DEFAULT_HOME_POSITION,
        home_joints: np.ndarray | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._info = info
        self._speeds = (float(max_joint_speed), float(max_linear_speed), float(max_angular_speed))
        if min(self._speeds) <= 0:
            raise ConfigError(f"speeds must be positive, got {self._speeds}", field="max_*_speed")
        self._clock = clock
        joints = np.clip(np.zeros(info.n_joints) if home_joints is None else np.asarray(home_joints, float),
                         info.lower, info.upper)
        self._home = RobotCommand(np.asarray(home_position, float), np.asarray(DEFAULT_HOME_ORIENTATION), joints)
        self._lock = threading.Lock()
        self._connected = False
        self._reset_to_home()
        self.commands_received = 0

    def _reset_to_home(self) -> None:
        self._pos = self._home.ee_position.copy()
        self._quat = self._home.ee_orientation.copy()
        self._joints = self._home.joints.copy()
        self._target = self._home
        self._holding = True
        self._last_t = self._clock()

    @property
    def info(self) -> RobotInfo:
        return self._info

    def connect(self) -> None:
        with self._lock:
            if not self._connected:
                self._connected = True
                self._last_t = self._clock()

    def close(self) -> None:
        with self._lock:
            self._advance()
            self._target = RobotCommand(self._pos, self._quat, self._joints)
            self._holding = True
            self._connected = False

    def _require(self) -> None:
        if not self._connected:
            raise RobotConnectionError("fake kinematic backend: not connected (call connect() first)")

    def _advance(self) -> None:
        now = self._clock()
        dt = max(0.0, now - self._last_t)
        self._last_t = now
        if dt == 0.0:
            return
        vj, vl, va = self._speeds
        t = self._target
        self._joints = self._joints + np.clip(t.joints - self._joints, -vj * dt, vj * dt)
        delta = t.ee_position - self._pos
        dist = float(np.linalg.norm(delta))
        self._pos = t.ee_position.copy() if dist <= vl * dt else self._pos + delta * (vl * dt / dist)
        self._quat, _ = quat.step_towards(self._quat, t.ee_orientation, va * dt)

    def read_state(self) -> RobotState:
        with self._lock:
            self._require()
            self._advance()
            return RobotState(self._last_t, self._pos.copy(), self._quat.copy(), self._joints.copy(),
                              holding=self._holding)

    def command(self, command: RobotCommand) -> None:
        with self._lock:
            self._require()
            if command.joints.shape != (self._info.n_joints,):
                raise RobotConnectionError(
                    f"fake kinematic backend: command has {command.joints.shape[0]} joints, robot has "
                    f"{self._info.n_joints}")
            self._advance()
            joints = np.clip(command.joints, self._info.lower, self._info.upper)
            self._target = RobotCommand(command.ee_position, quat.normalize(command.ee_orientation), joints)
            self._holding = False
            self.commands_received += 1

    def stop(self) -> None:
        with self._lock:
            self._advance()
            self._target = RobotCommand(self._pos, self._quat, self._joints)
            self._holding = True

    def health(self) -> BackendHealth:
        return BackendHealth(ok=self._connected, connected=self._connected,
                             message="fake kinematic backend (no physics)")


_OPTIONS = {"max_joint_speed", "max_linear_speed", "max_angular_speed", "home_position"}


def create(config: BackendConfig) -> FakeKinematicBackend:
    """Entry-point factory: ``lad robot-server --backend kinematic``."""
    unknown = sorted(set(config.options) - _OPTIONS)
    if unknown:
        raise ConfigError(f"unknown option(s) {unknown}; known: {sorted(_OPTIONS)}", source="kinematic backend",
                          field=unknown[0])
    return FakeKinematicBackend(config.info, **config.options)
