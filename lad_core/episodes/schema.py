"""What an episode file holds: the per-episode schema (cameras, low-dim observations, action sizes), the
per-episode metadata, one recorded frame, and a whole episode in memory.

No h5py here: these are plain dataclasses shared by the writer, the reader, the recorder and the converters.
The file layout itself is documented in `docs/episodes.md`.

Shape legend: T frames, H x W image size, D feature size.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Mapping

import numpy as np

from lad_core.errors import ConfigError, InputError, UnknownEmbodimentError

SCHEMA_VERSION = 1
FORMAT_NAME = "lad-episode"  # root attribute `format`; a file without it is not one of ours
EPISODE_SUFFIX = ".h5"
PARTIAL_SUFFIX = ".partial"
EndEffectorKind = Literal["joints", "gripper_width"]
END_EFFECTOR_KINDS = ("joints", "gripper_width")

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def episode_filename(index: int) -> str:
    """`episode_000012.h5` for index 12."""
    if index < 0:
        raise InputError(f"episode index must be >= 0, got {index}")
    return f"episode_{index:06d}{EPISODE_SUFFIX}"


def partial_path(final_path: str | Path) -> Path:
    """The temporary name an episode is recorded under until it is complete."""
    final_path = Path(final_path)
    return final_path.with_name(final_path.name + PARTIAL_SUFFIX)


_warned_empty_registry = False


def known_embodiments() -> set[str] | None:
    """Names from the embodiment registry (`lad_core.embodiments.names()`), or None when it cannot tell.

    None (any non-empty name accepted, with one warning) when the registry is missing or empty, e.g. a broken
    install where no built-in embodiment loads: recorded data must stay readable then.
    """
    global _warned_empty_registry
    try:
        import lad_core.embodiments as registry

        found = set(registry.names())
    except (ImportError, AttributeError):
        return None
    if not found:
        if not _warned_empty_registry:
            _warned_empty_registry = True
            failures = getattr(registry, "load_failures", dict)()
            logging.getLogger(__name__).warning(
                "the embodiment registry is empty (%s); episode embodiment names are not validated",
                "; ".join(f"{k}: {v}" for k, v in failures.items()) or "no embodiments registered")
        return None
    return found


def validate_embodiment(name: Any, *, source: str | Path | None = None) -> str:
    """Return `name` if it is a known embodiment; raise a LadError naming the file otherwise."""
    where = f"{source}: " if source is not None else ""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"embodiment must be a non-empty string, got {name!r}", source=source, field="embodiment")
    known = known_embodiments()
    if known is not None and name not in known:
        raise UnknownEmbodimentError(
            f"{where}unknown embodiment {name!r}; known embodiments: {', '.join(sorted(known)) or '(none)'}"
        )
    return name


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(f"{kind} name {name!r} must start with a letter and use only letters, digits and _",
                          field=kind)


@dataclass(frozen=True)
class EpisodeSchema:
    """The arrays one episode holds, fixed when recording starts (HDF5 SWMR cannot add datasets later).

    cameras: camera name -> (H, W); stored as uint8 (T, H, W, 3).
    observations: low-dim observation name -> D; stored as float32 (T, D).
    arm_dim / end_effector_dim: sizes of `/actions/arm` and `/actions/end_effector` (float32).
    end_effector_kind: "joints" (explicit joint targets) or "gripper_width" (normalized width in [0, 1], D = 1).
    names: optional element names per array, keyed "observations/<name>", "actions/arm", "actions/end_effector".
    """

    cameras: Mapping[str, tuple[int, int]]
    observations: Mapping[str, int]
    arm_dim: int
    end_effector_dim: int
    end_effector_kind: EndEffectorKind = "joints"
    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cams = {}
        for cam, hw in dict(self.cameras).items():
            _check_name("camera", cam)
            if len(tuple(hw)) != 2 or any(int(v) <= 0 for v in hw):
                raise ConfigError(f"camera {cam!r} size must be (H, W) > 0, got {hw!r}", field="cameras")
            cams[cam] = (int(hw[0]), int(hw[1]))
        obs = {}
        for name, dim in dict(self.observations).items():
            _check_name("observation", name)
            if name == "images":
                raise ConfigError("'images' is reserved for cameras", field="observations")
            if int(dim) <= 0:
                raise ConfigError(f"observation {name!r} size must be > 0, got {dim!r}", field="observations")
            obs[name] = int(dim)
        for fname in ("arm_dim", "end_effector_dim"):
            if int(getattr(self, fname)) <= 0:
                raise ConfigError(f"must be > 0, got {getattr(self, fname)!r}", field=fname)
        if self.end_effector_kind not in END_EFFECTOR_KINDS:
            raise ConfigError(f"must be one of {END_EFFECTOR_KINDS}, got {self.end_effector_kind!r}",
                              field="end_effector_kind")
        if self.end_effector_kind == "gripper_width" and int(self.end_effector_dim) != 1:
            raise ConfigError(f"a gripper width is 1-D, got end_effector_dim={self.end_effector_dim}",
                              field="end_effector_dim")
        names = {}
        dims = self.lowdim_dims_of(obs, int(self.arm_dim), int(self.end_effector_dim))
        for key, value in dict(self.names).items():
            if key not in dims:
                raise ConfigError(f"names given for unknown array {key!r}; arrays: {sorted(dims)}", field="names")
            value = tuple(str(v) for v in value)
            if len(value) != dims[key]:
                raise ConfigError(f"{key!r} has {dims[key]} elements but {len(value)} names", field="names")
            names[key] = value
        object.__setattr__(self, "cameras", MappingProxyType(cams))
        object.__setattr__(self, "observations", MappingProxyType(obs))
        object.__setattr__(self, "arm_dim", int(self.arm_dim))
        object.__setattr__(self, "end_effector_dim", int(self.end_effector_dim))
        object.__setattr__(self, "names", MappingProxyType(names))

    @staticmethod
    def lowdim_dims_of(obs: Mapping[str, int], arm: int, ee: int) -> dict[str, int]:
        dims = {f"observations/{k}": v for k, v in obs.items()}
        dims["actions/arm"] = arm
        dims["actions/end_effector"] = ee
        return dims

    @property
    def lowdim_dims(self) -> dict[str, int]:
        """HDF5 path (below the root) -> D for every float array, actions included."""
        return self.lowdim_dims_of(self.observations, self.arm_dim, self.end_effector_dim)

    def names_for(self, key: str) -> tuple[str, ...]:
        """Element names of a low-dim array (given or `0..D-1`)."""
        dims = self.lowdim_dims
        return self.names.get(key, tuple(str(i) for i in range(dims[key])))

    def to_json(self) -> str:
        return json.dumps({
            "cameras": {k: list(v) for k, v in self.cameras.items()},
            "observations": dict(self.observations),
            "arm_dim": self.arm_dim,
            "end_effector_dim": self.end_effector_dim,
            "end_effector_kind": self.end_effector_kind,
            "names": {k: list(v) for k, v in self.names.items()},
        })

    def check_frame(self, frame: "Frame", *, source: str | Path | None = None) -> None:
        """Raise InputError naming the array if a frame does not match this schema (cheap: shapes and dtypes)."""
        where = f"{source}: " if source is not None else ""
        ts = frame.timestamp
        if not isinstance(ts, (int, float, np.floating, np.integer)) or not math.isfinite(float(ts)):
            raise InputError(f"{where}frame timestamp must be a finite number, got {ts!r}")
        if set(frame.images) != set(self.cameras):
            raise InputError(f"{where}frame cameras {sorted(frame.images)} != schema cameras {sorted(self.cameras)}")
        for cam, (h, w) in self.cameras.items():
            img = frame.images[cam]
            if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.shape != (h, w, 3):
                got = f"{img.dtype} {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
                raise InputError(f"{where}camera {cam!r} image must be uint8 ({h}, {w}, 3), got {got}")
        if set(frame.observations) != set(self.observations):
            raise InputError(f"{where}frame observations {sorted(frame.observations)} != schema "
                             f"{sorted(self.observations)}")
        for key, dim in self.lowdim_dims.items():
            value = frame.lowdim(key)
            if np.shape(value) != (dim,):
                raise InputError(f"{where}{key} must have shape ({dim},), got {np.shape(value)}")
            if not np.isfinite(value).all():  # NaN marks unwritten rows on disk (see repair)
                raise InputError(f"{where}{key} contains NaN or inf: {np.asarray(value).tolist()}")



def _lowdim(item, key: str) -> np.ndarray:
    """A low-dim dataset by its file key ("actions/arm", "observations/<name>") from a Frame or EpisodeData."""
    if key == "actions/arm":
        return item.arm
    if key == "actions/end_effector":
        return item.end_effector
    return item.observations[key.split("/", 1)[1]]

@dataclass
class Frame:
    """One control tick: what the cameras saw, the low-dim observations and the action commanded."""

    timestamp: float  # seconds since the episode started
    images: Mapping[str, np.ndarray]  # camera -> uint8 (H, W, 3)
    observations: Mapping[str, np.ndarray]  # name -> (D,)
    arm: np.ndarray  # (D_arm,)
    end_effector: np.ndarray  # (D_ee,)

    def lowdim(self, key: str) -> np.ndarray:
        return _lowdim(self, key)

    def copy(self) -> "Frame":
        """A deep copy, so the caller may reuse its buffers after handing a frame to the recorder."""
        return Frame(
            float(self.timestamp),
            {k: np.array(v, copy=True) for k, v in self.images.items()},
            {k: np.array(v, dtype=np.float32, copy=True) for k, v in self.observations.items()},
            np.array(self.arm, dtype=np.float32, copy=True),
            np.array(self.end_effector, dtype=np.float32, copy=True),
        )


@dataclass
class EpisodeInfo:
    """Per-episode metadata, stored as root attributes of the episode file.

    retarget_scales / calibration / extra are JSON-serialisable values (stored as JSON strings).
    num_frames, repaired and complete are filled in by the writer or the repair step, not by the caller.
    """

    embodiment: str
    task: str
    fps: float
    success: bool = False
    retarget_scales: Any = None
    calibration: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    software_version: str = ""
    schema_version: int = SCHEMA_VERSION
    created_unix: float = 0.0
    num_frames: int = 0
    complete: bool = False
    repaired: bool = False

    def __post_init__(self) -> None:
        if not self.software_version:
            from lad_core import __version__

            self.software_version = __version__
        if not isinstance(self.task, str) or not self.task.strip():
            raise ConfigError(f"task must be a non-empty string, got {self.task!r}", field="task")
        try:
            fps = float(self.fps)
        except (TypeError, ValueError):
            fps = float("nan")
        if not math.isfinite(fps) or fps <= 0:
            raise ConfigError(f"fps must be a positive number, got {self.fps!r}", field="fps")
        self.fps = fps
        for key in ("retarget_scales", "calibration", "extra"):
            try:
                json.dumps(getattr(self, key))
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"must be JSON-serialisable: {exc}", field=key) from None


@dataclass
class EpisodeData:
    """A whole episode in memory (what `EpisodeReader.load()` returns and `write_episode()` takes)."""

    info: EpisodeInfo
    schema: EpisodeSchema
    timestamps: np.ndarray  # float64 (T,)
    images: dict[str, np.ndarray]  # camera -> uint8 (T, H, W, 3)
    observations: dict[str, np.ndarray]  # name -> float32 (T, D)
    arm: np.ndarray  # float32 (T, D_arm)
    end_effector: np.ndarray  # float32 (T, D_ee)

    def __len__(self) -> int:
        return int(len(self.timestamps))

    def frame(self, t: int) -> Frame:
        return Frame(float(self.timestamps[t]), {k: v[t] for k, v in self.images.items()},
                     {k: v[t] for k, v in self.observations.items()}, self.arm[t], self.end_effector[t])

    def lowdim(self, key: str) -> np.ndarray:
        return _lowdim(self, key)
