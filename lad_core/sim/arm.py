"""Arm poses and the paper's two arm action representations (Sec. 7.1.2), plus the rate/limit step of IK targets.

A pose is (6,): position (m) + rotation vector (rad) of the end-effector's wrist frame in the robot base frame,
the same convention as ``lad_core.policy.actions`` (which these functions call, so recorded data and policies agree).

* ``absolute``: the action is the target pose itself.
* ``delta``: per-step delta pose: ``p' = p + dp``, ``R' = dR R`` (rotation applied in the base frame), relative to
  the pose reached now.
* ``relative``: the target pose expressed in the frame of the pose at the start of the action chunk (Chi et al.,
  UMI): ``p' = p0 + R0 dp``, ``R' = R0 dR``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.spatial.transform import Rotation

from lad_core.errors import InputError

ArmActionMode = Literal["absolute", "delta", "relative"]
ARM_ACTION_MODES = ("absolute", "delta", "relative")


def pose_from_pq(position, quat_xyzw) -> np.ndarray:
    return np.concatenate([np.asarray(position, float), Rotation.from_quat(quat_xyzw).as_rotvec()])


def pq_from_pose(pose) -> tuple[np.ndarray, np.ndarray]:
    pose = _check(pose, "pose")
    return pose[:3].copy(), Rotation.from_rotvec(pose[3:]).as_quat()


def _check(value, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (6,) or not np.isfinite(arr).all():
        raise InputError(f"{name}: expected 6 finite numbers (position + rotation vector), got {arr.tolist()}")
    return arr


def delta_action(current, target) -> np.ndarray:
    """The ``delta`` action taking pose ``current`` to ``target``."""
    from lad_core.policy.actions import pose_delta

    return pose_delta(_check(current, "current"), _check(target, "target")).astype(np.float64)


def relative_action(chunk_start, target) -> np.ndarray:
    """The ``relative`` action: ``target`` in the frame of ``chunk_start``."""
    from lad_core.policy.actions import pose_relative

    return pose_relative(_check(chunk_start, "chunk_start"), _check(target, "target")).astype(np.float64)


def target_from_action(action, mode: ArmActionMode, *, current=None, chunk_start=None) -> np.ndarray:
    """Absolute target pose (6,) of one arm action.

    current: the pose reached now (needed for ``delta``); chunk_start: the pose when the chunk began (``relative``).
    """
    from lad_core.policy.actions import apply_delta, apply_relative

    action = _check(action, "arm action")
    if mode == "absolute":
        return action
    if mode == "delta":
        if current is None:
            raise InputError("a 'delta' arm action needs the current pose")
        return apply_delta(_check(current, "current"), action).astype(np.float64)
    if mode == "relative":
        if chunk_start is None:
            raise InputError("a 'relative' arm action needs the pose at the start of the chunk")
        return apply_relative(_check(chunk_start, "chunk_start"), action).astype(np.float64)
    raise InputError(f"unknown arm action mode {mode!r}; expected one of {ARM_ACTION_MODES}")


def limit_joint_step(target: np.ndarray, current: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                     max_velocity: np.ndarray, dt: float, margin: float = 1e-3) -> tuple[np.ndarray, bool]:
    """Clip joint targets to ``[lower + margin, upper - margin]`` and to ``max_velocity * dt`` away from ``current``.

    Returns (safe target, True if anything was clipped)."""
    clipped = np.clip(target, lower + margin, upper - margin)
    step = np.clip(clipped - current, -max_velocity * dt, max_velocity * dt)
    safe = current + step
    safe = np.clip(safe, lower + margin, upper - margin)
    return safe, bool(np.any(np.abs(safe - target) > 1e-9))
