"""Paired end-effector data (paper Eq. 1): x_i = (theta_H, f_H^{R_1}(x^H), ..., f_H^{R_M}(x^H)).

Human poses come from a landmark source (the synthetic sampler, a recorded landmark file or any (N, 21, 3) array);
each chunk is encoded to theta_H (189-d) and retargeted to every robot embodiment, then appended to an HDF5 file.

File layout (``format = "lad-latent-pairs"``, ``version = 1``)::

    /<modality>          float32 (N, D)   one per modality: human (189), faive (11), mimic (16), gripper (1)...
    /family              int8 (N,)        grasp family of synthetic poses (-1 for recorded ones)
    attrs: format, version, modalities (JSON list), dims (JSON), source (JSON: kind, path/seed/sampler settings),
           scales (JSON: embodiment -> 15 keyvector scales or null), retarget (JSON: the RetargetConfig used;
           absent in files made before 2026-12-07, which used the defaults), software (lad version, numpy, h5py), created,
           complete (bool; a file being written is named *.partial until it is complete)

Writing goes to ``<out>.partial`` and is renamed when complete, so a crash never leaves a file that looks whole.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lad_core.errors import InputError

FORMAT = "lad-latent-pairs"
VERSION = 1
DEFAULT_MODALITIES = ("human", "faive", "mimic", "gripper")
NO_FAMILY = -1


def modality_dim(name: str) -> int:
    from lad_core.embodiments import get

    return int(get(name).action_dim)


# ---------------------------------------------------------------------------------------------- landmark sources
@dataclass
class LandmarkSource:
    """Chunks of canonical landmarks (n, 21, 3) with family labels; `describe` goes into the provenance."""

    total: int
    chunks: Callable[[int], Iterator[tuple[np.ndarray, np.ndarray]]]
    describe: dict


def synthetic_source(n: int, seed: int = 0, sampler_config=None) -> LandmarkSource:
    from dataclasses import asdict

    from lad_core.latent.sampler import SamplerConfig, SyntheticPoseSampler

    sampler = SyntheticPoseSampler(sampler_config or SamplerConfig())

    def chunks(size: int):
        for k, start in enumerate(range(0, n, size)):
            poses = sampler.sample(min(size, n - start), seed=seed * 1_000_003 + k)
            yield poses.landmarks, poses.family

    meta = {"kind": "synthetic", "n": n, "seed": seed, "sampler": asdict(sampler.config)}
    if sampler.config.geometry == "measured":  # the hand proportions drawn from (resources/latent_hand_geometry.yaml)
        from lad_core.latent.sampler import measured_geometry

        meta["geometry"] = {k: (np.asarray(v).tolist() if k != "palm_length" else v)
                            for k, v in measured_geometry().items()}
    return LandmarkSource(n, chunks, meta)


def array_source(landmarks, name: str = "array") -> LandmarkSource:
    from lad_core.embodiments.human import validate_landmarks

    arr = np.asarray(landmarks)
    if arr.ndim == 2 and arr.shape[-1] == 63:
        arr = arr.reshape(-1, 21, 3)
    arr = validate_landmarks(arr, name=name).reshape(-1, 21, 3)

    def chunks(size: int):
        for start in range(0, len(arr), size):
            part = arr[start : start + size]
            yield part, np.full(len(part), NO_FAMILY, np.int8)

    return LandmarkSource(len(arr), chunks, {"kind": "landmarks", "name": name, "n": len(arr)})


def file_source(path: str | Path) -> LandmarkSource:
    """A recorded landmark file: a `lad track --out` recording (frames with a hand) or an (N, 21, 3) .npy."""
    from lad_core.tracking.recording import read_hand_poses

    path = Path(path)
    arr = read_hand_poses(path)
    src = array_source(arr, name=str(path))
    src.describe = {"kind": "file", "path": str(path.resolve()), "n": src.total}
    return src


# ---------------------------------------------------------------------------------------------- writing
@dataclass
class PairsSummary:
    path: Path
    count: int
    seconds: float
    modalities: tuple[str, ...]

    @property
    def rate(self) -> float:
        return self.count / max(self.seconds, 1e-9)


def _software() -> dict:
    import h5py

    import lad_core

    return {"lad": lad_core.__version__, "numpy": np.__version__, "h5py": h5py.__version__}


def make_pairs(
    source: LandmarkSource,
    out: str | Path,
    modalities: Sequence[str] = DEFAULT_MODALITIES,
    chunk: int = 4096,
    progress: bool | Callable[[int], None] = False,
    retarget_config=None,
) -> PairsSummary:
    """Retarget every pose of `source` to `modalities` and write the tuples to `out` (HDF5, see module doc).

    `progress`: True shows a tqdm bar; a callable receives the number of tuples done after each chunk.
    `retarget_config`: default ``RetargetConfig.converged()``, the steadier batched mode (a latent model cannot fit
    the jumps of the fast one); recorded in the file, and evaluation compares a model with the same retargeting.
    """
    import h5py

    from lad_core.embodiments import get
    from lad_core.embodiments.human import encode_pose
    from lad_core.retarget import RetargetConfig, build_retargeter

    retarget_config = retarget_config or RetargetConfig.converged()
    modalities = tuple(modalities)
    if "human" not in modalities:
        raise InputError(f"paired data needs the 'human' modality (the source of Eq. 1), got {list(modalities)}")
    if len(set(modalities)) != len(modalities):
        raise InputError(f"modalities repeat: {list(modalities)}")
    if chunk < 1:
        raise InputError(f"chunk must be >= 1, got {chunk}")
    dims = {m: modality_dim(m) for m in modalities}
    retargeters = {m: build_retargeter(m, config=retarget_config) for m in modalities if get(m).kind != "human"}
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    bar = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=source.total, unit="pairs", desc=f"make-pairs {out.name}")
    t0 = time.perf_counter()
    done = 0
    with h5py.File(partial, "w") as f:
        f.attrs.update({"format": FORMAT, "version": VERSION, "modalities": json.dumps(list(modalities)),
                        "dims": json.dumps(dims), "source": json.dumps(source.describe),
                        "scales": json.dumps({m: (None if r.scales is None else np.asarray(r.scales).tolist())
                                              for m, r in retargeters.items()}),
                        "retarget": json.dumps(retarget_config.model_dump()),
                        "software": json.dumps(_software()), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        "complete": False})  # fmt: skip
        sets = {m: f.create_dataset(m, (0, d), maxshape=(None, d), dtype="f4", chunks=(min(chunk, 8192), d))
                for m, d in dims.items()}
        fam = f.create_dataset("family", (0,), maxshape=(None,), dtype="i1", chunks=(min(chunk, 8192),))
        for landmarks, family in source.chunks(chunk):
            values = {"human": encode_pose(landmarks)}
            values.update({m: r.retarget_batch(landmarks) for m, r in retargeters.items()})
            n = len(landmarks)
            for m, v in values.items():
                if not np.isfinite(v).all():
                    raise InputError(f"{source.describe.get('path', source.describe['kind'])}: {m} values of "
                                     f"tuples {done}..{done + n} are not finite")
                sets[m].resize(done + n, axis=0)
                sets[m][done:] = v.astype(np.float32)
            fam.resize(done + n, axis=0)
            fam[done:] = family
            done += n
            f.flush()
            if bar is not None:
                bar.update(n)
                bar.set_postfix(rate=f"{done / (time.perf_counter() - t0):.0f}/s")
            elif callable(progress):
                progress(done)
        f.attrs["complete"] = True
        f.attrs["seconds"] = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    partial.replace(out)
    return PairsSummary(out, done, time.perf_counter() - t0, modalities)


# ---------------------------------------------------------------------------------------------- reading
@dataclass
class PairedData:
    """Paired arrays (float32, (N, D) per modality) with the file's provenance."""

    data: dict[str, np.ndarray]
    attrs: dict
    path: Path | None = None
    family: np.ndarray | None = None  # (N,) grasp family index (sampler.FAMILIES) or -1

    def __len__(self) -> int:
        return len(next(iter(self.data.values())))

    @property
    def modalities(self) -> list[str]:
        return list(self.data)

    def subset(self, index) -> "PairedData":
        fam = None if self.family is None else self.family[index]
        return PairedData({m: v[index] for m, v in self.data.items()}, self.attrs, self.path, fam)


