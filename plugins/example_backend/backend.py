"""EchoDeviceBackend: an example driver around a pretend device that moves to each target at once.

A real driver would open a serial port or an SDK session in ``connect``, send targets in ``command`` and read
encoders in ``read_state``; the structure (and what each method must guarantee) is the same. It uses only
``lad_core``.
"""

from __future__ import annotations

import time

import numpy as np

from lad_core.errors import ConfigError
from lad_core.robots.base import (
    BackendConfig,
    BackendHealth,
    RobotBackend,
    RobotCommand,
    RobotConnectionError,
    RobotInfo,
    RobotState,
)


class EchoDeviceBackend(RobotBackend):
    """The "device" reaches every target instantly and reports it back; it counts commands for diagnostics."""

    def __init__(self, info: RobotInfo, latency_s: float = 0.0):
        self._info = info
        self._latency_s = latency_s
        self._connected = False
        self._state = RobotCommand(np.array([0.0, 0.0, 0.4]), np.array([0.0, 0.0, 0.0, 1.0]),
                                   np.clip(np.zeros(info.n_joints), info.lower, info.upper))
        self._holding = True
        self.n_commands = 0

    @property
    def info(self) -> RobotInfo:
        return self._info

    def connect(self) -> None:
        self._connected = True  # a driver opens its device here and raises RobotConnectionError on failure

    def _require(self) -> None:
        if not self._connected:
            raise RobotConnectionError("example echo device: not connected")

    def read_state(self) -> RobotState:
        self._require()
        s = self._state
        return RobotState(time.monotonic(), s.ee_position, s.ee_orientation, s.joints, holding=self._holding)

    def command(self, command: RobotCommand) -> None:
        self._require()
        if self._latency_s:
            time.sleep(self._latency_s)
        self._state = RobotCommand(command.ee_position, command.ee_orientation,
                                   np.clip(command.joints, self._info.lower, self._info.upper))
        self._holding = False
        self.n_commands += 1

    def stop(self) -> None:
        self._holding = True  # the echo device is always at its target: holding means accepting no motion

    def health(self) -> BackendHealth:
        return BackendHealth(ok=self._connected, connected=self._connected, message="example echo device")

    def close(self) -> None:
        self._connected = False


def create(config: BackendConfig) -> EchoDeviceBackend:
    unknown = sorted(set(config.options) - {"latency_s"})
    if unknown:
        raise ConfigError(f"unknown option(s) {unknown}", source="example backend", field=unknown[0])
    return EchoDeviceBackend(config.info, **config.options)
