"""Recording episodes from a control loop without ever blocking it.

`ThreadedEpisodeWriter` runs an `EpisodeWriter` on its own thread behind a bounded queue: `submit()` copies the
frame and returns at once (False, and a dropped-frame count, when the queue is full); a write error (disk full)
stops the thread cleanly, keeps the partial file and is reported on `finish()`.

`Recorder` is the session object the GUI and the teleop loop use: it numbers episodes in a dataset directory,
starts/stops/re-records/discards them and reports free disk space.

Events: `Recorder.subscribe(callback)` gets `RecorderEvent`s. "started", "stopped", "discarded" and "low_disk"
fire on the thread that called the method; "error" fires on the writer thread. A callback's exception is logged,
never propagated.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from lad_core.episodes.dataset import EpisodeDataset
from lad_core.episodes.schema import EpisodeInfo, EpisodeSchema, Frame, validate_embodiment
from lad_core.episodes.writer import DEFAULT_FLUSH_INTERVAL_S, EpisodeWriteError, EpisodeWriter
from lad_core.errors import InputError

log = logging.getLogger(__name__)

_STOP = object()
DEFAULT_LOW_DISK_BYTES = 1 << 30  # warn below 1 GiB free


class ThreadedEpisodeWriter:
    """An EpisodeWriter fed through a bounded queue by a dedicated thread.

    queue_size: frames that may wait; when full, `submit` drops the frame (counted in `dropped`).
    on_error: called once, on the writer thread, with the EpisodeWriteError that stopped writing.
    """

    def __init__(self, writer: EpisodeWriter, *, queue_size: int = 64,
                 on_error: Callable[[Exception], None] | None = None):
        if queue_size < 1:
            raise InputError(f"queue_size must be >= 1, got {queue_size}")
        self.writer = writer
        self.dropped = 0
        self.submitted = 0
        self.max_queue_depth = 0
        self.error: Exception | None = None
        self._on_error = on_error
        self._q: queue.Queue = queue.Queue(maxsize=queue_size)
        self._failed = threading.Event()
        self._finishing = False
        self._thread = threading.Thread(target=self._run, name=f"episode-writer:{writer.final_path.name}",
                                        daemon=True)
        self._thread.start()

    @property
    def failed(self) -> bool:
        return self._failed.is_set()

    def submit(self, frame: Frame) -> bool:
        """Queue a copy of `frame`; never blocks. False when dropped (queue full) or after a write error."""
        if self._finishing:
            raise InputError(f"{self.writer.path}: episode is finishing; no more frames")
        if self._failed.is_set():
            return False
        self.writer.schema.check_frame(frame, source=self.writer.path)
        try:
            self._q.put_nowait(frame.copy())
        except queue.Full:
            self.dropped += 1
            return False
        self.submitted += 1
        self.max_queue_depth = max(self.max_queue_depth, self._q.qsize())
        return True

    def _run(self) -> None:
        w = self.writer
        timeout = max(0.01, w.flush_interval_s / 2)
        try:
            while True:
                try:
                    item = self._q.get(timeout=timeout)
                except queue.Empty:
                    w.flush_if_due()
                    continue
                if item is _STOP:
                    return
                w.append(item)
        except Exception as exc:  # a write error ends writing; the flushed part stays on disk
            self.error = exc if isinstance(exc, EpisodeWriteError) else EpisodeWriteError(
                f"{w.path}: recording stopped: {exc}")
            self._failed.set()
            w.abort(delete=False)
            self._drain()
            if self._on_error is not None:
                try:
                    self._on_error(self.error)
                except Exception:  # a listener never breaks the writer
                    log.exception("episode writer error callback failed")

    def _drain(self) -> None:
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                self.dropped += 1

    def finish(self, *, success: bool | None = None, timeout_s: float = 60.0) -> Path:
        """Write what is queued, close and rename the file; raises the write error if one happened."""
        self._finishing = True
        if not self._failed.is_set():
            self._put_stop(timeout_s)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise EpisodeWriteError(f"{self.writer.path}: writer thread did not finish within {timeout_s} s")
        if self.error is not None:
            raise self.error
        try:
            return self.writer.close(success=success)
        except EpisodeWriteError as exc:
            self.error = exc
            raise

    def abort(self, *, delete: bool = True, timeout_s: float = 60.0) -> None:
        """Stop without finishing; frames still queued are discarded."""
        self._finishing = True
        self._drain()
        if not self._failed.is_set():
            self._put_stop(timeout_s)
        self._thread.join(timeout_s)
        self.writer.abort(delete=delete)

    def _put_stop(self, timeout_s: float) -> None:
        try:
            self._q.put(_STOP, timeout=timeout_s)
        except queue.Full:  # the thread died: nothing drains the queue
            pass


@dataclass
class RecorderEvent:
    kind: Literal["started", "stopped", "discarded", "error", "low_disk"]
    index: int | None = None
    path: Path | None = None
    message: str = ""


@dataclass
class EpisodeSummary:
    """What `Recorder.stop()` saved."""

    index: int
    path: Path
    frames: int
    dropped: int
    duration_s: float
    success: bool
    replaced: bool  # a re-recording replaced an older take


@dataclass
class DiskStatus:
    free_bytes: int
    low: bool  # below the warning threshold
    minutes_left: float | None  # at the recent write rate, when known


class Recorder:
    """Episode numbering and recording for one dataset directory and one embodiment/task.

    >>> rec = Recorder(root, schema, embodiment="gripper", task="cube_in_box", fps=30)
    >>> rec.start()               # -> 0; then rec.add_frame(frame) each tick (never blocks)
    >>> rec.stop(success=True)    # -> EpisodeSummary, file episode_000000.h5
    >>> rec.rerecord(0)           # record index 0 again; the old take stays until stop() succeeds

    queue_size: default 2 s of frames. flush_interval_s: <= 1 s (how much a crash may lose).
    """

    def __init__(self, root: str | Path, schema: EpisodeSchema, *, embodiment: str, task: str, fps: float,
                 retarget_scales: Any = None, calibration: Any = None, extra: dict | None = None,
                 queue_size: int | None = None, flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
                 low_disk_bytes: int = DEFAULT_LOW_DISK_BYTES):
        if not 0 < flush_interval_s <= 1.0:
            raise InputError(f"flush_interval_s must be in (0, 1] s, got {flush_interval_s}")
        self.dataset = EpisodeDataset(root, create=True)
        self.schema = schema
        validate_embodiment(embodiment)
        self._meta = dict(embodiment=embodiment, task=task, fps=fps, retarget_scales=retarget_scales,
                          calibration=calibration, extra=dict(extra or {}))
        EpisodeInfo(**self._meta)  # validate now, not at the first start()
        self.queue_size = int(queue_size or max(8, round(2 * fps)))
        self.flush_interval_s = flush_interval_s
        self.low_disk_bytes = int(low_disk_bytes)
        self._listeners: list[Callable[[RecorderEvent], None]] = []
        self._active: ThreadedEpisodeWriter | None = None
        self._index: int | None = None
        self._replacing = False
        self._t0 = 0.0
        self._rate_bytes_per_s: float | None = None

    # events -------------------------------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[RecorderEvent], None]) -> Callable[[], None]:
        """Register a listener; returns a function that unsubscribes it."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _emit(self, event: RecorderEvent) -> None:
        for cb in list(self._listeners):
            try:
                cb(event)
            except Exception:
                log.exception("recorder listener failed on %s", event.kind)

    # state --------------------------------------------------------------------------------------------------
    @property
    def is_recording(self) -> bool:
        return self._active is not None

    @property
    def current_index(self) -> int | None:
        return self._index

    @property
    def next_index(self) -> int:
        return self.dataset.next_index()

    @property
    def dropped_frames(self) -> int:
        return self._active.dropped if self._active else 0

    @property
    def error(self) -> Exception | None:
        return self._active.error if self._active else None

    def disk_status(self) -> DiskStatus:
        free = shutil.disk_usage(self.dataset.root).free
        minutes = free / self._rate_bytes_per_s / 60 if self._rate_bytes_per_s else None
        return DiskStatus(int(free), free < self.low_disk_bytes, minutes)

    # control ------------------------------------------------------------------------------------------------
    def start(self, index: int | None = None, *, rerecord: bool = False, **info_overrides) -> int:
        """Start recording episode `index` (default: the next free index); returns the index.

        rerecord: allow `index` to exist; the new take replaces it only when `stop()` succeeds.
        info_overrides: per-episode EpisodeInfo fields (e.g. task, extra).
        """
        if self._active is not None:
            raise InputError(f"already recording episode {self._index}; stop() or discard() it first")
        if index is None:
            index = self.dataset.next_index()
        path = self.dataset.path_for(index)
        if path.exists() and not rerecord:
            raise InputError(f"{path}: episode {index} exists; use rerecord({index}) to replace it")
        disk = self.disk_status()
        if disk.low:
            msg = f"only {disk.free_bytes / 2**20:.0f} MiB free on the disk of {self.dataset.root}"
            log.warning(msg)
            self._emit(RecorderEvent("low_disk", index, path, msg))
        info = EpisodeInfo(**{**self._meta, **info_overrides})
        writer = EpisodeWriter(path, self.schema, info, flush_interval_s=self.flush_interval_s, overwrite=rerecord)
        self._active = ThreadedEpisodeWriter(
            writer, queue_size=self.queue_size,
            on_error=lambda exc: self._emit(RecorderEvent("error", index, writer.path, str(exc))))
        self._index, self._replacing, self._t0 = index, path.exists(), time.monotonic()
        self._emit(RecorderEvent("started", index, writer.path))
        return index

    def rerecord(self, index: int, **info_overrides) -> int:
        """Record episode `index` again (the old file stays until the new take is stopped)."""
        if not self.dataset.path_for(index).exists():
            raise InputError(f"{self.dataset.path_for(index)}: no episode {index} to re-record")
        return self.start(index, rerecord=True, **info_overrides)

    def add_frame(self, frame: Frame) -> bool:
        """Hand one frame to the writer thread; never blocks. False when not recording, dropped or failed."""
        if self._active is None:
            return False
        return self._active.submit(frame)

    def stop(self, success: bool = False) -> EpisodeSummary:
        """Finish the episode: write what is queued and rename the file. Raises EpisodeWriteError (the partial
        file is kept for `repair`) if writing failed."""
        active = self._require_active()
        index, replaced = self._index, self._replacing
        try:
            path = active.finish(success=success)
        except Exception as exc:
            self._active = self._index = None
            if not active.failed:  # a writer-thread failure was reported when it happened
                self._emit(RecorderEvent("error", index, active.writer.path, str(exc)))
            raise
        self._active = self._index = None
        duration = time.monotonic() - self._t0
        if duration > 0 and active.writer.bytes_flushed:
            self._rate_bytes_per_s = path.stat().st_size / duration
        summary = EpisodeSummary(index, path, active.writer.num_frames, active.dropped, duration, bool(success),
                                 replaced)
        self._emit(RecorderEvent("stopped", index, path,
                                 f"{summary.frames} frames, {summary.dropped} dropped"))
        return summary

    def next(self, success: bool = False) -> tuple[EpisodeSummary, int]:
        """Stop the current episode and start the following one."""
        summary = self.stop(success)
        return summary, self.start()

    def discard(self) -> None:
        """Throw the current take away (a re-recorded episode keeps its old take)."""
        active = self._require_active()
        index = self._index
        self._active = self._index = None
        active.abort(delete=True)
        self._emit(RecorderEvent("discarded", index, active.writer.final_path))

    def close(self) -> None:
        """Discard a take still running (use stop() first to keep it)."""
        if self._active is not None:
            self.discard()

    def _require_active(self) -> ThreadedEpisodeWriter:
        if self._active is None:
            raise InputError("not recording; call start() first")
        return self._active
