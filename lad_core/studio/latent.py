"""The latent inspector's data, without Qt: a 2-D PCA projection of encoded paired data coloured by modality, the
SR/CR readouts of a latent checkpoint, and human input sequences (an episode or a ``lad track --out`` file) for
the frame scrubber.

    data = projection_data(model)                 # the checkpoint's pairs file if present, else fresh synthetic
    proj = LatentProjection.fit(model, data)      # proj.points[modality] (N, 2); proj.project(z) -> (2,)
    seq = read_human_sequence("episode_000003.h5")  # (N, 21, 3) canonical landmarks, NaN rows where no hand
    readouts = metric_readouts(model.meta)        # SR/CR and the enc->dec table, or None

``projection_data`` retargets a few hundred synthetic poses (about a second): call it from a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lad_core.errors import InputError


def _pairs_from_provenance(model) -> Path | None:
    import lad_core

    pairs = ((model.meta or {}).get("provenance") or {}).get("pairs")
    if not pairs:
        return None
    for base in (Path.cwd(), Path(lad_core.__file__).resolve().parents[1]):
        path = Path(pairs) if Path(pairs).is_absolute() else base / pairs
        if path.is_file():
            return path
    return None


def projection_data(model, pairs: str | Path | None = None, n: int = 300, seed: int = 0) -> tuple[dict, str]:
    """``({modality: (n, D)}, where)``: ``n`` rows of paired data for every modality of ``model``: from ``pairs``,
    else the checkpoint's own pairs file when it exists here, else synthetic hands retargeted now."""
    from lad_core.latent.pairs import load_pairs

    path = Path(pairs) if pairs is not None else _pairs_from_provenance(model)
    if path is not None:
        data = load_pairs(path, modalities=list(model.embodiments)).data
        total = len(next(iter(data.values())))
        rows = np.linspace(0, total - 1, min(n, total)).astype(int)
        return {m: np.asarray(v[rows], np.float32) for m, v in data.items()}, f"{path.name} ({len(rows)} of {total})"
    from lad_core.embodiments import get
    from lad_core.embodiments.human import encode_pose
    from lad_core.latent.pairs import synthetic_source
    from lad_core.retarget import build_retargeter

    landmarks, _ = next(synthetic_source(n, seed=seed).chunks(n))
    out = {}
    for m in model.embodiments:
        if get(m).kind == "human":
            out[m] = encode_pose(landmarks).astype(np.float32)
        else:
            out[m] = np.asarray(build_retargeter(m).retarget_batch(landmarks), np.float32)
    return out, f"{n} synthetic hands retargeted now"


@dataclass
class LatentProjection:
    """PCA of the encoded points of every modality together (2 components)."""

    mean: np.ndarray  # (Z,)
    components: np.ndarray  # (2, Z)
    points: dict[str, np.ndarray]  # modality -> (N, 2)
    explained: tuple[float, float]  # variance ratio of the two components

    @classmethod
    def fit(cls, model, data: dict[str, np.ndarray]) -> "LatentProjection":
        encoded = {m: np.asarray(model.encode(m, np.asarray(x, np.float32)), np.float64) for m, x in data.items()}
        stacked = np.concatenate(list(encoded.values()))
        if len(stacked) < 3:
            raise InputError(f"a projection needs at least 3 encoded points, got {len(stacked)}")
        mean = stacked.mean(axis=0)
        _, s, vt = np.linalg.svd(stacked - mean, full_matrices=False)
        var = s**2 / max(float((s**2).sum()), 1e-12)
        comps = vt[:2]
        return cls(mean, comps, {m: (z - mean) @ comps.T for m, z in encoded.items()},
                   (float(var[0]), float(var[1]) if len(var) > 1 else 0.0))

    def project(self, z) -> np.ndarray:
        return (np.asarray(z, np.float64) - self.mean) @ self.components.T


def metric_readouts(meta: dict | None) -> dict | None:
    """``{"sr": mean self-reconstruction loss, "cr": mean cross-reconstruction loss, "names": [...],
    "matrix": (M, M) loss, rows encoded / columns decoded, "n": validation tuples}`` from a checkpoint's stored
    metrics (``lad latent train`` writes them), or None when the checkpoint has none."""
    from lad_core.latent.metrics import cr_matrix, sr_cr_summary

    metrics = (meta or {}).get("metrics")
    if not metrics:
        return None
    table = metrics.get("val", metrics)
    if "loss" not in table:
        return None
    summary = metrics.get("summary") or sr_cr_summary(table)
    names, matrix = cr_matrix(table)
    return {"sr": float(summary["sr"]), "cr": float(summary["cr"]), "names": names, "matrix": matrix,
            "n": table.get("n")}


def read_human_sequence(path: str | Path) -> np.ndarray:
    """(N, 21, 3) canonical landmarks of a recording: a studio/teleop episode (``observations/human_landmarks``),
    a ``lad track --out`` landmark file, or an (N, 21, 3) ``.npy``. Rows are NaN where no hand was seen."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: recording not found")
    if path.suffix in (".h5", ".hdf5"):
        import h5py

        try:
            with h5py.File(path, "r") as f:
                is_landmarks = f.attrs.get("format") == "lad.landmarks"
        except OSError as exc:
            raise InputError(f"{path}: not a readable HDF5 file ({exc})") from None
        if not is_landmarks:
            from lad_core.episodes import read_episode

            data = read_episode(path)
            obs = data.observations.get("human_landmarks")
            if obs is None:
                raise InputError(f"{path}: the episode has no observations/human_landmarks (a robot rollout has no "
                                 "human input to scrub)")
            return np.asarray(obs, np.float64).reshape(-1, 21, 3)
    from lad_core.tracking.recording import read_landmarks

    rec = read_landmarks(path)
    seq = np.asarray(rec.canonical, np.float64).copy()
    seq[~np.asarray(rec.present, bool)] = np.nan
    return seq
