"""Our own per-frame data types. MediaPipe, OpenCV and source-specific types never appear here.

Shape legend: 21 landmarks in MediaPipe order (0 wrist, thumb 1-4, index 5-8, middle 9-12, ring 13-16, little 17-20).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Handedness = Literal["right", "left"]
HandChoice = Literal["right", "left", "either"]


@dataclass(frozen=True)
class HandObservation:
    """One hand found in one frame, as the detector reports it (no filtering, no selection).

    image_landmarks: (21, 3) x and y normalised to [0, 1] by the image width and height (x right, y down), z the
        detector's relative depth (same scale as x, smaller is nearer the camera).
    world_landmarks: (21, 3) metres, in the detector's hand-centred metric frame (camera axes, origin near the
        hand's centre). Canonicalisation removes the origin and the rotation.
    handedness: "right" or "left" as the hand really is (a mirrored input is corrected by the pipeline).
    score: the detector's handedness confidence in [0, 1].
    """

    timestamp: float
    image_landmarks: np.ndarray
    world_landmarks: np.ndarray
    handedness: Handedness
    score: float
    image_size: tuple[int, int] | None = None  # (width, height) in pixels; None for sources without images


@dataclass(frozen=True)
class SourceFrame:
    """What a frame source yields: an RGB image to detect hands in, or hands a source already knows.

    Exactly one of `image` (H, W, 3) uint8 RGB and `hands` (a tuple of observations, maybe empty) is set. A source
    that bypasses the detector (synthetic, replay) sets `hands`.
    """

    index: int
    timestamp: float  # seconds since the source started (media time for files)
    image: np.ndarray | None = None
    hands: tuple[HandObservation, ...] | None = None


@dataclass(frozen=True)
class WristPose:
    """The wrist's 6-DoF pose relative to the camera (OpenCV camera axes: x right, y down, z forward).

    rotation: (3, 3) columns are the canonical wrist axes in camera coordinates (for a left hand the y axis points
        to the little-finger side so that the matrix stays a proper rotation).
    translation: (3,) wrist position in metres.
    reprojection_error: mean pixel error of the PnP fit.
    """

    rotation: np.ndarray
    translation: np.ndarray
    reprojection_error: float


@dataclass(frozen=True)
class TrackedFrame:
    """The pipeline's per-frame output.

    present: a valid hand of the followed side was seen in this frame (detected and not rejected).
    lost: no valid hand right now; `canonical`/`theta` then hold the last good pose (None before the first one).
    time_since_loss: seconds since the last valid hand (0 while present).
    rejected: why a detected hand was not used ("bone_length", "handedness") or None.
    canonical: (21, 3) filtered landmarks in the canonical wrist frame (left hands mirrored to right), metres.
    theta: (189,) theta_H of `canonical`.
    """

    index: int
    timestamp: float
    present: bool
    lost: bool
    time_since_loss: float
    handedness: Handedness | None = None
    score: float = 0.0
    num_hands: int = 0
    rejected: str | None = None
    image_landmarks: np.ndarray | None = None
    world_landmarks: np.ndarray | None = None
    canonical: np.ndarray | None = None
    theta: np.ndarray | None = None
    wrist_pose: WristPose | None = None
    image_size: tuple[int, int] | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage: decode, detect, process

    @property
    def has_pose(self) -> bool:
        return self.canonical is not None
