"""Pure limit functions. Each returns ``(safe_value, violations)``; nothing here has state or side effects.

Shape legend: ``J`` end-effector joints. ``reference`` is the robot's measured state at this tick: every step
limit bounds the distance of the *target* from where the robot is, so a command that reaches the backend never
asks for more than one step of motion, whatever the source sent before.

Order in :func:`apply_limits`: shape/finite checks (reject -> hold), joint range, workspace box, then the
per-step velocity limits. The box is convex and the step is taken along the straight segment from the
(in-box) reference, so the result satisfies every limit at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lad_core.errors import ConfigError
from lad_core.robots import quat
from lad_core.robots.base import RobotCommand, RobotInfo, RobotState

# Violation kinds (stable strings: they appear in logs, events and the protocol).
MALFORMED = "malformed"  # wrong type or shape: command rejected, robot holds
NON_FINITE = "non_finite"  # NaN or inf anywhere: command rejected, robot holds
JOINT_RANGE = "joint_range"  # a joint target outside [lower, upper]: clamped
WORKSPACE = "workspace"  # wrist target outside the workspace box: clamped onto it
JOINT_VELOCITY = "joint_velocity"  # a joint would move more than max_joint_velocity * dt: limited
EE_VELOCITY = "ee_velocity"  # wrist would translate more than max_linear_velocity * dt: limited
EE_ANGULAR_VELOCITY = "ee_angular_velocity"  # wrist would rotate more than max_angular_velocity * dt: limited
REJECTING = frozenset({MALFORMED, NON_FINITE})


@dataclass(frozen=True)
class Violation:
    """One limit that acted on a command. ``amount`` is by how much it was exceeded (units of the limit)."""

    kind: str
    message: str
    amount: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "amount": self.amount}


@dataclass(frozen=True)
class SafetyLimits:
    """Velocity limits (per second; a step allows ``limit * dt``), joint range and workspace box."""

    joint_lower: np.ndarray  # (J,)
    joint_upper: np.ndarray  # (J,)
    workspace_lower: np.ndarray  # (3,) metres
    workspace_upper: np.ndarray  # (3,) metres
    max_joint_velocity: float | np.ndarray = 2.0  # rad/s, scalar or (J,)
    max_linear_velocity: float = 0.25  # m/s of the wrist
    max_angular_velocity: float = 1.5  # rad/s of the wrist
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for key in ("joint_lower", "joint_upper", "workspace_lower", "workspace_upper"):
            object.__setattr__(self, key, np.asarray(getattr(self, key), dtype=np.float64))
        if self.joint_lower.shape != self.joint_upper.shape or self.joint_lower.ndim != 1:
            raise ConfigError(f"joint limits shapes differ: {self.joint_lower.shape} vs {self.joint_upper.shape}",
                              field="joint_lower")
        if self.workspace_lower.shape != (3,) or self.workspace_upper.shape != (3,):
            raise ConfigError("workspace bounds must have shape (3,)", field="workspace_lower")
        if np.any(self.joint_lower > self.joint_upper) or np.any(self.workspace_lower > self.workspace_upper):
            raise ConfigError("a lower bound is above its upper bound", field="joint_lower")
        vj = np.broadcast_to(np.asarray(self.max_joint_velocity, float), self.joint_lower.shape).copy()
        object.__setattr__(self, "max_joint_velocity", vj)
        for key in ("max_joint_velocity", "max_linear_velocity", "max_angular_velocity"):
            value = np.asarray(getattr(self, key), dtype=float)
            if not np.all(np.isfinite(value)) or np.any(value <= 0):
                raise ConfigError(f"must be positive and finite, got {value.tolist()}", field=key)

    @property
    def n_joints(self) -> int:
        return int(self.joint_lower.shape[0])

    @classmethod
    def for_robot(cls, info: RobotInfo, **overrides: Any) -> "SafetyLimits":
        """Limits from a robot's joint range and workspace with default velocities (override any field)."""
        kwargs: dict[str, Any] = dict(joint_lower=info.lower, joint_upper=info.upper,
                                      workspace_lower=info.workspace_lower, workspace_upper=info.workspace_upper)
        kwargs.update(overrides)
        return cls(**kwargs)


