"""Operator hand -> robot targets: the wrist pose mapped to an arm target (clutch + motion scaling) and the
tracked hand retargeted to the end-effector's joints.

Frames: the tracked wrist pose is relative to the calibration (``lad_core.tracking``: OpenCV camera axes, x right,
y down, z away from the camera). ``camera_to_robot`` (3x3) expresses those axes in the robot base frame; the
default assumes the camera faces the operator, who looks the same way as the robot: moving the hand towards the
camera (-z) moves the robot forward (+x), to the operator's right (the image's left, -x) moves the robot to its
right (-y), up in the image (-y) moves it up (+z).

Clutch: while disengaged (or while the hand is lost) the arm target holds. On engaging, the current hand pose and
the current arm target become anchors; from then on the arm follows the hand's motion *relative to the anchor*,
scaled by ``motion_scale``, so the operator can disengage, move the hand back, and engage again (like lifting a
mouse). Rotations are applied unscaled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from lad_core.errors import ConfigError

DEFAULT_CAMERA_TO_ROBOT = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class TeleopInput:
    """What the operator does in one tick. ``landmarks`` None or ``wrist_*`` None: not tracked this tick."""

    timestamp: float
    landmarks: np.ndarray | None  # (21, 3) canonical wrist frame, metres
    wrist_position: np.ndarray | None = None  # (3,) relative to the calibration, camera axes, metres
    wrist_rotation: np.ndarray | None = None  # (3, 3) relative rotation R R_calib^T, camera axes
    clutch: bool = True  # the operator holds the clutch engaged


@dataclass
class ArmMapperConfig:
    motion_scale: float = 1.0
    camera_to_robot: np.ndarray = field(default_factory=lambda: DEFAULT_CAMERA_TO_ROBOT.copy())
    workspace_lower: tuple[float, float, float] = (0.25, -0.45, 0.03)
    workspace_upper: tuple[float, float, float] = (0.75, 0.45, 0.7)
    follow_rotation: bool = True

    def __post_init__(self) -> None:
        if not (np.isfinite(self.motion_scale) and self.motion_scale > 0):
            raise ConfigError(f"must be > 0, got {self.motion_scale}", field="motion_scale")
        m = np.asarray(self.camera_to_robot, dtype=np.float64)
        if m.shape != (3, 3) or not np.allclose(m @ m.T, np.eye(3), atol=1e-6) or np.linalg.det(m) < 0:
            raise ConfigError("must be a 3x3 rotation matrix", field="camera_to_robot")
        self.camera_to_robot = m
        if np.any(np.asarray(self.workspace_lower) >= np.asarray(self.workspace_upper)):
            raise ConfigError(f"lower {self.workspace_lower} must be below upper {self.workspace_upper}",
                              field="workspace_lower")


@dataclass
class ArmMapResult:
    target_position: np.ndarray  # (3,) robot base frame
    target_rotation: np.ndarray  # (3, 3)
    engaged: bool  # the arm is following the hand this tick
    clamped: bool  # the target was clamped to the workspace


class ArmMapper:
    """Stateful clutch + scaling. ``reset(position, rotation)`` sets the held target and clears the anchors."""

    def __init__(self, config: ArmMapperConfig | None = None):
        self.config = config or ArmMapperConfig()
        self._target_p: np.ndarray | None = None
        self._target_r: np.ndarray | None = None
        self._anchor: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def reset(self, position: np.ndarray, rotation: np.ndarray) -> None:
        self._target_p = np.asarray(position, dtype=np.float64).copy()
        self._target_r = np.asarray(rotation, dtype=np.float64).copy()
        self._anchor = None

    @property
    def engaged(self) -> bool:
        return self._anchor is not None

    def update(self, inp: TeleopInput) -> ArmMapResult:
        if self._target_p is None:
            raise ConfigError("ArmMapper.reset(position, rotation) must be called with the robot's pose first")
        tracked = inp.wrist_position is not None and inp.wrist_rotation is not None
        if not (inp.clutch and tracked):
            self._anchor = None  # release: the next engage re-anchors
            return ArmMapResult(self._target_p.copy(), self._target_r.copy(), False, False)
        hand_p = np.asarray(inp.wrist_position, dtype=np.float64)
        hand_r = np.asarray(inp.wrist_rotation, dtype=np.float64)
        if self._anchor is None:
            self._anchor = (hand_p, hand_r, self._target_p.copy(), self._target_r.copy())
        hp0, hr0, rp0, rr0 = self._anchor
        m = self.config.camera_to_robot
        pos = rp0 + self.config.motion_scale * (m @ (hand_p - hp0))
        lo, hi = np.asarray(self.config.workspace_lower), np.asarray(self.config.workspace_upper)
        clamped = bool(np.any(pos < lo) or np.any(pos > hi))
        pos = np.clip(pos, lo, hi)
        rot = rr0
        if self.config.follow_rotation:
            delta = m @ (hand_r @ hr0.T) @ m.T  # the hand's rotation since the anchor, in robot axes
            rot = Rotation.from_matrix(delta @ rr0).as_matrix()  # re-orthonormalised
        self._target_p, self._target_r = pos, rot
        return ArmMapResult(pos.copy(), rot.copy(), True, clamped)


def input_from_tracking(frame, calibration=None, *, clutch: bool = True) -> TeleopInput:
    """A ``lad_core.tracking.TrackedFrame`` (+ the ``HandCalibration`` with its reference wrist pose) -> input.

    The wrist pose is made relative to the calibration's; without one (or without a wrist pose this frame) only
    the hand joints are driven."""
    landmarks = frame.canonical if (frame.present and frame.canonical is not None) else None
    pos = rot = None
    ref = getattr(calibration, "wrist_pose", None)
    if landmarks is not None and frame.wrist_pose is not None and ref is not None:
        pos = np.asarray(frame.wrist_pose.translation, float) - np.asarray(ref.translation, float)
        rot = np.asarray(frame.wrist_pose.rotation, float) @ np.asarray(ref.rotation, float).T
    return TeleopInput(float(frame.timestamp), landmarks, pos, rot, clutch)
