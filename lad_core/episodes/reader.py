"""Reading episode files, and repairing the partial file a crashed recording leaves behind.

`EpisodeReader` opens a finished episode read-only, checks that it is one of ours (root attribute
`format == "lad-episode"`), that its embodiment is known and that every array has the same length, and reads
frames, slices or the whole episode. Every problem raises an InputError naming the file and what is wrong.

`repair_episode()` reads a `.partial` file (opened in SWMR read mode, which HDF5 allows on a file whose writer
died), keeps the frames up to the last one whose timestamp was written, and writes a normal episode with
`repaired = True`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from lad_core.episodes.schema import (
    FORMAT_NAME,
    PARTIAL_SUFFIX,
    SCHEMA_VERSION,
    EpisodeData,
    EpisodeInfo,
    EpisodeSchema,
    Frame,
    validate_embodiment,
)
from lad_core.errors import InputError


def open_h5(path: str | Path, *, recovering: bool = False) -> h5py.File:
    """Open an HDF5 file read-only with a clear error for missing, truncated, foreign or still-open files.

    A file whose SWMR writer died (the superblock still says "open for write") is opened in SWMR read mode.
    recovering: also open a truncated file in SWMR read mode (a recording stopped by a full disk ends short of
    its recorded end-of-file). Only `repair_episode` does this, and only for `.partial` recordings: on a file cut
    short after it was finished, HDF5's SWMR reader may retry metadata reads past the end for a very long time.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such episode file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected an episode file")
    try:
        return h5py.File(path, "r")
    except OSError as first:
        msg = str(first)
        if "already open for write" in msg or (recovering and "truncated" in msg):
            try:  # a file whose SWMR writer died (or still runs) opens only in SWMR read mode
                return h5py.File(path, "r", swmr=True)
            except OSError:
                pass
        if "truncated" in msg:
            raise InputError(f"{path}: the HDF5 file is truncated ({msg}); if it was being recorded, run "
                             f"`lad episodes repair {path}`") from None
        if "signature" in msg or "not an hdf5" in msg.lower():
            raise InputError(f"{path}: not an HDF5 file ({msg})") from None
        raise InputError(f"{path}: cannot open as HDF5: {msg}") from None


def _describe_foreign(f: h5py.File) -> str:
    keys = sorted(f.keys())[:8]
    hint = ""
    if "data" in f and any(k.startswith("demo") for k in f["data"].keys()):
        hint = " (it looks like a robomimic file: use `lad episodes import --format robomimic`)"
    return f"top-level groups {keys}{hint}"


def _json_attr(f: h5py.File, key: str, path: Path):
    raw = f.attrs.get(key, "null")
    try:
        return json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: root attribute {key!r} is not valid JSON: {exc}") from None


