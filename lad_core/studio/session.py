"""The live teleop session: a frame source tracked by `TrackingPipeline`, retargeted to every robot embodiment on
the session's own thread, packed into `StudioFrame`s that a view reads with `latest()` (never blocks).

    session = TeleopSession("synthetic")       # builds a retargeter per registered hand/gripper embodiment
    session.start()                            # False (and an "error" event) when the source cannot open
    frame = session.latest()                   # newest StudioFrame or None
    session.set_scales("mimic", scales)        # used from the very next frame on
    session.stop()                             # (re)start again later; close() also ends the retarget process

`TeleopSession(..., retarget_process=True)` (what the studio uses) retargets in a child process
(lad_core.studio.retarget_worker), started by the session thread on its first start and kept across restarts, so
that the many small numpy calls of four retargeters do not hold the GIL against the UI thread.

Events (`session.events.subscribe(kind, fn)`):
    "frame"(StudioFrame)   on the session thread, once per processed frame
    "error"(Exception)     on the session thread (source/tracking/retargeting failure) or the caller's (start)
    "started"(str)         on the caller's thread; the source description
    "finished"()           on the session thread when the stream ends (source exhausted, lost, or stopped)
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from lad_core.studio.events import EventEmitter
from lad_core.studio.geometry import HandDrawing, RobotGeometry, human_drawing
from lad_core.tracking.sources.base import FrameSource
from lad_core.tracking.types import SourceFrame, TrackedFrame

log = logging.getLogger(__name__)


class TappedSource(FrameSource):
    """Wraps a source and keeps its newest image for display (the pipeline itself only passes landmarks on)."""

    def __init__(self, inner: FrameSource):
        from lad_core.tracking.pipeline import _needs_detector

        self.inner = inner
        self.name = inner.name
        self.live = inner.live
        self.needs_detector = _needs_detector(inner)
        self.prefers_image_mode = getattr(inner, "prefers_image_mode", False)
        self.latest_image: tuple[int, np.ndarray] | None = None

    def _frames(self):
        for frame in self.inner:
            if frame.image is not None:
                self.latest_image = (frame.index, frame.image)
            yield frame

    def close(self) -> None:
        self.inner.close()

    def describe(self) -> str:
        return self.inner.describe()


@dataclass(frozen=True)
class RobotFrame:
    """One robot's retargeting of one frame. residuals: (15,) |v_H - s v_R| per keyvector (m); None for grippers."""

    qpos: np.ndarray
    drawing: HandDrawing
    converged: bool
    latency_ms: float
    residuals: np.ndarray | None = None
    scaled_keyvectors: np.ndarray | None = None  # (15, 3) s_i v_i^R


@dataclass(frozen=True)
class StudioFrame:
    seq: int
    tracked: TrackedFrame
    image: np.ndarray | None  # (H, W, 3) RGB of this frame when the source has images
    human: HandDrawing | None
    human_keyvectors: np.ndarray | None  # (15, 3)
    robots: dict[str, RobotFrame] = field(default_factory=dict)
    fps: float = 0.0
    latency_ms: float = 0.0  # decode + detect + process + retarget, this frame
    wall_time: float = 0.0  # time.monotonic() when the frame was ready


def robot_embodiments() -> list[str]:
    from lad_core import embodiments

    return [n for n in embodiments.names() if embodiments.get(n).kind in ("hand", "gripper")]


def _source_options(spec: str) -> dict:
    from lad_core.tracking.sources.base import resolve_spec

    name, _ = resolve_spec(spec)
    return {"realtime": True, "loop": True} if name == "video" else {}


