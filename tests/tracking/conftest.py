"""Fixtures of the tracking tests: the hand model, the real video tracked once per session, the real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

VIDEO_SIZE = (640, 360)  # the 1280x720 video at half size: same accuracy against joints.npy, a quarter of the decode


@pytest.fixture(scope="session")
def hand_model() -> Path:
    """The assembled hand_landmarker.task (`make model` builds it; built here when missing, which needs pip)."""
    from lad_core.tracking.model_setup import HandModelError, ensure_model, verify_model

    try:
        return verify_model()
    except HandModelError:
        return ensure_model()


@pytest.fixture(scope="session")
def video_path(shared_data) -> Path:
    return shared_data / "video" / "human_hand_video.mp4"


@pytest.fixture(scope="session")
def video_hands(hand_model, video_path):
    """Every frame of the real video through MediaPipe (VIDEO mode) once: list of (SourceFrame without image, hands)."""
    from lad_core.tracking.mediapipe_adapter import MediaPipeHandDetector
    from lad_core.tracking.sources.video import VideoFileSource

    source = VideoFileSource(video_path, width=VIDEO_SIZE[0], height=VIDEO_SIZE[1])
    out = []
    with MediaPipeHandDetector(hand_model, mode="video", num_hands=2) as detector:
        for frame in source:
            out.append((frame.index, frame.timestamp, detector.detect(frame.image, frame.timestamp)))
    return out


@pytest.fixture(scope="session")
def photo_hands(hand_model, shared_data):
    """{"four"|"call": [(path, hands)]} for the 20 real photos, IMAGE mode with the small-hand zoom search."""
    from lad_core.tracking.mediapipe_adapter import MediaPipeHandDetector
    from lad_core.tracking.sources.images import ImageFolderSource

    result: dict[str, list] = {}
    with MediaPipeHandDetector(hand_model, mode="image", num_hands=1, zoom_search=True) as detector:
        for gesture in ("four", "call"):
            source = ImageFolderSource(shared_data / "hands" / "photos" / gesture)
            result[gesture] = [(path, detector.detect(frame.image)) for path, frame in zip(source.paths, source)]
    return result


@pytest.fixture(scope="session")
def finger_curls():
    return _finger_curls


def _finger_curls(theta: np.ndarray) -> dict[str, float]:
    """Flexion (degrees) of each finger read from theta_H: the rotation angles of the local joint rotations distal to
    the palm (thumb: MCP and IP; fingers: PIP and DIP). The joints at the palm also hold the hand's fixed splay, so
    they are left out."""
    from lad_core.embodiments.human import rotation_from_6d

    local = np.asarray(theta, dtype=np.float64).reshape(21, 9)
    rot = np.asarray(rotation_from_6d(local[:, :6]))
    angle = np.degrees(np.arccos(np.clip((np.trace(rot, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0)))
    joints = {"thumb": (2, 3), "index": (6, 7), "middle": (10, 11), "ring": (14, 15), "little": (18, 19)}
    return {finger: float(angle[list(idx)].sum()) for finger, idx in joints.items()}
