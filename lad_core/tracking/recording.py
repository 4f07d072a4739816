"""Landmark recordings in HDF5: `LandmarkWriter` (crash-tolerant, chunked) and `read_landmarks`.

Layout (one group per file, root attributes `format="lad.landmarks"`, `version=1`, `source`, `hand`)::

    timestamp        (N,)        float64  seconds
    present          (N,)        bool     a valid hand in this frame
    lost             (N,)        bool     tracking-loss flag (pose held)
    handedness       (N,)        int8     1 right, -1 left, 0 none
    score            (N,)        float32
    image_landmarks  (N, 21, 3)  float32  normalised image coordinates (NaN when no hand)
    world_landmarks  (N, 21, 3)  float32  metres, detector frame (NaN when no hand)
    canonical        (N, 21, 3)  float32  canonical wrist frame, filtered (held pose while lost; NaN before any)
    theta            (N, 189)    float32  theta_H of `canonical`

The writer writes under a temporary name, flushes every `flush_every` frames and renames on close, so a crash
loses at most the last few frames of a usable ``.partial`` file and never leaves a file under the final name
that cannot be read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lad_core.errors import InputError
from lad_core.tracking.types import TrackedFrame

FORMAT = "lad.landmarks"
_HAND_CODE = {"right": 1, "left": -1, None: 0}
_FIELDS_3D = ("image_landmarks", "world_landmarks", "canonical")


class LandmarkWriter:
    def __init__(self, path: str | Path, *, source: str = "", hand: str = "either", flush_every: int = 30):
        import h5py

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp_path = self.path.with_name(self.path.name + ".partial")
        self._h5 = h5py.File(self.tmp_path, "w")
        self._h5.attrs.update({"format": FORMAT, "version": 1, "source": str(source), "hand": str(hand)})
        specs = {"timestamp": ((), "f8"), "present": ((), "?"), "lost": ((), "?"), "handedness": ((), "i1"),
                 "score": ((), "f4"), "image_landmarks": ((21, 3), "f4"), "world_landmarks": ((21, 3), "f4"),
                 "canonical": ((21, 3), "f4"), "theta": ((189,), "f4")}  # fmt: skip
        self._ds = {
            name: self._h5.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=dtype,
                                          chunks=(256, *shape))  # fmt: skip
            for name, (shape, dtype) in specs.items()
        }
        self.count = 0
        self.flush_every = max(1, int(flush_every))

    def append(self, frame: TrackedFrame) -> None:
        nan3 = np.full((21, 3), np.nan, dtype=np.float32)
        values = {
            "timestamp": frame.timestamp, "present": frame.present, "lost": frame.lost,
            "handedness": _HAND_CODE.get(frame.handedness, 0), "score": frame.score,
            "image_landmarks": frame.image_landmarks if frame.image_landmarks is not None else nan3,
            "world_landmarks": frame.world_landmarks if frame.world_landmarks is not None else nan3,
            "canonical": frame.canonical if frame.canonical is not None else nan3,
            "theta": frame.theta if frame.theta is not None else np.full(189, np.nan, dtype=np.float32),
        }  # fmt: skip
        n = self.count
        for name, ds in self._ds.items():
            ds.resize(n + 1, axis=0)
            ds[n] = values[name]
        self.count += 1
        if self.count % self.flush_every == 0:
            self._h5.flush()

    def close(self) -> Path:
        if self._h5 is None:
            return self.path
        self._h5.attrs["frames"] = self.count
        self._h5.close()
        self._h5 = None
        os.replace(self.tmp_path, self.path)
        return self.path

    def __enter__(self) -> "LandmarkWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class LandmarkRecording:
    timestamp: np.ndarray
    present: np.ndarray
    handedness: np.ndarray
    score: np.ndarray
    image_landmarks: np.ndarray | None
    world_landmarks: np.ndarray | None
    canonical: np.ndarray
    theta: np.ndarray | None
    attrs: dict

    def __len__(self) -> int:
        return len(self.timestamp)


def read_landmarks(path: str | Path, *, fps: float = 30.0) -> LandmarkRecording:
    """Read a recording written by `LandmarkWriter`, or a plain ``.npy`` (N, 21, 3) canonical sequence at `fps`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"landmark file {path}: file not found")
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise InputError(f"landmark file {path}: not a readable .npy array ({exc})") from exc
        if arr.ndim != 3 or arr.shape[1:] != (21, 3):
            raise InputError(f"landmark file {path}: expected an (N, 21, 3) array, got {arr.shape}")
        n = len(arr)
        ok = np.isfinite(arr).all(axis=(1, 2))
        return LandmarkRecording(timestamp=np.arange(n) / float(fps), present=ok, handedness=np.ones(n, np.int8),
                                 score=ok.astype(np.float32), image_landmarks=None, world_landmarks=None,
                                 canonical=arr.astype(np.float64), theta=None, attrs={"source": str(path)})  # fmt: skip
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            if h5.attrs.get("format") != FORMAT:
                raise InputError(f"landmark file {path}: not a LAD landmark recording (format attribute missing)")
            missing = [k for k in ("timestamp", "present", "canonical") if k not in h5]
            if missing:
                raise InputError(f"landmark file {path}: datasets {missing} are missing")
            get = lambda k: h5[k][()] if k in h5 else None  # noqa: E731
            n = len(h5["timestamp"])
            return LandmarkRecording(
                timestamp=get("timestamp"), present=get("present").astype(bool),
                handedness=get("handedness") if "handedness" in h5 else np.ones(n, np.int8),
                score=get("score") if "score" in h5 else np.ones(n, np.float32),
                image_landmarks=get("image_landmarks"), world_landmarks=get("world_landmarks"),
                canonical=get("canonical"), theta=get("theta"), attrs=dict(h5.attrs),
            )  # fmt: skip
    except OSError as exc:
        raise InputError(f"landmark file {path}: not a readable HDF5 file ({exc})") from exc


def read_hand_poses(path: str | Path) -> np.ndarray:
    """The (N, 21, 3) canonical landmarks of a landmark file, for retargeting and paired data.

    A `lad track --out` recording gives its frames with a hand present (lost frames hold an old pose and would
    count twice); a ``.npy`` gives every frame, and must be finite.
    """
    from lad_core.embodiments.human import validate_landmarks

    recording = read_landmarks(path)
    poses = recording.canonical if Path(path).suffix.lower() == ".npy" else recording.canonical[recording.present]
    if len(poses) == 0:
        raise InputError(f"landmark file {path}: no frame with a hand")
    return validate_landmarks(poses, name=f"landmark file {path}")
