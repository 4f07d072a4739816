"""Writing one episode file as it is recorded.

`EpisodeWriter` creates `<name>.h5.partial`, creates every dataset resizable along time, switches the file to
HDF5 SWMR mode and appends frames in small batches, flushing at least every `flush_interval_s` (0.5 s by default).
SWMR orders the writes so that the file on disk is readable at every moment; a process killed with SIGKILL
loses only the frames since the last flush, and `repair_episode()` turns the partial file into a normal episode.
`close()` sets the final attributes and renames the file atomically to `<name>.h5`.

The writer is owned by one thread (the recorder's writer thread, or the caller for offline writes); it is not
thread-safe. `write_episode()` writes a whole in-memory episode the same way (temporary name + atomic rename).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import h5py
import numpy as np

from lad_core.episodes.schema import (
    FORMAT_NAME,
    EpisodeData,
    EpisodeInfo,
    EpisodeSchema,
    Frame,
    partial_path,
    validate_embodiment,
)
from lad_core.errors import InputError, LadError

log = logging.getLogger(__name__)

DEFAULT_FLUSH_INTERVAL_S = 0.5
IMAGE_COMPRESSION = "gzip"
IMAGE_COMPRESSION_LEVEL = 4  # ~1 ms per 128x128 frame on one core; level 6 saves <1 % more


class EpisodeWriteError(LadError, OSError):
    """Writing an episode failed (disk full, I/O error); the partial file keeps what was flushed before."""


def _lowdim_chunk(dim: int) -> tuple[int, int]:
    return (max(1, min(256, 65536 // (4 * dim))), dim)


def create_layout(f: h5py.File, schema: EpisodeSchema, info: EpisodeInfo, length: int = 0) -> None:
    """Create the groups, resizable datasets and root attributes of an episode (see docs/episodes.md)."""
    obs = f.create_group("observations")
    imgs = obs.create_group("images")
    for cam, (h, w) in schema.cameras.items():
        imgs.create_dataset(cam, shape=(length, h, w, 3), maxshape=(None, h, w, 3), dtype=np.uint8,
                            chunks=(1, h, w, 3), compression=IMAGE_COMPRESSION,
                            compression_opts=IMAGE_COMPRESSION_LEVEL)
    f.create_group("actions")
    for key, dim in schema.lowdim_dims.items():
        ds = f.create_dataset(key, shape=(length, dim), maxshape=(None, dim), dtype=np.float32,
                              chunks=_lowdim_chunk(dim), fillvalue=np.float32("nan"))
        ds.attrs["names"] = json.dumps(list(schema.names_for(key)))
    # NaN fill: rows never written read as NaN, which repair uses to find the last complete frame.
    f.create_dataset("timestamps", shape=(length,), maxshape=(None,), dtype=np.float64, chunks=(1024,),
                     fillvalue=np.nan)
    f["actions/end_effector"].attrs["kind"] = schema.end_effector_kind
    write_attrs(f, info, schema)


def write_attrs(f: h5py.File, info: EpisodeInfo, schema: EpisodeSchema) -> None:
    """Root attributes; nested values (calibration, scales, extra) are JSON strings."""
    a = f.attrs
    a["format"] = FORMAT_NAME
    a["schema_version"] = int(info.schema_version)
    a["software_version"] = str(info.software_version)
    a["embodiment"] = info.embodiment
    a["task"] = info.task
    a["fps"] = float(info.fps)
    a["success"] = bool(info.success)
    a["retarget_scales"] = json.dumps(info.retarget_scales)
    a["calibration"] = json.dumps(info.calibration)
    a["extra"] = json.dumps(info.extra)
    a["created_unix"] = float(info.created_unix or time.time())
    a["num_frames"] = int(info.num_frames)
    a["complete"] = bool(info.complete)
    a["repaired"] = bool(info.repaired)
    a["schema"] = schema.to_json()


def fsync_path(path: Path) -> None:
    """fsync a file or directory (best effort on platforms without directory fsync)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def finalize_file(tmp: Path, final: Path, **attrs) -> Path:
    """Set final attributes on a closed episode file, fsync it and rename it atomically over `final`."""
    with h5py.File(tmp, "r+") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
    fsync_path(tmp)
    os.replace(tmp, final)
    fsync_path(final.parent)
    return final


