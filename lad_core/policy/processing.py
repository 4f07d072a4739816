"""Normalization as its own processing step, with the statistics saved next to every checkpoint.

Low-dim observations share one set of statistics (the observation space is common to all datasets); actions are
normalized per embodiment (paper 3.3.2: "normalize the sub-batches"), so one checkpoint keeps a statistics entry for
every embodiment it was trained on. Images are not normalized here (the image encoder scales uint8 itself).
A key without statistics is an :class:`InputError`, never a silent pass-through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lad_core.errors import InputError

_EPS = 1e-6


@dataclass
class Stats:
    """Per-dimension statistics of one array key."""

    min: np.ndarray
    max: np.ndarray
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def from_batches(cls, batches: Iterable[np.ndarray]) -> "Stats":
        """Streaming statistics over (..., D) batches."""
        lo = hi = None
        total, s1, s2 = 0, 0.0, 0.0
        for arr in batches:
            flat = np.asarray(arr, dtype=np.float64).reshape(-1, np.shape(arr)[-1])
            if not len(flat):
                continue
            lo = flat.min(0) if lo is None else np.minimum(lo, flat.min(0))
            hi = flat.max(0) if hi is None else np.maximum(hi, flat.max(0))
            total += len(flat)
            s1 = s1 + flat.sum(0)
            s2 = s2 + (flat**2).sum(0)
        if lo is None:
            raise InputError("cannot compute statistics of an empty array")
        mean = s1 / total
        std = np.sqrt(np.maximum(s2 / total - mean**2, 0.0))
        return cls(*(np.asarray(v, dtype=np.float32) for v in (lo, hi, mean, std)))

    @classmethod
    def concat(cls, parts: list["Stats"]) -> "Stats":
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("min", "max", "mean", "std")))


class Normalizer:
    """Maps observations and actions to the network's range and back.

    ``min_max`` maps [min, max] to [-1, 1] (a dimension with range below 1e-6 maps to 0); ``mean_std`` standardizes.
    ``action_joint_from``: action dims from this index on (the latent block) are scaled jointly: each is centred
    (mid-range for ``min_max``, mean for ``mean_std``) and all share one scale, the Euclidean norm of their
    half-ranges (or stds). The block keeps its geometry (a rotation of the latent space stays a rotation), every
    coordinate stays inside [-1, 1], and commands that vary along one direction (a gripper's width encoded by a linear
    map) span [-1, 1] along it, as one explicit dimension would. ``None``: every dim is scaled on its own.
    """

    def __init__(self, obs: dict[str, Stats], action: dict[str, Stats], *, obs_mode: str = "min_max",
                 action_mode: str = "min_max", action_joint_from: int | None = None):
        self.obs = dict(obs)
        self.action = dict(action)
        self.obs_mode = obs_mode
        self.action_mode = action_mode
        self.action_joint_from = action_joint_from
        self._cache: dict[tuple[str, str], tuple[torch.Tensor, torch.Tensor]] = {}

    def _affine(self, group: str, key: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(scale, offset) with normalized = x * scale + offset."""
        cached = self._cache.get((group, key))
        if cached is not None:
            return cached
        table = self.obs if group == "obs" else self.action
        stats = table.get(key)
        if stats is None:
            what = "observation" if group == "obs" else "embodiment"
            raise InputError(f"no normalization statistics for {what} '{key}' (have {sorted(table)}); the "
                             f"checkpoint was not trained with it")
        mode = self.obs_mode if group == "obs" else self.action_mode
        if mode == "min_max":
            rng = stats.max - stats.min
            ok = rng > _EPS
            scale = np.where(ok, 2.0 / np.where(ok, rng, 1.0), 1.0)
            offset = np.where(ok, -1.0 - stats.min * scale, -stats.min)
        else:
            scale = 1.0 / np.maximum(stats.std, _EPS)
            offset = -stats.mean * scale
        if group == "action" and self.action_joint_from is not None:
            j = self.action_joint_from
            if mode == "min_max":
                centre = (stats.max[j:].astype(np.float64) + stats.min[j:]) / 2.0
                half = (stats.max[j:].astype(np.float64) - stats.min[j:]) / 2.0
            else:
                centre, half = stats.mean[j:].astype(np.float64), stats.std[j:].astype(np.float64)
            spread = float(np.sqrt(np.sum(half**2)))
            shared = 1.0 / spread if spread > _EPS / 2 else 1.0
            scale, offset = scale.astype(np.float64).copy(), offset.astype(np.float64).copy()
            scale[j:] = shared
            offset[j:] = -centre * shared
        out = (torch.as_tensor(scale, dtype=torch.float32), torch.as_tensor(offset, dtype=torch.float32))
        self._cache[(group, key)] = out
        return out

    def _check_dim(self, x: torch.Tensor, scale: torch.Tensor, what: str) -> None:
        if x.shape[-1] != scale.shape[0]:
            raise InputError(f"{what} has {x.shape[-1]} values per step, its statistics {scale.shape[0]}")

    def normalize_obs(self, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Low-dim keys normalized; ``images/...`` keys passed on unchanged."""
        out = {}
        for key, value in obs.items():
            if key.startswith("images/"):
                out[key] = value
                continue
            scale, offset = self._affine("obs", key)
            self._check_dim(value, scale, f"observation '{key}'")
            out[key] = value * scale.to(value.device) + offset.to(value.device)
        return out

    def normalize_action(self, action: torch.Tensor, embodiment: str) -> torch.Tensor:
        scale, offset = self._affine("action", embodiment)
        self._check_dim(action, scale, f"action of '{embodiment}'")
        return action * scale.to(action.device) + offset.to(action.device)

    def unnormalize_action(self, action: torch.Tensor, embodiment: str) -> torch.Tensor:
        scale, offset = self._affine("action", embodiment)
        self._check_dim(action, scale, f"action of '{embodiment}'")
        return (action - offset.to(action.device)) / scale.to(action.device)

    # ------------------------------------------------------------------------------------------ persistence
    def state_dict(self) -> dict[str, torch.Tensor]:
        out = {}
        for group, table in (("obs", self.obs), ("action", self.action)):
            for key, stats in table.items():
                for f in ("min", "max", "mean", "std"):
                    out[f"{group}/{key}/{f}"] = torch.from_numpy(np.ascontiguousarray(getattr(stats, f)))
        return out

    def save(self, path: str | Path) -> None:
        from safetensors.torch import save_file

        meta = {"obs_mode": self.obs_mode, "action_mode": self.action_mode}
        if self.action_joint_from is not None:
            meta["action_joint_from"] = str(self.action_joint_from)
        save_file(self.state_dict(), str(path), metadata=meta)

    @classmethod
    def load(cls, path: str | Path) -> "Normalizer":
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: normalization statistics are missing; a checkpoint needs its stats file")
        tables: dict[str, dict[str, dict[str, np.ndarray]]] = {"obs": {}, "action": {}}
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            for name in f.keys():
                group, key, stat = name.split("/")
                tables[group].setdefault(key, {})[stat] = f.get_tensor(name).numpy()
        try:
            built = {g: {k: Stats(**v) for k, v in t.items()} for g, t in tables.items()}
        except TypeError as exc:
            raise InputError(f"{path}: incomplete statistics ({exc})") from None
        joint = meta.get("action_joint_from")
        return cls(built["obs"], built["action"], obs_mode=meta.get("obs_mode", "min_max"),
                   action_mode=meta.get("action_mode", "min_max"),
                   action_joint_from=int(joint) if joint is not None else None)
