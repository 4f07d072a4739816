"""What the 3D views draw: points, the bones between them and the keyvector end points, for human and robot hands.

Robots are drawn as their link origins joined parent -> child (a line skeleton of the URDF tree), which stays cheap
enough for software OpenGL at video rates. All positions are in the canonical wrist frame, metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lad_core.embodiments import human
from lad_core.kinematics.keyvectors import HUMAN_POINT_LANDMARKS, KEYVECTOR_MATRIX

# Keyvector k joins points KEYVECTOR_PAIRS[k] of [palm, thumb, index, middle, ring, little].
KEYVECTOR_PAIRS = np.array([(int(np.flatnonzero(row < 0)[0]), int(np.flatnonzero(row > 0)[0])) for row in KEYVECTOR_MATRIX])
HUMAN_SEGMENTS = np.array([(p, j) for j, p in enumerate(human.PARENTS) if p >= 0])


@dataclass(frozen=True)
class HandDrawing:
    """points (N, 3), segments (M, 2) indices into points, kv_points (6, 3) palm + fingertips or None."""

    points: np.ndarray
    segments: np.ndarray
    kv_points: np.ndarray | None = None


def human_drawing(landmarks: np.ndarray) -> HandDrawing:
    pts = np.asarray(landmarks, dtype=np.float64).reshape(21, 3)
    return HandDrawing(pts, HUMAN_SEGMENTS, pts[list(HUMAN_POINT_LANDMARKS)])


class RobotGeometry:
    """Link-origin skeleton of one registered robot embodiment; `draw(q)` -> HandDrawing."""

    def __init__(self, name: str):
        from lad_core.kinematics import load_kinematics

        self.name = name
        self.kin = load_kinematics(name)
        parent = self.kin.tree.parent
        self.segments = np.array([(int(p), i) for i, p in enumerate(parent) if p >= 0])
        self.has_keyvectors = self.kin.spec.kind == "hand"

    def draw(self, q) -> HandDrawing:
        q = np.clip(np.asarray(q, dtype=np.float64), self.kin.lower, self.kin.upper)
        pts = self.kin.link_transforms(q)[:, :3, 3]
        kv = self.kin.points(q) if self.has_keyvectors else None
        return HandDrawing(pts, self.segments, kv)


def robot_drawing(name: str, q) -> HandDrawing:
    return RobotGeometry(name).draw(q)
