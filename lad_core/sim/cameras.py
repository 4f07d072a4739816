"""RGB cameras of a scene: one fixed external camera and one on the end-effector's wrist.

TinyRenderer (CPU, headless) is the default. ``renderer="egl"`` loads pybullet's EGL plugin (hardware OpenGL
without a display) when it is available and falls back to TinyRenderer with a logged warning otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

EXTERNAL_EYE = (1.0, -0.05, 0.45)
EXTERNAL_TARGET = (0.5, 0.0, 0.05)


@dataclass(frozen=True)
class WristMount:
    """Camera eye and look-at point in the end-effector's wrist frame, and the frame axis that is image-up."""

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    up: tuple[float, float, float]


# Hands: on the back of the hand (-x), looking past the fingertips into the space in front of the palm (+x).
HAND_WRIST_MOUNT = WristMount(eye=(-0.05, 0.0, -0.02), target=(0.08, 0.0, 0.14), up=(-1.0, 0.0, 0.0))
# Gripper: beside the palm, looking down the fingers.
GRIPPER_WRIST_MOUNT = WristMount(eye=(0.06, 0.0, 0.02), target=(0.0, 0.0, 0.16), up=(1.0, 0.0, 0.0))


def load_egl(client: int) -> bool:
    """Try pybullet's EGL renderer plugin; True when loaded."""
    import pkgutil

    import pybullet as p

    try:
        loader = pkgutil.get_loader("eglRenderer")
        if loader is None:
            return False
        plugin = p.loadPlugin(loader.get_filename(), "_eglRendererPlugin", physicsClientId=client)
    except Exception as exc:  # pragma: no cover - depends on the machine's GL stack
        log.warning("EGL renderer unavailable (%s); using TinyRenderer", exc)
        return False
    if plugin < 0:
        log.warning("EGL renderer plugin failed to load; using TinyRenderer")
        return False
    return True


class Cameras:
    """Renders the external and wrist cameras of one pybullet client; images are uint8 (H, W, 3)."""

    def __init__(self, client: int, size: tuple[int, int], names: tuple[str, ...], wrist_mount: WristMount,
                 renderer: str = "tiny", fov_deg: float = 58.0):
        import pybullet as p

        self.client = client
        self.height, self.width = int(size[0]), int(size[1])
        self.names = tuple(names)
        self.mount = wrist_mount
        self.egl = renderer == "egl" and load_egl(client)
        self._renderer = p.ER_BULLET_HARDWARE_OPENGL if self.egl else p.ER_TINY_RENDERER
        aspect = self.width / self.height
        self._proj = p.computeProjectionMatrixFOV(fov_deg, aspect, 0.01, 3.0)
        self._external_view = p.computeViewMatrix(EXTERNAL_EYE, EXTERNAL_TARGET, (0, 0, 1))

    def _render(self, view) -> np.ndarray:
        import pybullet as p

        _, _, rgba, _, _ = p.getCameraImage(self.width, self.height, view, self._proj, renderer=self._renderer,
                                            flags=p.ER_NO_SEGMENTATION_MASK, physicsClientId=self.client)
        return np.asarray(rgba, dtype=np.uint8).reshape(self.height, self.width, 4)[..., :3].copy()

    def wrist_view(self, ee_position: np.ndarray, ee_rotation: np.ndarray):
        import pybullet as p

        eye = ee_position + ee_rotation @ np.asarray(self.mount.eye)
        target = ee_position + ee_rotation @ np.asarray(self.mount.target)
        up = ee_rotation @ np.asarray(self.mount.up)
        return p.computeViewMatrix(eye.tolist(), target.tolist(), up.tolist())

    def render(self, ee_position: np.ndarray, ee_rotation: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for name in self.names:
            view = self._external_view if name == "external" else self.wrist_view(ee_position, ee_rotation)
            out[name] = self._render(view)
        return out
