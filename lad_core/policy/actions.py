"""Arm action representations (paper Sec. 7.1.2) as pure numpy functions.

An arm pose is (..., 3) translation or (..., 6) translation + rotation vector, in the arm's base frame, metres and
radians. Two action representations:

* ``delta``: per-step difference of reached poses, ``a_t = p_{t+1} - p_t`` for translation and ``R_{t+1} R_t^-1``
  (in the base frame) for rotation; the step after an episode's end is zero.
* ``relative``: the target pose expressed in the frame of the pose at the start of the action chunk (Chi et al.,
  UMI): translation ``R_0^T (p_k - p_0)``, rotation ``R_0^T R_k``.

:func:`targets_from_actions` inverts both, turning a predicted chunk into absolute arm targets for a controller.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from lad_core.errors import InputError


def _split(pose: np.ndarray) -> tuple[np.ndarray, Rotation | None]:
    pose = np.asarray(pose, dtype=np.float64)
    if pose.shape[-1] not in (3, 6):
        raise InputError(f"arm pose must have 3 or 6 values in its last axis, got shape {pose.shape}")
    if pose.shape[-1] == 3:
        return pose, None
    return pose[..., :3], Rotation.from_rotvec(pose[..., 3:].reshape(-1, 3))


def _join(trans: np.ndarray, rot: Rotation | None, shape: tuple[int, ...]) -> np.ndarray:
    if rot is None:
        return trans.astype(np.float32)
    return np.concatenate([trans, rot.as_rotvec().reshape(*shape[:-1], 3)], axis=-1).astype(np.float32)


def pose_delta(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Delta from pose ``a`` to pose ``b`` in the base frame (same shapes)."""
    ta, ra = _split(a)
    tb, rb = _split(b)
    rot = None if ra is None else rb * ra.inv()
    return _join(tb - ta, rot, np.shape(a))


def apply_delta(a: np.ndarray, delta: np.ndarray) -> np.ndarray:
    ta, ra = _split(a)
    td, rd = _split(delta)
    rot = None if ra is None else rd * ra
    return _join(ta + td, rot, np.shape(a))


def pose_relative(ref: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """``pose`` (..., D) in the frame of ``ref`` (broadcast to ``pose``'s shape)."""
    ref = np.array(np.broadcast_to(np.asarray(ref, dtype=np.float64), np.shape(pose)))
    tr, rr = _split(ref)
    tp, rp = _split(pose)
    if rr is None:
        return _join(tp - tr, None, np.shape(pose))
    trans = rr.inv().apply((tp - tr).reshape(-1, 3)).reshape(tp.shape)
    return _join(trans, rr.inv() * rp, np.shape(pose))


def apply_relative(ref: np.ndarray, rel: np.ndarray) -> np.ndarray:
    ref = np.array(np.broadcast_to(np.asarray(ref, dtype=np.float64), np.shape(rel)))
    tr, rr = _split(ref)
    tl, rl = _split(rel)
    if rr is None:
        return _join(tr + tl, None, np.shape(rel))
    trans = tr + rr.apply(tl.reshape(-1, 3)).reshape(tl.shape)
    return _join(trans, rr * rl, np.shape(rel))


def step_deltas(poses: np.ndarray) -> np.ndarray:
    """(T, D) reached poses -> (T, D) per-step deltas; the last step (no successor) is zero."""
    poses = np.asarray(poses)
    out = np.zeros(poses.shape, dtype=np.float32)
    if len(poses) > 1:
        out[:-1] = pose_delta(poses[:-1], poses[1:])
    return out


def targets_from_actions(actions: np.ndarray, start_pose: np.ndarray, mode: str) -> np.ndarray:
    """(K, D) arm actions of one chunk + the current pose -> (K, D) absolute target poses."""
    actions = np.asarray(actions, dtype=np.float64)
    if mode == "relative":
        return apply_relative(start_pose, actions)
    if mode == "delta":
        out = np.empty(actions.shape, dtype=np.float32)
        pose = np.asarray(start_pose, dtype=np.float64)
        for k, delta in enumerate(actions):
            pose = apply_delta(pose, delta)
            out[k] = pose
        return out
    raise InputError(f"unknown arm action mode {mode!r} (expected 'delta' or 'relative')")
