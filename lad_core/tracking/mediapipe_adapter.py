"""The only module that touches MediaPipe: a HandLandmarker wrapper that returns our `HandObservation`s.

MediaPipe 1.x's `close()` can block for about ten seconds (a DNS lookup in its telemetry teardown), so a detector is
never closed per frame and `close()` here hands the real close to a background daemon thread and returns at once.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Literal

import numpy as np

from lad_core.errors import InputError
from lad_core.tracking.model_setup import default_model_path, verify_model
from lad_core.tracking.types import HandObservation

log = logging.getLogger(__name__)

Mode = Literal["video", "image"]


class MediaPipeHandDetector:
    """MediaPipe Tasks HandLandmarker in VIDEO (tracking across frames) or IMAGE (independent photos) mode.

    `detect(rgb, timestamp)` takes an (H, W, 3) uint8 RGB array and a time in seconds (strictly increasing in VIDEO
    mode; a repeated or decreasing time is bumped by 1 ms) and returns a tuple of observations, best score first.
    Not thread-safe: use one detector from one thread.

    zoom_search (IMAGE mode): when nothing is found in a photo, look again in overlapping crops (60 % and 40 % of
    the image) and keep the best-scoring hand. The palm detector sees a 192x192 image, so a hand that is small in a large
    photo is found once it fills more of the crop. Image landmarks are mapped back to the full image.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        mode: Mode = "video",
        num_hands: int = 2,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        zoom_search: bool = False,
    ):
        if mode not in ("video", "image"):
            raise InputError(f"detector mode must be 'video' or 'image', got {mode!r}")
        self.model_path = verify_model(model_path if model_path is not None else default_model_path())
        self.mode = mode
        self.zoom_search = bool(zoom_search) and mode == "image"
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        options = vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE,
            num_hands=int(num_hands),
            min_hand_detection_confidence=min_detection_confidence,
            min_hand_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        try:
            self._landmarker = vision.HandLandmarker.create_from_options(options)
        except Exception as exc:  # mediapipe raises RuntimeError/ValueError with C++ messages
            from lad_core.tracking.model_setup import HandModelError

            raise HandModelError(self.model_path, f"MediaPipe could not load it ({exc})") from exc
        self._last_ms = -1
        self._closed = False

    def detect(self, rgb: np.ndarray, timestamp: float = 0.0) -> tuple[HandObservation, ...]:
        if self._closed:
            raise RuntimeError("detector is closed")
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise InputError(f"image: expected an (H, W, 3) uint8 RGB array, got {rgb.shape} {rgb.dtype}")
        height, width = rgb.shape[:2]
        hands = self._run(rgb, timestamp, (width, height))
        if not hands and self.zoom_search:
            hands = self._zoom_search(rgb, timestamp)
        return hands

    def _run(self, rgb: np.ndarray, timestamp: float, full_size: tuple[int, int],
             offset: tuple[int, int] = (0, 0)) -> tuple[HandObservation, ...]:  # fmt: skip
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self.mode == "video":
            ms = int(round(timestamp * 1000.0))
            if ms <= self._last_ms:
                ms = self._last_ms + 1
            self._last_ms = ms
            result = self._landmarker.detect_for_video(image, ms)
        else:
            result = self._landmarker.detect(image)
        height, width = rgb.shape[:2]
        full_w, full_h = full_size
        hands = []
        for img_lms, world_lms, categories in zip(result.hand_landmarks, result.hand_world_landmarks, result.handedness):
            best = max(categories, key=lambda c: c.score)
            label = (best.category_name or best.display_name or "").lower()
            if label not in ("right", "left"):
                continue
            image_lms = np.array([[p.x, p.y, p.z] for p in img_lms], dtype=np.float64)
            if (width, height) != full_size or offset != (0, 0):  # crop coordinates -> full-image coordinates
                image_lms[:, 0] = (image_lms[:, 0] * width + offset[0]) / full_w
                image_lms[:, 1] = (image_lms[:, 1] * height + offset[1]) / full_h
                image_lms[:, 2] *= width / full_w
            hands.append(
                HandObservation(
                    timestamp=float(timestamp),
                    image_landmarks=image_lms,
                    world_landmarks=np.array([[p.x, p.y, p.z] for p in world_lms], dtype=np.float64),
                    handedness=label,  # type: ignore[arg-type]
                    score=float(best.score),
                    image_size=(int(full_w), int(full_h)),
                )
            )
        hands.sort(key=lambda h: -h.score)
        return tuple(hands)

    def _zoom_search(self, rgb: np.ndarray, timestamp: float) -> tuple[HandObservation, ...]:
        """Overlapping crops at two scales (60 % of the image on a 3x3 grid, 40 % on a 4x4 grid); best score wins."""
        height, width = rgb.shape[:2]
        best: tuple[HandObservation, ...] = ()
        for frac, steps in ((0.6, 3), (0.4, 4)):
            crop_w, crop_h = int(frac * width), int(frac * height)
            for fy in np.linspace(0.0, 1.0 - frac, steps):
                for fx in np.linspace(0.0, 1.0 - frac, steps):
                    x0, y0 = int(fx * width), int(fy * height)
                    found = self._run(rgb[y0 : y0 + crop_h, x0 : x0 + crop_w], timestamp, (width, height), (x0, y0))
                    if found and (not best or found[0].score > best[0].score):
                        best = found
        return best

    def close(self, *, wait: float = 0.0) -> threading.Thread | None:
        """Release MediaPipe in a daemon thread (its close can block ~10 s); wait up to `wait` seconds for it."""
        if self._closed:
            return None
        self._closed = True
        landmarker, self._landmarker = self._landmarker, None

        def _close() -> None:
            try:
                landmarker.close()
            except Exception:  # noqa: BLE001 - a failing close at shutdown is only worth a log line
                log.debug("HandLandmarker.close() failed", exc_info=True)

        thread = threading.Thread(target=_close, name="mediapipe-close", daemon=True)
        thread.start()
        if wait > 0:
            thread.join(wait)
        return thread

    def __enter__(self) -> "MediaPipeHandDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
