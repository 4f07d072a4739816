"""The wrist's 6-DoF pose relative to the camera, from image + world landmarks with OpenCV's solvePnP.

MediaPipe's world landmarks are a metric hand model in a hand-centred frame; the image landmarks are where the same
points appear in the picture. solvePnP finds the rigid transform (R, t) with camera = R @ world + t, from which the
wrist position is R @ world[0] + t and the wrist axes are R applied to the canonical axes. Without a calibrated
camera the intrinsics come from a field of view (a typical webcam is 60-70 degrees horizontally).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lad_core.errors import ConfigError
from lad_core.tracking.types import WristPose

_MIRROR_Y = np.diag([1.0, -1.0, 1.0])


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics in pixels (no distortion)."""

    fx: float
    fy: float
    cx: float
    cy: float

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float = 65.0) -> "CameraIntrinsics":
        if not (1.0 <= hfov_deg < 179.0):
            raise ConfigError(f"must be within [1, 179) degrees, got {hfov_deg!r}", field="hfov_deg")
        f = 0.5 * width / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(fx=f, fy=f, cx=0.5 * width, cy=0.5 * height)

    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


def wrist_axes(world_rotation: np.ndarray, handedness: str) -> np.ndarray:
    """Proper rotation whose columns are the wrist axes in the detector frame, from `canonicalize`'s rotation.

    For a right hand it is that rotation; a left hand's canonical rotation includes the mirror onto a right hand,
    which is undone here so the result is a rotation (y then points to the little-finger side).
    """
    return world_rotation @ _MIRROR_Y if handedness == "left" else world_rotation


def solve_wrist_pose(
    image_landmarks: np.ndarray,
    world_landmarks: np.ndarray,
    image_size: tuple[int, int],
    wrist_rotation_world: np.ndarray,
    intrinsics: CameraIntrinsics | None = None,
    *,
    hfov_deg: float = 65.0,
    initial: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[WristPose, tuple[np.ndarray, np.ndarray]] | None:
    """Fit the camera-from-hand transform; return (WristPose, (rvec, tvec) for warm starts) or None on failure.

    image_landmarks: (21, 3) normalised (x, y in [0, 1]); world_landmarks: (21, 3) metres;
    wrist_rotation_world: (3, 3) proper rotation, wrist axes in the world-landmark frame (see `wrist_axes`).
    """
    import cv2

    width, height = image_size
    k = (intrinsics or CameraIntrinsics.from_fov(width, height, hfov_deg)).matrix()
    obj = np.ascontiguousarray(world_landmarks, dtype=np.float64).reshape(-1, 1, 3)
    img = np.ascontiguousarray(image_landmarks[:, :2] * np.array([width, height], dtype=np.float64)).reshape(-1, 1, 2)
    dist = np.zeros(4)
    if initial is not None:
        ok, rvec, tvec = cv2.solvePnP(obj, img, k, dist, rvec=initial[0].copy(), tvec=initial[1].copy(),
                                      useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)  # fmt: skip
    else:
        ok, rvec, tvec = cv2.solvePnP(obj, img, k, dist, flags=cv2.SOLVEPNP_SQPNP)
    if not ok or not np.all(np.isfinite(tvec)):
        return None
    if float(tvec[2, 0]) <= 0:  # behind the camera: a mirror solution, retry without the warm start
        if initial is None:
            return None
        return solve_wrist_pose(image_landmarks, world_landmarks, image_size, wrist_rotation_world, intrinsics,
                                hfov_deg=hfov_deg)  # fmt: skip
    rot, _ = cv2.Rodrigues(rvec)
    projected, _ = cv2.projectPoints(obj, rvec, tvec, k, dist)
    error = float(np.linalg.norm(projected.reshape(-1, 2) - img.reshape(-1, 2), axis=1).mean())
    translation = rot @ np.asarray(world_landmarks[0], dtype=np.float64) + tvec.reshape(3)
    pose = WristPose(rotation=rot @ wrist_rotation_world, translation=translation, reprojection_error=error)
    return pose, (rvec, tvec)


def relative_pose(pose: WristPose, reference: WristPose) -> WristPose:
    """`pose` expressed in the reference wrist frame (what an arm teleoperation maps onto the robot's start pose)."""
    r_ref = reference.rotation
    return WristPose(rotation=r_ref.T @ pose.rotation, translation=r_ref.T @ (pose.translation - reference.translation),
                     reprojection_error=pose.reprojection_error)  # fmt: skip