class EpisodeWriter:
    """Append frames to one episode file; see the module docstring for the durability guarantees.

    >>> w = EpisodeWriter(dir / "episode_000000.h5", schema, info)
    >>> w.append(frame)  # many times
    >>> w.close(success=True)  # -> Path("dir/episode_000000.h5")
    """

    def __init__(self, path: str | Path, schema: EpisodeSchema, info: EpisodeInfo, *,
                 flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S, overwrite: bool = False):
        self.final_path = Path(path)
        self.path = partial_path(self.final_path)  # where the data lives until close()
        self.schema = schema
        self.info = info
        self.flush_interval_s = float(flush_interval_s)
        validate_embodiment(info.embodiment, source=self.final_path)
        if self.final_path.exists() and not overwrite:
            raise InputError(f"{self.final_path}: episode already exists (pass overwrite=True to re-record it)")
        if self.path.exists():
            raise InputError(f"{self.path}: a partial recording is in the way; repair or delete it first")
        self._buffer: list[Frame] = []
        self._written = 0  # frames on disk (as of the last flush)
        self._last_t = -float("inf")
        self._last_flush = time.monotonic()
        self._closed = False
        self._write_failed = False
        self.bytes_flushed = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._f = h5py.File(self.path, "w", libver="latest")
            create_layout(self._f, schema, info)
            self._f.flush()
            self._f.swmr_mode = True
        except OSError as exc:
            raise EpisodeWriteError(f"{self.path}: cannot create episode file: {exc}") from exc
        self._images = {cam: self._f[f"observations/images/{cam}"] for cam in schema.cameras}
        self._lowdim = {key: self._f[key] for key in schema.lowdim_dims}
        self._timestamps = self._f["timestamps"]

    @property
    def num_frames(self) -> int:
        """Frames appended so far (flushed or buffered)."""
        return self._written + len(self._buffer)

    @property
    def frames_on_disk(self) -> int:
        return self._written

    def append(self, frame: Frame) -> None:
        """Buffer one frame; flushes to disk when the flush interval has passed."""
        if self._closed:
            raise InputError(f"{self.path}: episode writer is closed")
        self.schema.check_frame(frame, source=self.path)
        if frame.timestamp <= self._last_t:
            raise InputError(f"{self.path}: timestamps must increase, got {frame.timestamp} after {self._last_t}")
        self._last_t = float(frame.timestamp)
        self._buffer.append(frame)
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def flush_if_due(self) -> None:
        """Flush when frames are buffered and the flush interval has passed (for a writer thread that idles)."""
        if self._buffer and time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        """Write buffered frames and flush the file. Raises EpisodeWriteError; what was flushed before survives."""
        self._last_flush = time.monotonic()
        if self._closed or not self._buffer:
            return
        frames, self._buffer = self._buffer, []
        n0, k = self._written, len(frames)
        try:
            # Images first, low-dim next, timestamps last: a frame counts as written once its timestamp is.
            for cam, ds in self._images.items():
                ds.resize(n0 + k, axis=0)
                ds[n0:] = np.stack([fr.images[cam] for fr in frames])
            for key, ds in self._lowdim.items():
                ds.resize(n0 + k, axis=0)
                ds[n0:] = np.stack([np.asarray(fr.lowdim(key), dtype=np.float32) for fr in frames])
            self._timestamps.resize(n0 + k, axis=0)
            self._timestamps[n0:] = np.array([fr.timestamp for fr in frames], dtype=np.float64)
            self._f.flush()
        except (OSError, RuntimeError, ValueError) as exc:
            self._write_failed = True
            raise EpisodeWriteError(
                f"{self.path}: writing frames {n0}..{n0 + k - 1} failed: {exc}. "
                f"{n0} earlier frames are on disk; recover them with `lad episodes repair {self.path}`"
            ) from exc
        self._written += k
        self.bytes_flushed += sum(fr.images[c].nbytes for fr in frames for c in fr.images)

    def close(self, *, success: bool | None = None) -> Path:
        """Flush, set `success`, `num_frames`, `complete` and rename atomically to the final name."""
        if self._closed:
            raise InputError(f"{self.path}: episode writer is already closed")
        try:
            self.flush()
        except EpisodeWriteError:
            self._close_file()
            raise
        self._close_file()
        if self._written == 0:
            self.path.unlink(missing_ok=True)
            raise InputError(f"{self.final_path}: no frames were recorded; nothing saved")
        if success is not None:
            self.info.success = bool(success)
        try:
            return finalize_file(self.path, self.final_path, success=bool(self.info.success),
                                 num_frames=self._written, complete=True)
        except OSError as exc:
            raise EpisodeWriteError(f"{self.path}: finishing the episode failed: {exc}; the partial file "
                                    f"keeps {self._written} frames (`lad episodes repair`)") from exc

    def abort(self, *, delete: bool = True) -> None:
        """Stop without finishing; delete the partial file (or keep it for repair)."""
        self._buffer.clear()
        self._close_file()
        if delete:
            self.path.unlink(missing_ok=True)

    def _close_file(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._write_failed:
            self._detach_from_disk()
        try:
            self._f.close()
        except (OSError, RuntimeError) as exc:  # e.g. disk full while closing: the last flush still stands
            log.warning("closing %s failed: %s", self.path, exc)

    def _detach_from_disk(self) -> None:
        """After a failed write, point the file's descriptor at /dev/null before closing.

        HDF5 retries the failed writes when the file is closed and again at interpreter exit, where the library
        crashes (segfault) if the disk is still full. Writing the close to /dev/null leaves the file on disk as
        the last successful flush left it, which `repair_episode()` reads.
        """
        try:
            fd = self._f.id.get_vfd_handle()
            null = os.open(os.devnull, os.O_RDWR)
            try:
                os.dup2(null, fd)
            finally:
                os.close(null)
        except (OSError, ValueError, RuntimeError, TypeError) as exc:
            log.warning("%s: could not detach the failed file from the disk: %s", self.path, exc)

    def __enter__(self) -> "EpisodeWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._closed:
            if exc_type is None:
                self.close()
            else:  # keep what was recorded for repair
                try:
                    self.flush()
                except EpisodeWriteError as err:
                    log.warning("%s", err)
                self._close_file()


def write_episode(path: str | Path, data: EpisodeData, *, overwrite: bool = False) -> Path:
    """Write a whole in-memory episode (import, trim) under a temporary name, then rename atomically."""
    final = Path(path)
    validate_embodiment(data.info.embodiment, source=final)
    if final.exists() and not overwrite:
        raise InputError(f"{final}: episode already exists")
    n = len(data)
    if n == 0:
        raise InputError(f"{final}: an episode needs at least one frame")
    schema = data.schema
    for key, dim in schema.lowdim_dims.items():
        if data.lowdim(key).shape != (n, dim):
            raise InputError(f"{final}: {key} has shape {data.lowdim(key).shape}, expected ({n}, {dim})")
    for cam, (h, w) in schema.cameras.items():
        if data.images[cam].shape != (n, h, w, 3) or data.images[cam].dtype != np.uint8:
            raise InputError(f"{final}: camera {cam!r} has {data.images[cam].dtype} {data.images[cam].shape}, "
                             f"expected uint8 ({n}, {h}, {w}, 3)")
    tmp = final.with_name(final.name + ".write.partial")  # never the recorder's partial name
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        with h5py.File(tmp, "w", libver="latest") as f:
            create_layout(f, schema, data.info, length=n)
            for cam in schema.cameras:
                f[f"observations/images/{cam}"][...] = data.images[cam]
            for key in schema.lowdim_dims:
                f[key][...] = data.lowdim(key).astype(np.float32)
            f["timestamps"][...] = np.asarray(data.timestamps, dtype=np.float64)
        return finalize_file(tmp, final, num_frames=n, complete=True)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise EpisodeWriteError(f"{final}: writing the episode failed: {exc}") from exc
