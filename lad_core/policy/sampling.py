"""Cross-embodiment co-training batches (paper Sec. 3.3.2).

Dataset weights w_j are normalized to sum to one; each batch of B samples holds a sub-batch of round(B * w_j) samples
from dataset j. The rounding is stochastic (systematic rounding: floor or ceil, the total kept at exactly B), so
that over many steps each dataset is drawn exactly in proportion to its weight.
Within a dataset, windows are drawn without replacement through a ``torch.utils.data.DistributedSampler`` (one per
dataset, reshuffled every pass), so under DDP every rank sees a disjoint shard. Each sub-batch's end-effector
commands are projected to the latent space by that embodiment's frozen encoder (latent mode), prefixed with the arm
actions, normalized with that embodiment's statistics, and the sub-batches are concatenated. With an embodiment cue,
each sample's observation also gets the one-hot of its dataset's embodiment (``embodiment_cue``, not normalized).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from lad_core.errors import ConfigError
from lad_core.policy.dataset import WindowDataset
from lad_core.policy.latent import LatentCodec
from lad_core.policy.observation import CUE_KEY, embodiment_one_hot
from lad_core.policy.processing import Normalizer


def normalize_weights(weights: Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or not len(w) or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ConfigError(f"dataset weights must be non-negative with a positive sum, got {list(weights)}",
                          field="datasets.weight")
    return w / w.sum()


def sub_batch_sizes(batch_size: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """round(B * w_j) by systematic stochastic rounding: each size is floor or ceil of B * w_j with expectation
    exactly B * w_j, and the sizes sum to B."""
    cum = np.concatenate([[0.0], np.cumsum(batch_size * np.asarray(weights, dtype=np.float64))])
    cum[-1] = batch_size  # guard against float drift
    u = rng.random()
    return np.diff(np.floor(cum + u)).astype(np.int64)


class _IndexStream:
    """Endless, resumable window indices of one dataset through a DistributedSampler (epoch after epoch)."""

    def __init__(self, length: int, seed: int, rank: int, world_size: int):
        from torch.utils.data import DistributedSampler

        self.sampler = DistributedSampler(range(length), num_replicas=world_size, rank=rank, shuffle=True, seed=seed,
                                          drop_last=False)
        self.epoch = 0
        self.pos = 0
        self._order = self._load_order()

    def _load_order(self) -> list[int]:
        self.sampler.set_epoch(self.epoch)
        return list(self.sampler)

    def take(self, n: int) -> np.ndarray:
        out = []
        while len(out) < n:
            if self.pos >= len(self._order):
                self.epoch += 1
                self.pos = 0
                self._order = self._load_order()
            k = min(n - len(out), len(self._order) - self.pos)
            out.extend(self._order[self.pos:self.pos + k])
            self.pos += k
        return np.asarray(out, dtype=np.int64)

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        self._order = self._load_order()


class CoTrainingSampler:
    """Per-step window indices for every dataset: ``next() -> list of index arrays`` (one per dataset)."""

    def __init__(self, lengths: Sequence[int], weights: Sequence[float], batch_size: int, *, seed: int = 0,
                 rank: int = 0, world_size: int = 1):
        self.weights = normalize_weights(weights)
        if len(lengths) != len(self.weights):
            raise ValueError("one weight per dataset")
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)  # same sub-batch sizes on every rank: one shared position
        self.streams = [_IndexStream(n, seed + j, rank, world_size) for j, n in enumerate(lengths)]

    def next(self) -> list[np.ndarray]:
        sizes = sub_batch_sizes(self.batch_size, self.weights, self.rng)
        return [stream.take(int(n)) for stream, n in zip(self.streams, sizes)]

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "streams": [s.state_dict() for s in self.streams]}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        for stream, s in zip(self.streams, state["streams"]):
            stream.load_state_dict(s)


def action_chunk(window: dict, embodiment: str, codec: LatentCodec | None) -> torch.Tensor:
    """(B, H, Da + Dz) raw (unnormalized) action chunk: arm actions followed by the latent (or explicit) end-effector."""
    arm = torch.from_numpy(window["arm"])
    ee = torch.from_numpy(window["end_effector"])
    if codec is not None:
        ee = codec.encode(embodiment, ee)
    return torch.cat([arm, ee], dim=-1)


class CoTrainingBatcher:
    """Builds one normalized, concatenated training batch per call (see the module docstring)."""

    def __init__(self, datasets: Sequence[WindowDataset], sampler: CoTrainingSampler, normalizer: Normalizer,
                 codec: LatentCodec | None, *, embodiment_cue: Sequence[str] = ()):
        self.datasets = list(datasets)
        self.sampler = sampler
        self.normalizer = normalizer
        self.codec = codec
        self.embodiment_cue = tuple(embodiment_cue)

    def __call__(self) -> dict:
        obs_parts: dict[str, list[torch.Tensor]] = {}
        actions, sources, cues = [], [], []
        for j, (ds, idx) in enumerate(zip(self.datasets, self.sampler.next())):
            if not len(idx):
                continue
            window = ds.get_batch(idx)
            for key, value in window["obs"].items():
                obs_parts.setdefault(key, []).append(torch.from_numpy(np.ascontiguousarray(value)))
            raw = action_chunk(window, ds.embodiment, self.codec)
            actions.append(self.normalizer.normalize_action(raw, ds.embodiment))
            sources.append(torch.full((len(idx),), j, dtype=torch.long))
            if self.embodiment_cue:
                cues.append(embodiment_one_hot(self.embodiment_cue, ds.embodiment, len(idx), ds.n_obs_steps))
        obs = self.normalizer.normalize_obs({k: torch.cat(v) for k, v in obs_parts.items()})
        if cues:
            obs[CUE_KEY] = torch.cat(cues)
        return {"obs": obs, "action": torch.cat(actions), "dataset_index": torch.cat(sources)}