def _as_str(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def schema_from_json(text: str, *, source: str | Path) -> EpisodeSchema:
    """Parse `EpisodeSchema.to_json()` output; errors name `source`."""
    try:
        raw = json.loads(text)
        return EpisodeSchema(
            cameras={k: tuple(v) for k, v in raw["cameras"].items()}, observations=raw["observations"],
            arm_dim=raw["arm_dim"], end_effector_dim=raw["end_effector_dim"],
            end_effector_kind=raw["end_effector_kind"], names={k: tuple(v) for k, v in raw["names"].items()})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{source}: malformed episode schema: {exc}") from None


def read_schema_and_info(f: h5py.File, path: Path, *, check_embodiment: bool = True
                         ) -> tuple[EpisodeSchema, EpisodeInfo]:
    """Parse and validate the root attributes of an open episode file."""
    if _as_str(f.attrs.get("format", "")) != FORMAT_NAME:
        raise InputError(f"{path}: not a LAD episode file (no root attribute format='{FORMAT_NAME}'; "
                         f"{_describe_foreign(f)})")
    version = int(f.attrs.get("schema_version", -1))
    if version > SCHEMA_VERSION or version < 1:
        raise InputError(f"{path}: episode schema version {version} is not supported (this software reads "
                         f"1..{SCHEMA_VERSION}; written by lad {_as_str(f.attrs.get('software_version', '?'))})")
    missing = [k for k in ("embodiment", "task", "fps", "schema") if k not in f.attrs]
    if missing:
        raise InputError(f"{path}: missing root attributes {missing}")
    schema = schema_from_json(_as_str(f.attrs["schema"]), source=path)
    embodiment = _as_str(f.attrs["embodiment"])
    if check_embodiment:
        validate_embodiment(embodiment, source=path)
    try:
        info = EpisodeInfo(
            embodiment=embodiment, task=_as_str(f.attrs["task"]), fps=float(f.attrs["fps"]),
            success=bool(f.attrs.get("success", False)),
            retarget_scales=_json_attr(f, "retarget_scales", path), calibration=_json_attr(f, "calibration", path),
            extra=_json_attr(f, "extra", path) or {}, software_version=_as_str(f.attrs.get("software_version", "")),
            schema_version=version, created_unix=float(f.attrs.get("created_unix", 0.0)),
            num_frames=int(f.attrs.get("num_frames", 0)), complete=bool(f.attrs.get("complete", False)),
            repaired=bool(f.attrs.get("repaired", False)))
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: bad root attribute: {exc}") from None
    expected = [f"observations/images/{c}" for c in schema.cameras] + list(schema.lowdim_dims) + ["timestamps"]
    absent = [k for k in expected if k not in f]
    if absent:
        raise InputError(f"{path}: datasets {absent} are missing")
    return schema, info


def dataset_keys(schema: EpisodeSchema) -> list[str]:
    """Every per-frame dataset of an episode, timestamps last."""
    return [f"observations/images/{c}" for c in schema.cameras] + list(schema.lowdim_dims) + ["timestamps"]


class EpisodeReader:
    """Read-only access to a finished episode file. Use as a context manager or call `close()`.

    check_embodiment: raise UnknownEmbodimentError when the episode's embodiment is not registered.
    """

    def __init__(self, path: str | Path, *, check_embodiment: bool = True):
        self.path = Path(path)
        if self.path.name.endswith(PARTIAL_SUFFIX):
            raise InputError(f"{self.path}: this recording was not finished; run `lad episodes repair {self.path}`")
        self._f = open_h5(self.path)
        try:
            self.schema, self.info = read_schema_and_info(self._f, self.path, check_embodiment=check_embodiment)
            lengths = {k: self._f[k].shape[0] for k in dataset_keys(self.schema)}
            if len(set(lengths.values())) != 1:
                raise InputError(f"{self.path}: datasets have different lengths {lengths}; run "
                                 f"`lad episodes repair {self.path}`")
            self._n = lengths["timestamps"]
            if not self.info.complete:
                raise InputError(f"{self.path}: episode was not finished (attribute complete=False); run "
                                 f"`lad episodes repair {self.path}`")
        except BaseException:
            self._f.close()
            raise

    def __len__(self) -> int:
        return self._n

    @property
    def cameras(self) -> list[str]:
        return list(self.schema.cameras)

    @property
    def timestamps(self) -> np.ndarray:
        return self._f["timestamps"][()]

    def images(self, camera: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        if camera not in self.schema.cameras:
            raise InputError(f"{self.path}: no camera {camera!r}; cameras: {self.cameras}")
        return self._f[f"observations/images/{camera}"][start:stop]

    def lowdim(self, key: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """A float array by path: 'observations/<name>', 'actions/arm' or 'actions/end_effector'."""
        if key not in self.schema.lowdim_dims:
            raise InputError(f"{self.path}: no array {key!r}; arrays: {sorted(self.schema.lowdim_dims)}")
        return self._f[key][start:stop]

    def frame(self, t: int) -> Frame:
        if not -self._n <= t < self._n:
            raise IndexError(f"{self.path}: frame {t} out of range (episode has {self._n} frames)")
        t %= self._n
        return Frame(float(self._f["timestamps"][t]),
                     {c: self._f[f"observations/images/{c}"][t] for c in self.schema.cameras},
                     {k: self._f[f"observations/{k}"][t] for k in self.schema.observations},
                     self._f["actions/arm"][t], self._f["actions/end_effector"][t])

    def load(self, start: int = 0, stop: int | None = None) -> EpisodeData:
        """The whole episode (or frames [start, stop)) in memory."""
        return EpisodeData(
            info=self.info, schema=self.schema, timestamps=self._f["timestamps"][start:stop],
            images={c: self.images(c, start, stop) for c in self.schema.cameras},
            observations={k: self._f[f"observations/{k}"][start:stop] for k in self.schema.observations},
            arm=self._f["actions/arm"][start:stop], end_effector=self._f["actions/end_effector"][start:stop])

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "EpisodeReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_episode(path: str | Path, *, check_embodiment: bool = True) -> EpisodeData:
    """Load a whole episode file into memory."""
    with EpisodeReader(path, check_embodiment=check_embodiment) as r:
        return r.load()


def _stored_prefix(ds: h5py.Dataset, n: int, file_size: int) -> int:
    """Frames [0, k) of a one-frame-per-chunk dataset whose chunk is allocated and lies inside the file."""
    stored = set()
    for i in range(ds.id.get_num_chunks()):
        info = ds.id.get_chunk_info(i)
        if info.byte_offset is not None and info.byte_offset + info.size <= file_size:
            stored.add(info.chunk_offset[0])
    k = 0
    while k < n and k in stored:
        k += 1
    return k


def consistent_length(f: h5py.File, schema: EpisodeSchema) -> int:
    """Frames [0, n) that a crashed or failed recording holds completely.

    A frame counts when every dataset extends over it, its timestamp and low-dim rows are finite (the writer
    only accepts finite values and unwritten rows read as the NaN fill value), and each camera's chunk for it is
    stored inside the file (a failed flush can leave an extent that points past the chunks really written).
    """
    n = min(f[k].shape[0] for k in dataset_keys(schema))
    for key in ["timestamps", *schema.lowdim_dims]:
        rows = f[key][:n]
        ok = np.isfinite(rows) if rows.ndim == 1 else np.isfinite(rows).all(axis=1)
        bad = np.flatnonzero(~ok)
        n = int(bad[0]) if bad.size else n
    file_size = os.path.getsize(f.filename)
    for cam in schema.cameras:
        n = min(n, _stored_prefix(f[f"observations/images/{cam}"], n, file_size))
    return int(n)


def repair_episode(path: str | Path, out: str | Path | None = None, *, overwrite: bool = False,
                   timeout: float | None = 120.0) -> Path:
    """Turn a partial (crashed) recording into a readable episode and return its path.

    A `.partial` file is read in a child process bounded by `timeout` seconds: HDF5's SWMR reader can retry for a
    very long time on a badly truncated file, and a repair must report that, never hang its caller (a CLI, the
    studio). `timeout=None` repairs in this process.
    """
    path = Path(path)
    if timeout is None or not path.name.endswith(PARTIAL_SUFFIX):
        return _repair(path, out, overwrite)
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_repair_in_child, args=(sender, str(path), None if out is None else str(out), overwrite),
                        daemon=True)  # fmt: skip
    child.start()
    sender.close()
    if not receiver.poll(timeout):
        child.kill()
        child.join()
        raise InputError(f"{path}: HDF5 could not read this recording within {timeout:.0f} s (badly truncated or "
                         f"not a file); nothing was changed")  # fmt: skip
    try:
        status, value = receiver.recv()
    except EOFError:
        status, value = "error", InputError(f"{path}: the repair process died (exit code {child.exitcode})")
    child.join()
    if status == "error":
        raise value
    return Path(value)


def _repair_in_child(sender, path: str, out: str | None, overwrite: bool) -> None:
    try:
        sender.send(("ok", str(_repair(Path(path), out, overwrite))))
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        sender.send(("error", exc if _picklable(exc) else InputError(f"{path}: {type(exc).__name__}: {exc}")))


def _picklable(exc: Exception) -> bool:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return True
    except Exception:  # noqa: BLE001
        return False


def _repair(path: Path, out: str | Path | None, overwrite: bool) -> Path:
    """repair_episode's work, in the calling process.

    path: the `.partial` file (or a finished file with inconsistent lengths).
    out: where to write; default: the name without `.partial` (refused if it exists unless overwrite=True,
    e.g. when a re-recording crashed and the older take is still there).
    All datasets are truncated to the last consistent frame; the result has `repaired = True`. The partial
    file is removed once the repaired one is safely in place.
    """
    from lad_core.episodes.writer import EpisodeWriteError, create_layout, finalize_file

    if out is None:
        out = path.with_name(path.name[: -len(PARTIAL_SUFFIX)]) if path.name.endswith(PARTIAL_SUFFIX) else path
    out = Path(out)
    in_place = out.resolve() == path.resolve()
    if out.exists() and not in_place and not overwrite:
        raise InputError(f"{out}: already exists; repair {path} to another --out or pass overwrite")
    with open_h5(path, recovering=path.name.endswith(PARTIAL_SUFFIX)) as f:
        schema, info = read_schema_and_info(f, path, check_embodiment=False)
        n = consistent_length(f, schema)
        if n == 0:
            raise InputError(f"{path}: no complete frame was flushed before the recording stopped; nothing to "
                             f"recover")
        tmp = out.with_name(out.name + ".repair" + PARTIAL_SUFFIX)
        info.num_frames, info.complete, info.repaired = n, True, True
        try:
            with h5py.File(tmp, "w", libver="latest") as g:
                create_layout(g, schema, info, length=n)
                for key in dataset_keys(schema):
                    src, dst = f[key], g[key]
                    if key.startswith("observations/images/"):
                        # one compressed chunk per frame: copy the bytes without recompressing
                        zeros = (0,) * (src.ndim - 1)
                        for t in range(n):
                            mask, data = src.id.read_direct_chunk((t, *zeros))
                            dst.id.write_direct_chunk((t, *zeros), data, mask)
                    else:
                        dst[...] = src[:n]
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise EpisodeWriteError(f"{out}: writing the repaired episode failed: {exc}") from exc
    finalize_file(tmp, out, num_frames=n, complete=True, repaired=True)
    if not in_place:
        os.unlink(path)
    return out