class TeleopSession:
    """robots: embodiment names to retarget to (default: every registered hand and gripper)."""

    def __init__(self, source: str = "synthetic", robots: list[str] | None = None, retarget_process: bool = False):
        from lad_core.retarget import build_retargeter

        self.source_spec = source
        self.events = EventEmitter(("frame", "error", "started", "finished"))
        self.retargeters: dict = {}
        self.geometry: dict[str, RobotGeometry] = {}
        self.build_errors: dict[str, str] = {}
        for name in robots if robots is not None else robot_embodiments():
            try:
                self.retargeters[name] = build_retargeter(name)
                self.geometry[name] = RobotGeometry(name)
            except Exception as exc:  # noqa: BLE001 - a broken plugin embodiment is reported, never fatal
                self.retargeters.pop(name, None)
                self.build_errors[name] = str(exc)
                log.warning("embodiment %s skipped: %s", name, exc)
        self._pending_scales: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._latest: StudioFrame | None = None
        self._pipeline = None
        self._source: TappedSource | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._seq = 0
        self.error: BaseException | None = None
        self.retarget_process = bool(retarget_process)
        self._worker = None  # RetargetWorker, made by the session thread when retarget_process

    # ------------------------------------------------------------------------------------------- scales
    @property
    def robots(self) -> list[str]:
        return list(self.retargeters)

    def default_scales(self) -> dict[str, np.ndarray]:
        """Scales of every robot hand as built (grippers have none)."""
        return {n: r.scales for n, r in self.retargeters.items() if r.scales is not None}

    def set_scales(self, name: str, scales) -> None:
        """Thread-safe; the session thread applies them before retargeting its next frame."""
        from lad_core.embodiments import validate_scales

        values = validate_scales(scales, source=f"scales for {name}")
        with self._lock:
            self._pending_scales[name] = values

    def scales(self, name: str) -> np.ndarray:
        with self._lock:
            pending = self._pending_scales.get(name)
        return pending.copy() if pending is not None else self.retargeters[name].scales

    # ------------------------------------------------------------------------------------------- lifecycle
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, source: str | None = None) -> bool:
        """(Re)start on `source` (default: the current spec). On failure emits "error" and returns False."""
        from lad_core.tracking.pipeline import TrackingPipeline
        from lad_core.tracking.sources.base import open_source

        self.stop()
        spec = source or self.source_spec
        self.source_spec = spec
        self.error = None
        try:
            self._source = TappedSource(open_source(spec, **_source_options(spec)))
        except Exception as exc:  # noqa: BLE001 - reported to the window
            self._report(exc)
            return False
        for r in self.retargeters.values():
            r.reset()
        self._pipeline = TrackingPipeline(self._source)
        self._pipeline.on_error(self._report)
        self._stop.clear()
        self._pipeline.start()
        self._thread = threading.Thread(target=self._loop, name="lad-studio-session", daemon=True)
        self._thread.start()
        self.events.emit("started", self._source.describe())
        return True

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._pipeline is not None:
            self._pipeline.stop(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("studio session thread still running after %.1f s", timeout)
        self._pipeline = None
        self._thread = None

    def _report(self, exc: BaseException) -> None:
        self.error = exc
        self.events.emit("error", exc)

    def latest(self) -> StudioFrame | None:
        return self._latest

    # ------------------------------------------------------------------------------------------- session thread
    def _loop(self) -> None:
        pipeline, last_t, fps = self._pipeline, None, 0.0
        try:
            if self.retarget_process:
                self._ensure_worker()
            while not self._stop.is_set():
                tracked = pipeline.get(timeout=0.05)
                if tracked is None:
                    if pipeline.finished.is_set():
                        break
                    continue
                now = time.monotonic()
                if last_t is not None:
                    fps = 0.9 * fps + 0.1 / max(now - last_t, 1e-6) if fps else 1.0 / max(now - last_t, 1e-6)
                last_t = now
                frame = self.process(tracked, fps=fps)
                self._latest = frame
                self.events.emit("frame", frame)
        except Exception as exc:  # noqa: BLE001 - shown in the window; the app keeps running
            log.debug("studio session failed", exc_info=True)
            self._report(exc)
        finally:
            self.events.emit("finished")

    def _ensure_worker(self) -> None:
        """Starts the retarget process (once; kept across restarts) or resets its retargeters' state."""
        from lad_core.studio.retarget_worker import RetargetWorker

        if self._worker is not None and not self._worker.alive:
            self._worker.close()
            self._worker = None
        if self._worker is None:
            self._worker = RetargetWorker(self.robots)
            for name, values in self.default_scales().items():  # scales set before it existed
                self._worker.set_scales(name, values)
        else:
            self._worker.reset()

    def close(self) -> None:
        """stop(), then end the retarget process."""
        self.stop()
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def process(self, tracked: TrackedFrame, fps: float = 0.0) -> StudioFrame:
        """Retarget one tracked frame to every robot (the session thread calls this; tests may call it directly)."""
        from lad_core.kinematics import human_keyvectors

        with self._lock:
            pending, self._pending_scales = self._pending_scales, {}
        for name, values in pending.items():
            self.retargeters[name].scales = values
            if self._worker is not None:
                self._worker.set_scales(name, values)
        image = None
        if self._source is not None and self._source.latest_image is not None:
            idx, img = self._source.latest_image
            image = img if idx == tracked.index else None
        human = hkv = None
        robots: dict[str, RobotFrame] = {}
        latency = sum(tracked.timings.values()) * 1e3
        if tracked.has_pose and self._worker is not None:
            human = human_drawing(tracked.canonical)
            hkv = human_keyvectors(human.points)
            for name, res in self._worker.step(tracked.canonical).items():
                latency += res.latency_ms
                drawing = HandDrawing(res.points, self.geometry[name].segments, res.kv_points)
                robots[name] = RobotFrame(res.qpos, drawing, res.converged, res.latency_ms, res.residuals,
                                          res.scaled_keyvectors)
        elif tracked.has_pose:
            human = human_drawing(tracked.canonical)
            hkv = human_keyvectors(human.points)
            for name, r in self.retargeters.items():
                t0 = time.perf_counter()
                res = r.step(tracked.canonical)
                geo = self.geometry[name]
                drawing = geo.draw(res.qpos)
                ms = (time.perf_counter() - t0) * 1e3
                latency += ms
                resid = scaled = None
                if r.scales is not None:
                    scaled = r.scales[:, None] * geo.kin.keyvectors(drawing_q(geo, res.qpos))
                    resid = np.linalg.norm(hkv - scaled, axis=-1)
                robots[name] = RobotFrame(res.qpos, drawing, res.converged, ms, resid, scaled)
        self._seq += 1
        return StudioFrame(self._seq, tracked, image, human, hkv, robots, fps, latency, time.monotonic())


def drawing_q(geo: RobotGeometry, q) -> np.ndarray:
    return np.clip(np.asarray(q, dtype=np.float64), geo.kin.lower, geo.kin.upper)
