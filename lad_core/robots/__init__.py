"""Robot backends: one interface (``RobotBackend``) for simulated, remote and real robots.

- ``base``: the interface and its dataclasses (``RobotCommand``, ``RobotState``, ``RobotInfo``, ``BackendHealth``).
- ``kinematic``: ``FakeKinematicBackend``, a physics-free stand-in for tests and demos.
- ``protocol``: the versioned JSON message protocol between a client and a robot server.
- ``server``: ``RobotServer``, the robot-side process loop with its deadman.
- ``remote``: ``RemoteBackend``, the client side of the protocol.
- ``factory``: backends by name through the ``lad.robot_backends`` entry points.
"""

from lad_core.robots.base import (
    BackendConfig,
    BackendHealth,
    RobotBackend,
    RobotCommand,
    RobotConnectionError,
    RobotError,
    RobotInfo,
    RobotState,
)

__all__ = ["BackendConfig", "BackendHealth", "RobotBackend", "RobotCommand", "RobotConnectionError", "RobotError",
           "RobotInfo", "RobotState"]
