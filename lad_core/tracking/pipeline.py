"""Tracking off the caller's thread: a capture thread and an inference thread joined by bounded queues.

    source --(capture thread)--> [frames queue] --(inference thread: detector + HandProcessor)--> [output queue]

Live sources (camera, paced video, synthetic) use latest-wins queues of one slot: a slow detector drops stale frames
instead of falling behind, and the consumer only ever sees the newest result. Offline sources (a video decoded as
fast as possible, a replay) default to lossless queues with back-pressure, so a recording gets every frame.

The consumer never blocks: `latest()` returns at once, `get(timeout)` waits at most `timeout`. `stop()` is bounded
in time: threads are daemons that are joined for at most `timeout` seconds, and the MediaPipe detector is closed
in its own daemon thread (its close can block ~10 s), so stopping is safe from a UI thread.

Events (`on_frame(TrackedFrame)`, `on_error(Exception)`, `on_finished()`) fire on the inference thread; a
listener's exception is logged, never propagated.

`track(source, ...)` is the same per-frame loop run synchronously in the caller's thread (tests, benchmarks, CLI).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lad_core.tracking.processing import HandProcessor, TrackingConfig
from lad_core.tracking.sources.base import FrameSource
from lad_core.tracking.types import SourceFrame, TrackedFrame

log = logging.getLogger(__name__)

_END = object()


class BoundedQueue:
    """A small thread-safe queue. latest_wins: `put` never blocks and drops the oldest item when full;
    otherwise `put` waits for room (back-pressure) unless the queue is closed."""

    def __init__(self, maxsize: int = 1, *, latest_wins: bool = True):
        self.maxsize = max(1, int(maxsize))
        self.latest_wins = latest_wins
        self._items: deque[Any] = deque()
        self._cond = threading.Condition()
        self.dropped = 0
        self.closed = False

    def put(self, item: Any, *, force: bool = False) -> bool:
        """Add `item`; returns False when the queue was closed. `force` ignores the bound (end markers)."""
        with self._cond:
            if not force and not self.latest_wins:
                while len(self._items) >= self.maxsize and not self.closed:
                    self._cond.wait(0.1)
            if self.closed and not force:
                return False
            if not force and len(self._items) >= self.maxsize:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> Any:
        """Next item, or raise TimeoutError after `timeout` seconds (None: wait forever, 0: do not wait)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError
                self._cond.wait(remaining)
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


@dataclass
class PipelineStats:
    captured: int = 0
    processed: int = 0
    dropped_capture: int = 0
    dropped_output: int = 0


def make_detector(source: FrameSource, model_path: str | Path | None = None, mode: str | None = None, **options: Any):
    """The MediaPipe detector suited to `source` (IMAGE mode for photo folders), or None for landmark sources."""
    from lad_core.tracking.mediapipe_adapter import MediaPipeHandDetector

    mode = mode or ("image" if getattr(source, "prefers_image_mode", False) else "video")
    if mode == "image":
        options.setdefault("zoom_search", True)  # photos: look again for small hands
    return MediaPipeHandDetector(model_path, mode=mode, **options)  # type: ignore[arg-type]


def _needs_detector(source: FrameSource) -> bool:
    from lad_core.tracking.sources.replay import LandmarkReplaySource
    from lad_core.tracking.sources.synthetic import SyntheticHandSource

    return not isinstance(source, (SyntheticHandSource, LandmarkReplaySource)) and getattr(source, "needs_detector", True)


def process_frame(frame: SourceFrame, detector, processor: HandProcessor) -> TrackedFrame:
    """One frame through detection (when the frame carries an image) and processing."""
    timings: dict[str, float] = {}
    if frame.image is not None:
        if detector is None:
            raise RuntimeError("a frame with an image needs a detector")
        start = time.perf_counter()
        hands = detector.detect(frame.image, frame.timestamp)
        timings["detect"] = time.perf_counter() - start
    else:
        hands = frame.hands or ()
    start = time.perf_counter()
    out = processor.process(hands, frame.timestamp, frame.index, timings)
    out.timings["process"] = time.perf_counter() - start
    return out


def track(source: FrameSource, config: TrackingConfig | None = None, *, detector=None, model_path=None,
          processor: HandProcessor | None = None, close_detector: bool = True) -> Iterator[TrackedFrame]:  # fmt: skip
    """Synchronous tracking in the caller's thread: yields one `TrackedFrame` per source frame."""
    processor = processor or HandProcessor(config)
    own = detector is None and _needs_detector(source)
    if own:
        detector = make_detector(source, model_path)
    try:
        for frame in source:
            yield process_frame(frame, detector, processor)
    finally:
        source.close()
        if own and close_detector and detector is not None:
            detector.close()


