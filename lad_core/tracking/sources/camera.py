"""Webcam frames through OpenCV (the only place a camera device is opened)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from lad_core.errors import InputError
from lad_core.tracking.sources.base import FrameSource
from lad_core.tracking.types import SourceFrame


class WebcamSource(FrameSource):
    """Camera `index` at the requested resolution and fps (the driver may pick the nearest it supports).

    A camera that does not exist raises `InputError` on open; one that stops delivering frames for `stall_timeout`
    seconds (unplugged) raises `InputError` from the iterator, so a consumer never hangs.
    """

    name = "webcam"
    live = True

    def __init__(self, index: int | str = 0, *, width: int | None = 640, height: int | None = 480, fps: float | None = 30,
                 stall_timeout: float = 2.0, **_ignored: object):  # fmt: skip
        try:
            self.index = int(index)
        except (TypeError, ValueError):
            raise InputError(f"webcam index must be an integer, got {index!r}") from None
        self.width, self.height, self.fps = width, height, fps
        self.stall_timeout = float(stall_timeout)
        self._cap = None
        self._open()  # fail now, on the caller's thread, when the camera does not exist

    def _open(self):
        import cv2

        cvlog = getattr(getattr(cv2, "utils", None), "logging", None)
        previous = cvlog.getLogLevel() if cvlog else None
        if cvlog:  # a missing camera is reported by us, not by a wall of driver warnings
            cvlog.setLogLevel(cvlog.LOG_LEVEL_SILENT)
        try:
            cap = cv2.VideoCapture(self.index)
        finally:
            if cvlog:
                cvlog.setLogLevel(previous)
        if not cap.isOpened():
            cap.release()
            raise InputError(f"webcam {self.index}: no such camera (could not open device index {self.index})")
        if self.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, int(self.width))
        if self.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, int(self.height))
        if self.fps:
            cap.set(cv2.CAP_PROP_FPS, float(self.fps))
        self._cap = cap
        return cap

    def _frames(self) -> Iterator[SourceFrame]:
        import cv2

        cap = self._cap or self._open()
        start = time.monotonic()
        last_ok = start
        index = 0
        try:
            while True:
                ok, bgr = cap.read()
                now = time.monotonic()
                if not ok or bgr is None:
                    if now - last_ok > self.stall_timeout:
                        raise InputError(f"webcam {self.index}: no frames for {self.stall_timeout:.1f} s (disconnected?)")
                    time.sleep(0.01)
                    continue
                last_ok = now
                yield SourceFrame(index=index, timestamp=now - start, image=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                index += 1
        finally:
            self.close()

    def close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()

    def describe(self) -> str:
        return f"webcam {self.index}"