def check_command(raw: Any, n_joints: int) -> tuple[RobotCommand | None, list[Violation]]:
    """Shape, type and finiteness checks. Accepts a RobotCommand or a mapping with the three fields.

    Returns ``(command, [])`` or ``(None, [violation])``: a malformed or non-finite command is never repaired.
    """
    try:
        if isinstance(raw, RobotCommand):
            fields = (raw.ee_position, raw.ee_orientation, raw.joints)
        elif isinstance(raw, dict):
            extra = sorted(set(raw) - {"ee_position", "ee_orientation", "joints"})
            if extra:
                return None, [Violation(MALFORMED, f"unknown command field(s) {extra}")]
            fields = (raw["ee_position"], raw["ee_orientation"], raw["joints"])
        else:
            return None, [Violation(MALFORMED, f"command must be a RobotCommand or mapping, got {type(raw).__name__}")]
        arrays = []
        for name, value, size in zip(("ee_position", "ee_orientation", "joints"), fields, (3, 4, n_joints)):
            arr = np.asarray(value)
            if arr.dtype.kind not in "fiu" or arr.shape != (size,):
                return None, [Violation(MALFORMED, f"{name}: expected {size} numbers, got shape {arr.shape} "
                                                   f"dtype {arr.dtype}")]
            arr = arr.astype(np.float64)
            if not np.all(np.isfinite(arr)):
                return None, [Violation(NON_FINITE, f"{name}: contains NaN or inf")]
            arrays.append(arr)
        with np.errstate(over="ignore"):
            norm = float(np.linalg.norm(arrays[1]))
        if norm < 0.5 or norm > 2.0:  # far from unit: almost certainly garbage, not rounding
            return None, [Violation(MALFORMED, f"ee_orientation: quaternion norm {norm:.3g} is not ~1")]
        arrays[1] = arrays[1] / norm
        return RobotCommand(*arrays), []
    except (KeyError, TypeError, ValueError) as exc:
        return None, [Violation(MALFORMED, f"unreadable command: {exc}")]


def clamp_joint_range(target: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, list[Violation]]:
    safe = np.clip(target, lower, upper)
    over = float(np.max(np.abs(safe - target))) if target.size else 0.0
    if over > 0.0:
        return safe, [Violation(JOINT_RANGE, f"joint target outside limits by up to {over:.4g} rad", over)]
    return safe, []


def clamp_workspace(position: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, list[Violation]]:
    safe = np.clip(position, lower, upper)
    over = float(np.linalg.norm(safe - position))
    if over > 0.0:
        return safe, [Violation(WORKSPACE, f"wrist target {over:.4g} m outside the workspace box", over)]
    return safe, []


def limit_joint_step(target: np.ndarray, current: np.ndarray, max_step: np.ndarray) -> tuple[np.ndarray, list[Violation]]:
    """Per-joint step limit: ``|safe - current| <= max_step`` element-wise."""
    delta = target - current
    safe = current + np.clip(delta, -max_step, max_step)
    over = float(np.max(np.abs(delta) - max_step)) if target.size else 0.0
    if over > 0.0:
        return safe, [Violation(JOINT_VELOCITY, f"joint step exceeds the velocity limit by {over:.4g} rad", over)]
    return safe, []


def limit_linear_step(target: np.ndarray, current: np.ndarray, max_step: float) -> tuple[np.ndarray, list[Violation]]:
    """Wrist translation limit: ``||safe - current|| <= max_step``, along the straight line to the target."""
    delta = target - current
    dist = float(np.linalg.norm(delta))
    if dist <= max_step:
        return target, []
    safe = current + delta * (max_step / dist)
    return safe, [Violation(EE_VELOCITY, f"wrist step {dist:.4g} m exceeds {max_step:.4g} m", dist - max_step)]


def limit_angular_step(target: np.ndarray, current: np.ndarray, max_step: float) -> tuple[np.ndarray, list[Violation]]:
    """Wrist rotation limit: the rotation from ``current`` to the result is at most ``max_step`` radians."""
    angle = quat.angle_between(current, target)
    safe, limited = quat.step_towards(current, target, max_step)
    if limited:
        return safe, [Violation(EE_ANGULAR_VELOCITY, f"wrist rotation {angle:.4g} rad exceeds {max_step:.4g} rad",
                                angle - max_step)]
    return safe, []


def hold_command(state: RobotState) -> RobotCommand:
    """The command that keeps the robot where it is measured."""
    return state.as_command()


def apply_limits(raw: Any, state: RobotState, limits: SafetyLimits, dt: float) -> tuple[RobotCommand, list[Violation]]:
    """Every check for one control step of ``dt`` seconds. Rejected commands become the hold command."""
    command, violations = check_command(raw, limits.n_joints)
    if command is None:
        return hold_command(state), violations
    if not (np.isfinite(dt) and dt > 0):
        return hold_command(state), [Violation(MALFORMED, f"control step dt={dt} is not positive")]
    joints, v = clamp_joint_range(command.joints, limits.joint_lower, limits.joint_upper)
    violations += v
    current_joints = np.clip(state.joints, limits.joint_lower, limits.joint_upper)
    joints, v = limit_joint_step(joints, current_joints, limits.max_joint_velocity * dt)
    violations += v
    position, v = clamp_workspace(command.ee_position, limits.workspace_lower, limits.workspace_upper)
    violations += v
    position, v = limit_linear_step(position, state.ee_position, limits.max_linear_velocity * dt)
    violations += v
    current_q = quat.normalize(state.ee_orientation)
    orientation, v = limit_angular_step(command.ee_orientation, current_q, limits.max_angular_velocity * dt)
    violations += v
    return RobotCommand(position, orientation, joints), violations
