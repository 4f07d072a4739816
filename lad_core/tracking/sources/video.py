"""Video files through OpenCV, paced at their own frame rate or decoded as fast as possible."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lad_core.errors import InputError
from lad_core.tracking.sources.base import FrameSource, Pacer
from lad_core.tracking.types import SourceFrame


class VideoFileSource(FrameSource):
    """Frames of a video file as RGB, with media timestamps (index / fps).

    realtime: sleep so frames come at the file's frame rate (like a camera); otherwise as fast as decoding goes.
    width/height: resize every frame (both or neither). step: keep every step-th frame. loop: start over at the end.
    A missing, unreadable or empty file raises `InputError` naming it.
    """

    name = "video"

    def __init__(self, path: str | Path, *, realtime: bool = False, width: int | None = None, height: int | None = None,
                 step: int = 1, loop: bool = False, max_frames: int | None = None, **_ignored: object):  # fmt: skip
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"video {self.path}: file not found")
        if not self.path.is_file():
            raise InputError(f"video {self.path}: not a file")
        if (width is None) != (height is None):
            raise InputError(f"video {self.path}: give both width and height to resize, got {width}x{height}")
        if int(step) < 1:
            raise InputError(f"video {self.path}: step must be >= 1, got {step}")
        self.realtime, self.width, self.height = bool(realtime), width, height
        self.step, self.loop, self.max_frames = int(step), bool(loop), max_frames
        self.live = self.realtime
        self.fps, self.frame_count, self.size = self._probe()

    def _capture(self):
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise InputError(f"video {self.path}: cannot be opened as a video (corrupt or unsupported format)")
        return cap

    def _probe(self) -> tuple[float, int, tuple[int, int]]:
        import cv2

        cap = self._capture()
        try:
            ok, frame = cap.read()
            if not ok or frame is None:
                raise InputError(f"video {self.path}: no decodable frame (corrupt or empty file)")
            fps = cap.get(cv2.CAP_PROP_FPS)
            fps = float(fps) if fps and 1.0 <= fps <= 1000.0 else 30.0
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            return fps, count, (int(frame.shape[1]), int(frame.shape[0]))
        finally:
            cap.release()

    def _frames(self) -> Iterator[SourceFrame]:
        import cv2

        pacer = Pacer() if self.realtime else None
        emitted = 0
        offset = 0.0
        while True:
            cap = self._capture()
            raw = 0
            try:
                while True:
                    ok, bgr = cap.read()
                    if not ok or bgr is None:
                        break
                    raw += 1
                    if (raw - 1) % self.step:
                        continue
                    t = offset + (raw - 1) / self.fps
                    if pacer is not None:
                        pacer.wait(t)
                    if self.width:
                        bgr = cv2.resize(bgr, (int(self.width), int(self.height)), interpolation=cv2.INTER_AREA)
                    yield SourceFrame(index=emitted, timestamp=t, image=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                    emitted += 1
                    if self.max_frames is not None and emitted >= self.max_frames:
                        return
            finally:
                cap.release()
            if raw == 0:
                raise InputError(f"video {self.path}: no decodable frame")
            if not self.loop:
                return
            offset += raw / self.fps

    def describe(self) -> str:
        return f"video {self.path.name} ({self.size[0]}x{self.size[1]} @ {self.fps:g} fps)"
