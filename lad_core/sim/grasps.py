"""End-effector grasp shapes, made by retargeting human grasps (never typed-in joint numbers).

``grasp_shape(embodiment, pose)`` articulates a named pose of the parametric human hand
(``lad_core.embodiments.human_model``: "open", "power", "fist", "pinch_index", ...) into 21 canonical landmarks and
retargets it to the embodiment with its registered retargeter (keyvectors for hands, thumb distance for the
gripper). Results are cached per process.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=None)
def _shape(embodiment: str, pose: str) -> tuple[float, ...]:
    from lad_core.embodiments.human_model import articulate, named_pose
    from lad_core.retarget import build_retargeter

    landmarks = articulate(named_pose(pose))
    return tuple(float(v) for v in build_retargeter(embodiment).retarget_batch(landmarks[None])[0])


def grasp_shape(embodiment: str, pose: str) -> np.ndarray:
    """(J,) actuated joint command of ``embodiment`` for the human hand pose ``pose``."""
    return np.array(_shape(embodiment, pose))


def interpolate(a: np.ndarray, b: np.ndarray, fraction: float) -> np.ndarray:
    """Joint-space blend from ``a`` (fraction 0) to ``b`` (fraction 1)."""
    f = float(np.clip(fraction, 0.0, 1.0))
    return (1.0 - f) * np.asarray(a) + f * np.asarray(b)
