"""Live hand tracking: frame sources, the MediaPipe adapter, steadiness (One Euro, bone-length rejection, loss
state), the canonical wrist frame and theta_H, the wrist pose, and a threaded pipeline.

Light to import: the heavy pieces (mediapipe, cv2, h5py) load only when a source, detector or recording is used.

    from lad_core.tracking import TrackingConfig, TrackingPipeline, open_source
    with TrackingPipeline(open_source("synthetic")) as pipe:
        frame = pipe.latest()
"""

from __future__ import annotations

from lad_core.tracking.filters import OneEuroFilter, OneEuroParams
from lad_core.tracking.model_setup import HandModelError, default_model_path, ensure_model, verify_model
from lad_core.tracking.pipeline import TrackingPipeline, track
from lad_core.tracking.processing import HandCalibration, HandProcessor, TrackingConfig
from lad_core.tracking.sources.base import FrameSource, available_sources, open_source
from lad_core.tracking.types import HandObservation, SourceFrame, TrackedFrame, WristPose
from lad_core.tracking.wrist_pose import CameraIntrinsics

__all__ = [
    "CameraIntrinsics", "FrameSource", "HandCalibration", "HandModelError", "HandObservation", "HandProcessor",
    "OneEuroFilter", "OneEuroParams", "SourceFrame", "TrackedFrame", "TrackingConfig", "TrackingPipeline",
    "WristPose", "available_sources", "default_model_path", "ensure_model", "open_source", "track", "verify_model",
]  # fmt: skip