class TrackingPipeline:
    """Threaded tracking of one source. Construct, `start()`, read `latest()`/`get()`/`frames()`, then `stop()`.

    lossless: None picks lossless queues for offline sources and latest-wins for live ones (see the module doc).
    detector: an existing detector to use (the pipeline then does not close it); by default one is made on the
    inference thread (MediaPipe objects stay on the thread that uses them).
    """

    def __init__(self, source: FrameSource, config: TrackingConfig | None = None, *, model_path: str | Path | None = None,
                 detector=None, lossless: bool | None = None, queue_size: int | None = None):  # fmt: skip
        self.source = source
        self.processor = HandProcessor(config)
        self.model_path = model_path
        self._detector = detector
        self._own_detector = detector is None
        self.lossless = (not source.live) if lossless is None else bool(lossless)
        size = queue_size or (8 if self.lossless else 1)
        self._frames_q = BoundedQueue(size, latest_wins=not self.lossless)
        self._out_q = BoundedQueue(size, latest_wins=not self.lossless)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._latest: TrackedFrame | None = None
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self.stats = PipelineStats()
        self._listeners: dict[str, list[Callable[..., None]]] = {"frame": [], "error": [], "finished": []}
        self._threads: list[threading.Thread] = []
        self._closer: threading.Thread | None = None

    # ------------------------------------------------------------------------------------------- events
    def on_frame(self, fn: Callable[[TrackedFrame], None]) -> None:
        self._listeners["frame"].append(fn)

    def on_error(self, fn: Callable[[BaseException], None]) -> None:
        self._listeners["error"].append(fn)

    def on_finished(self, fn: Callable[[], None]) -> None:
        self._listeners["finished"].append(fn)

    def _emit(self, kind: str, *args: Any) -> None:
        for fn in list(self._listeners[kind]):
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop tracking
                log.exception("tracking %s listener %r failed", kind, fn)

    # ------------------------------------------------------------------------------------------- threads
    def start(self) -> "TrackingPipeline":
        if self._threads:
            raise RuntimeError("pipeline already started")
        for name, target in (("lad-capture", self._capture_loop), ("lad-inference", self._inference_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
            self._emit("error", exc)

    def _capture_loop(self) -> None:
        try:
            for frame in self.source:
                if self._stop.is_set():
                    break
                self.stats.captured += 1
                if not self._frames_q.put(frame):
                    break
        except Exception as exc:  # noqa: BLE001 - reported to the consumer, never raised on this thread
            log.debug("capture failed", exc_info=True)
            self._fail(exc)
        finally:
            try:
                self.source.close()
            except Exception:  # noqa: BLE001
                log.debug("source close failed", exc_info=True)
            self._frames_q.put(_END, force=True)

    def _inference_loop(self) -> None:
        detector = self._detector
        try:
            if detector is None and _needs_detector(self.source):
                detector = self._detector = make_detector(self.source, self.model_path)
            while not self._stop.is_set():
                try:
                    item = self._frames_q.get(timeout=0.1)
                except TimeoutError:
                    continue
                if item is _END:
                    break
                with self._lock:
                    out = process_frame(item, detector, self.processor)
                    self._latest = out
                self.stats.processed += 1
                self._out_q.put(out)
                self._emit("frame", out)
        except Exception as exc:  # noqa: BLE001
            log.debug("inference failed", exc_info=True)
            self._fail(exc)
            self._stop.set()
            self._frames_q.close()
        finally:
            self.stats.dropped_capture = self._frames_q.dropped
            self.stats.dropped_output = self._out_q.dropped
            if self._own_detector and detector is not None:
                self._closer = detector.close()  # returns at once; the real close runs in a daemon thread
            self._out_q.put(_END, force=True)
            self.finished.set()
            self._emit("finished")

    # ------------------------------------------------------------------------------------------- consumer side
    def latest(self) -> TrackedFrame | None:
        """The newest processed frame (never blocks)."""
        return self._latest

    def get(self, timeout: float = 0.0) -> TrackedFrame | None:
        """The next frame from the output queue, or None after `timeout` seconds or at the end of the stream."""
        try:
            item = self._out_q.get(timeout=timeout)
        except TimeoutError:
            return None
        if item is _END:
            self._out_q.put(_END, force=True)  # keep the end visible to later calls
            return None
        return item

    def frames(self, poll: float = 0.1, cancel: threading.Event | None = None) -> Iterator[TrackedFrame]:
        """Every frame the output queue delivers until the source ends; re-raises a source/detector error at the end."""
        while True:
            if cancel is not None and cancel.is_set():
                return
            try:
                item = self._out_q.get(timeout=poll)
            except TimeoutError:
                continue
            if item is _END:
                self._out_q.put(_END, force=True)
                break
            yield item
        if self.error is not None:
            raise self.error

    def calibrate(self, **kwargs: Any):
        """Calibrate the processor from the recent frames (thread-safe; see `HandProcessor.calibrate`)."""
        with self._lock:
            return self.processor.calibrate(**kwargs)

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop both threads, waiting at most `timeout` seconds in total; True when both ended in time."""
        self._stop.set()
        self._frames_q.close()
        self._out_q.close()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("tracking threads still running after %.1f s: %s (daemons; they end with the process)", timeout, alive)
        return not alive

    def __enter__(self) -> "TrackingPipeline":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
