"""Small unit-quaternion helpers (``xyzw``, the pybullet order) used by the safety limits and the fake backend."""

from __future__ import annotations

import numpy as np


def normalize(q: np.ndarray) -> np.ndarray:
    """Unit quaternion; raises ValueError for a (near) zero or non-finite one."""
    q = np.asarray(q, dtype=np.float64)
    n = float(np.linalg.norm(q))
    if not np.isfinite(n) or n < 1e-9:
        raise ValueError(f"quaternion {q.tolist()} cannot be normalised")
    return q / n


def angle_between(q0: np.ndarray, q1: np.ndarray) -> float:
    """Rotation angle in radians (0..pi) taking unit quaternion q0 to q1."""
    d = abs(float(np.dot(q0, q1)))
    return 2.0 * float(np.arccos(min(1.0, d)))


def slerp(q0: np.ndarray, q1: np.ndarray, fraction: float) -> np.ndarray:
    """Shortest-path spherical interpolation between unit quaternions; fraction in [0, 1]."""
    q0 = np.asarray(q0, dtype=np.float64)
    q1 = np.asarray(q1, dtype=np.float64)
    d = float(np.dot(q0, q1))
    if d < 0.0:
        q1, d = -q1, -d
    if d > 0.9995:  # nearly equal: linear is exact enough and avoids dividing by sin(~0)
        return normalize(q0 + fraction * (q1 - q0))
    theta = np.arccos(d)
    s = np.sin(theta)
    return (np.sin((1.0 - fraction) * theta) / s) * q0 + (np.sin(fraction * theta) / s) * q1


def step_towards(current: np.ndarray, target: np.ndarray, max_angle: float) -> tuple[np.ndarray, bool]:
    """Rotate from ``current`` towards ``target`` by at most ``max_angle`` radians; returns (q, was_limited)."""
    angle = angle_between(current, target)
    if angle <= max_angle:
        return np.asarray(target, dtype=np.float64), False
    return slerp(current, target, max_angle / angle), True