def validate_pairs(data: dict[str, np.ndarray], where: str, modalities: Sequence[str] | None = None) -> None:
    """Same length, the registered dims and finite values for every modality, else InputError naming the problem."""
    if modalities is not None:
        missing = [m for m in modalities if m not in data]
        if missing:
            raise InputError(f"{where}: missing modality {missing} (it holds {sorted(data)})")
    lengths = {m: len(v) for m, v in data.items()}
    if len(set(lengths.values())) > 1:
        raise InputError(f"{where}: modalities have different lengths {lengths}")
    for m, v in data.items():
        expected = modality_dim(m)
        if v.ndim != 2 or v.shape[1] != expected:
            raise InputError(f"{where}: modality '{m}' has shape {v.shape}, expected (N, {expected})")
        bad = ~np.isfinite(v)
        if bad.any():
            rows = np.flatnonzero(bad.any(axis=1))
            raise InputError(f"{where}: modality '{m}' has {int(bad.sum())} NaN/inf values in "
                             f"{len(rows)} tuple(s), first rows {rows[:5].tolist()}")


def load_pairs(path: str | Path, modalities: Sequence[str] | None = None) -> PairedData:
    """Read a pairs file (all modalities, or those named), checking format, completeness, dims and NaN."""
    import h5py

    path = Path(path)
    if not path.exists():
        partial = path.with_name(path.name + ".partial")
        hint = f" ({partial.name} exists: make-pairs did not finish)" if partial.exists() else ""
        raise InputError(f"{path}: pairs file not found{hint}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{path}: not a readable HDF5 file ({exc})") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise InputError(f"{path}: not a latent pairs file (format attribute is {f.attrs.get('format')!r}, "
                             f"expected {FORMAT!r})")
        if int(f.attrs.get("version", -1)) > VERSION:
            raise InputError(f"{path}: pairs format version {f.attrs['version']} is newer than this software ({VERSION})")
        if not bool(f.attrs.get("complete", False)):
            raise InputError(f"{path}: the file is incomplete (writing was interrupted)")
        stored = json.loads(f.attrs["modalities"])
        wanted = list(modalities) if modalities is not None else stored
        missing = [m for m in wanted if m not in stored or m not in f]
        if missing:
            raise InputError(f"{path}: missing modality {missing} (the file holds {stored})")
        data = {m: np.asarray(f[m][()], dtype=np.float32) for m in wanted}
        attrs = {k: (json.loads(v) if k in ("modalities", "dims", "source", "scales", "retarget", "software") else v)
                 for k, v in f.attrs.items()}
        family = f["family"][()] if "family" in f else None
    validate_pairs(data, str(path), wanted)
    return PairedData(data, attrs, path, family)
