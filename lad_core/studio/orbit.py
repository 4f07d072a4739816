"""An orbit camera and the depth-sorted primitives of a hand drawing, for 3D views painted without OpenGL.

Under Xvfb + Mesa llvmpipe any OpenGL widget makes Qt compose the whole window through software GL (see
benchmarks/README.md, Studio), so the studio's default 3D hand view projects the skeletons itself and paints them
with QPainter. This module is the Qt-free half: `OrbitCamera` (a perspective camera orbiting a target point, with
the mouse gestures as methods) and `depth_sorted` (the bones, joints and keyvectors of a `HandDrawing`, projected and
ordered far to near, the painter's algorithm). Frames and units are the canonical wrist frame's, metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lad_core.studio.geometry import KEYVECTOR_PAIRS, HandDrawing

WORLD_UP = np.array([0.0, 0.0, 1.0])
# Primitive kinds, in the order drawn when two are equally deep.
BONE, KEYVECTOR, JOINT = 0, 1, 2


@dataclass
class OrbitCamera:
    """A perspective camera at `distance` from `target`, placed by azimuth (about +z, from +x) and elevation.

    The default looks at the palm (+x is out of the palm) from a little to the thumb side and above, with the
    fingers (+z) up. `project` maps points to pixels of a `width` x `height` viewport; `orbit`, `pan`, `zoom` and
    `reset` are the mouse gestures. One camera shared by several viewports links them.
    """

    azimuth: float = math.radians(30.0)
    elevation: float = math.radians(18.0)
    distance: float = 0.55
    target: tuple[float, float, float] = (0.0, 0.0, 0.085)
    fov_deg: float = 30.0
    min_distance: float = 0.08
    max_distance: float = 3.0

    def __post_init__(self) -> None:
        self._home = (self.azimuth, self.elevation, self.distance, tuple(self.target))
        self.revision = 0  # bumped by every change, so views know when to redraw
        self._clamp()

    # -------------------------------------------------------------------------------------------- pose
    def _clamp(self) -> None:
        limit = math.radians(85.0)  # away from the poles, where "up" would flip
        self.elevation = min(max(self.elevation, -limit), limit)
        self.distance = min(max(self.distance, self.min_distance), self.max_distance)

    def _pose(self) -> tuple[np.ndarray, np.ndarray]:
        """(eye, basis) for the current pose, cached: views project many times per paint."""
        key = (self.azimuth, self.elevation, self.distance, tuple(self.target))
        if getattr(self, "_cache_key", None) != key:
            ce = math.cos(self.elevation)
            offset = np.array([ce * math.cos(self.azimuth), ce * math.sin(self.azimuth), math.sin(self.elevation)])
            target = np.asarray(self.target, dtype=np.float64)
            eye = target + self.distance * offset
            forward = -offset
            right = np.cross(forward, WORLD_UP)
            right /= np.linalg.norm(right)
            up = np.cross(right, forward)
            self._cache = (eye, np.stack([right, up, forward]))
            self._cache_key = key
        return self._cache

    @property
    def eye(self) -> np.ndarray:
        return self._pose()[0].copy()

    def basis(self) -> np.ndarray:
        """Rows: the camera's right, up and forward (viewing direction) unit vectors in world coordinates."""
        return self._pose()[1].copy()

    def focal_px(self, height: float) -> float:
        return 0.5 * height / math.tan(math.radians(self.fov_deg) / 2)

    def project(self, points: np.ndarray, width: float, height: float) -> tuple[np.ndarray, np.ndarray]:
        """points (N, 3) -> pixel coordinates (N, 2) (x right, y down, origin at the viewport's top left) and
        depth (N,) along the viewing direction in metres. Points behind the camera get depth <= 0."""
        eye, basis = self._pose()
        cam = (np.asarray(points, dtype=np.float64).reshape(-1, 3) - eye) @ basis.T  # (N, 3): right, up, depth
        depth = cam[:, 2]
        f = self.focal_px(height)
        safe = np.where(depth > 1e-6, depth, 1e-6)
        uv = np.empty((len(cam), 2))
        uv[:, 0] = 0.5 * width + f * cam[:, 0] / safe
        uv[:, 1] = 0.5 * height - f * cam[:, 1] / safe
        return uv, depth

    # -------------------------------------------------------------------------------------------- gestures
    def orbit(self, dx_px: float, dy_px: float, *, radians_per_px: float = 0.01) -> None:
        """A drag by (dx, dy) pixels: right turns the scene to the right (the camera to the left), down tilts the
        camera up over the hand."""
        self.azimuth = (self.azimuth - dx_px * radians_per_px) % (2 * math.pi)
        self.elevation += dy_px * radians_per_px
        self._changed()

    def pan(self, dx_px: float, dy_px: float, height: float) -> None:
        """Moves the target so that the scene follows a drag of (dx, dy) pixels in a viewport `height` tall."""
        metres_per_px = self.distance / self.focal_px(height)
        right, up, _ = self.basis()
        shift = (-dx_px * right + dy_px * up) * metres_per_px
        self.target = tuple(float(v) for v in np.asarray(self.target) + shift)
        self._changed()

    def zoom(self, factor: float) -> None:
        """factor > 1 moves closer (the hand grows on screen), < 1 moves away; clamped to the distance limits."""
        if factor <= 0:
            raise ValueError(f"zoom factor must be > 0, got {factor}")
        self.distance /= factor
        self._changed()

    def state(self) -> dict:
        """The pose as plain numbers (for settings files); `set_state` restores it."""
        return {"azimuth": self.azimuth, "elevation": self.elevation, "distance": self.distance,
                "target": list(self.target)}

    def set_state(self, state: dict) -> None:
        """Restores a `state()`; raises ValueError naming the field when one is missing or not a finite number."""
        try:
            values = [float(state[k]) for k in ("azimuth", "elevation", "distance")]
            target = tuple(float(v) for v in state["target"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"camera state needs numbers azimuth, elevation, distance and target[3]: {exc}") from None
        if len(target) != 3 or not np.isfinite([*values, *target]).all():
            raise ValueError(f"camera state has a non-finite value or a target of {len(target)} numbers: {state}")
        self.azimuth, self.elevation, self.distance = values
        self.target = target
        self._changed()

    def reset(self) -> None:
        self.azimuth, self.elevation, self.distance, self.target = self._home
        self._changed()

    def _changed(self) -> None:
        self._clamp()
        self.revision += 1


@dataclass(frozen=True)
class Primitives:
    """A projected hand, ordered far to near. kind (P,) BONE/KEYVECTOR/JOINT, a (P, 2) and b (P, 2) pixel end
    points (a == b for joints), depth (P,) metres, shade (P,) in [0, 1], 0 for the nearest primitive, 1 the farthest."""

    kind: np.ndarray
    a: np.ndarray
    b: np.ndarray
    depth: np.ndarray
    shade: np.ndarray


def depth_sorted(drawing: HandDrawing, camera: OrbitCamera, width: float, height: float) -> Primitives:
    """The bones, keyvectors (palm -> fingertip pairs) and joints of `drawing`, projected by `camera` into a
    `width` x `height` viewport and sorted far to near; primitives behind the camera or touching a non-finite point
    (a landmark that was not seen) are dropped."""
    uv, depth = camera.project(drawing.points, width, height)
    seg = np.asarray(drawing.segments, dtype=np.int64).reshape(-1, 2)
    kinds = [np.full(len(seg), BONE), np.full(len(uv), JOINT)]
    a = [uv[seg[:, 0]], uv]
    b = [uv[seg[:, 1]], uv]
    d = [0.5 * (depth[seg[:, 0]] + depth[seg[:, 1]]), depth]
    visible = [np.minimum(depth[seg[:, 0]], depth[seg[:, 1]]) > 0, depth > 0]
    if drawing.kv_points is not None:
        kuv, kdepth = camera.project(drawing.kv_points, width, height)
        pairs = KEYVECTOR_PAIRS
        kinds.append(np.full(len(pairs), KEYVECTOR))
        a.append(kuv[pairs[:, 0]])
        b.append(kuv[pairs[:, 1]])
        d.append(0.5 * (kdepth[pairs[:, 0]] + kdepth[pairs[:, 1]]))
        visible.append(np.minimum(kdepth[pairs[:, 0]], kdepth[pairs[:, 1]]) > 0)
    kind, a_, b_, dd = np.concatenate(kinds), np.concatenate(a), np.concatenate(b), np.concatenate(d)
    keep = np.concatenate(visible)
    finite = np.isfinite(np.concatenate(d)) & np.isfinite(np.concatenate(a)).all(1)
    keep &= finite & np.isfinite(np.concatenate(b)).all(1)
    kind, a_, b_, dd = kind[keep], a_[keep], b_[keep], dd[keep]
    # Far to near; at equal depth bones first, joints last (a joint sits on top of its bones).
    order = np.lexsort((kind, -dd))
    kind, a_, b_, dd = kind[order], a_[order], b_[order], dd[order]
    span = float(dd.max() - dd.min()) if len(dd) else 0.0
    shade = (dd - dd.min()) / span if span > 1e-9 else np.zeros_like(dd)
    return Primitives(kind, a_, b_, dd, shade)
