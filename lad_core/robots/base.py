"""The robot backend interface: what every robot (simulated, remote or real) offers the rest of LAD Studio.

Shape legend: ``J`` end-effector joints (the embodiment's ``action_dim``: hand joint angles in radians, or a
gripper's normalised width), ``A`` arm joints (may be 0 when the backend commands the arm in Cartesian space).

A command targets the arm as a wrist pose (``ee_position`` in metres and ``ee_orientation`` as an ``xyzw`` unit
quaternion, in the robot base frame) plus the end-effector joints. Backends hold position on ``stop()``; after a
stop they wait for the next command. Backends are *not* required to be thread-safe: one control loop talks to one
backend. Types from the simulator or a hardware SDK stay inside the backend module.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from lad_core.errors import InputError, LadError


class RobotError(LadError):
    """A backend cannot do what was asked (not connected, server gone, session expired)."""


class RobotConnectionError(RobotError):
    """The connection to a robot (or robot server) failed or was lost."""


def _as_vector(value: Any, size: int | None, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1 or (size is not None and arr.shape[0] != size):
        want = f"({size},)" if size is not None else "a 1-D vector"
        raise InputError(f"{name}: expected shape {want}, got {arr.shape}")
    return arr


@dataclass(frozen=True)
class RobotCommand:
    """One control-tick target: wrist pose + end-effector joints. Arrays are float64, copied on construction."""

    ee_position: np.ndarray  # (3,) metres, robot base frame
    ee_orientation: np.ndarray  # (4,) unit quaternion xyzw
    joints: np.ndarray  # (J,)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ee_position", _as_vector(self.ee_position, 3, "ee_position").copy())
        object.__setattr__(self, "ee_orientation", _as_vector(self.ee_orientation, 4, "ee_orientation").copy())
        object.__setattr__(self, "joints", _as_vector(self.joints, None, "joints").copy())

    def to_dict(self) -> dict[str, list[float]]:
        return {
            "ee_position": self.ee_position.tolist(),
            "ee_orientation": self.ee_orientation.tolist(),
            "joints": self.joints.tolist(),
        }


@dataclass(frozen=True)
class RobotState:
    """What a backend reports. ``timestamp`` is ``time.monotonic()`` of the reading (same clock in every process)."""

    timestamp: float
    ee_position: np.ndarray  # (3,)
    ee_orientation: np.ndarray  # (4,) xyzw
    joints: np.ndarray  # (J,)
    arm_joints: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (A,)
    holding: bool = False  # True after stop() until the next accepted command
    estopped: bool = False  # a latched e-stop on the robot side (robot server) is active
    # Further sensor readings, named like episode observations (e.g. the sim's "object_pose", "target_position"),
    # so a policy trained on recorded episodes finds them at rollout. In-process only: protocol v1 does not carry them.
    observations: dict[str, np.ndarray] = field(default_factory=dict)

    def as_command(self) -> RobotCommand:
        """The command that holds the robot where it is."""
        return RobotCommand(self.ee_position, self.ee_orientation, self.joints)

    def to_dict(self) -> dict[str, Any]:
        return {
            "timestamp": float(self.timestamp),
            "ee_position": np.asarray(self.ee_position, float).tolist(),
            "ee_orientation": np.asarray(self.ee_orientation, float).tolist(),
            "joints": np.asarray(self.joints, float).tolist(),
            "arm_joints": np.asarray(self.arm_joints, float).tolist(),
            "holding": bool(self.holding),
            "estopped": bool(self.estopped),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RobotState":
        return cls(
            timestamp=float(data["timestamp"]),
            ee_position=np.asarray(data["ee_position"], float),
            ee_orientation=np.asarray(data["ee_orientation"], float),
            joints=np.asarray(data["joints"], float),
            arm_joints=np.asarray(data.get("arm_joints", []), float),
            holding=bool(data.get("holding", False)),
            estopped=bool(data.get("estopped", False)),
        )

    def with_flags(self, **flags: bool) -> "RobotState":
        return replace(self, **flags)


@dataclass(frozen=True)
class RobotInfo:
    """Static description of a connected robot: end-effector joint names and limits, and the reachable box."""

    name: str
    joint_names: tuple[str, ...]
    lower: np.ndarray  # (J,)
    upper: np.ndarray  # (J,)
    workspace_lower: np.ndarray = field(default_factory=lambda: np.array([-0.6, -0.6, 0.0]))  # (3,) metres
    workspace_upper: np.ndarray = field(default_factory=lambda: np.array([0.6, 0.6, 0.9]))  # (3,) metres

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        for key in ("lower", "upper"):
            object.__setattr__(self, key, _as_vector(getattr(self, key), n, key))
        for key in ("workspace_lower", "workspace_upper"):
            object.__setattr__(self, key, _as_vector(getattr(self, key), 3, key))
        if np.any(self.lower > self.upper) or np.any(self.workspace_lower > self.workspace_upper):
            raise InputError(f"robot '{self.name}': a lower limit is above its upper limit")

    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "joint_names": list(self.joint_names),
            "lower": self.lower.tolist(),
            "upper": self.upper.tolist(),
            "workspace_lower": self.workspace_lower.tolist(),
            "workspace_upper": self.workspace_upper.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RobotInfo":
        return cls(
            name=str(data["name"]),
            joint_names=tuple(data["joint_names"]),
            lower=np.asarray(data["lower"], float),
            upper=np.asarray(data["upper"], float),
            workspace_lower=np.asarray(data["workspace_lower"], float),
            workspace_upper=np.asarray(data["workspace_upper"], float),
        )


@dataclass(frozen=True)
class BackendHealth:
    """A backend's self-report. ``ok`` False means commands should not be sent (the operator sees ``message``)."""

    ok: bool
    connected: bool
    message: str = ""
    latency_ms: float | None = None  # last round trip, remote backends only
    timestamp: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class BackendConfig:
    """What a backend factory (entry point in ``lad.robot_backends``) receives.

    ``info`` describes the end-effector (from the embodiment registry); ``sim_task`` names a scene for simulated
    backends; ``options`` carries backend-specific settings (unknown keys must be rejected by the factory).
    """

    info: RobotInfo
    sim_task: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


BackendFactory = Callable[[BackendConfig], "RobotBackend"]


class RobotBackend(abc.ABC):
    """One robot. Lifecycle: ``connect()`` -> ``read_state``/``command``/``stop``/``health`` -> ``close()``."""

    @property
    @abc.abstractmethod
    def info(self) -> RobotInfo:
        """Joint names, limits and workspace of this robot (valid after ``connect``)."""

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the connection (idempotent). Raises RobotConnectionError when the robot cannot be reached."""

    @abc.abstractmethod
    def read_state(self) -> RobotState:
        """The latest measured state."""

    @abc.abstractmethod
    def command(self, command: RobotCommand) -> None:
        """Send one target. Callers pass commands through the safety layer first."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Hold the current position now. Fast, idempotent, safe to call in any state after ``connect``."""

    @abc.abstractmethod
    def health(self) -> BackendHealth:
        """Self-report; never raises."""

    def heartbeat(self) -> None:  # noqa: B027 - optional hook
        """Tell the robot the controlling loop is alive (remote backends; a no-op in-process)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the connection; the robot holds position."""

    def __enter__(self) -> "RobotBackend":
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
