"""The contrastive latent action model: per-modality MLP encoders q_m and decoders p_m, normalization, InfoNCE.

Shapes: B batch, D_m a modality's action size (human 189, faive 11, mimic 16, gripper 1), Dz latent size.

- :class:`MLP` (paper appendix 7.1.1): an input Linear + ReLU, then per further hidden layer LayerNorm -> Linear ->
  ReLU -> Dropout, then LayerNorm + Linear. (A LayerNorm directly on the input would erase a 1-D gripper width,
  so normalization starts after the input layer, as the appendix's "after the input layer" says.)
- :class:`Normalizer`: per-dimension mean/std of the training data, a buffer saved in the checkpoint; missing
  stats are an error, never a silent pass-through.
- Encoders output unit vectors (L2-normalized), so the dot products of Eq. 4 are cosine similarities and the
  temperature has a fixed meaning; decoders read those unit vectors.
- :func:`info_nce`: Eq. 4 over every modality pair, both directions, averaged over the M(M-1) ordered pairs.
- :class:`LatentActionModel`: ``encode(embodiment, x)``, ``decode(embodiment, z)``, ``cross(src, dst, x)`` take
  numpy or torch, any leading batch shape, and return the same kind; ``save(dir)`` / ``load(dir)`` use
  safetensors + JSON (see :mod:`lad_core.latent.checkpoint` for the layout and the checks).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lad_core.errors import InputError


class MLP(nn.Module):
    def __init__(self, in_dim: int, hidden: list[int], out_dim: int, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(in_dim, hidden[0]), nn.ReLU()]
        prev = hidden[0]
        for width in hidden[1:]:
            layers += [nn.LayerNorm(prev), nn.Linear(prev, width), nn.ReLU(), nn.Dropout(dropout)]
            prev = width
        layers += [nn.LayerNorm(prev), nn.Linear(prev, out_dim)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Normalizer(nn.Module):
    """x -> (x - mean) / std per dimension; stats are buffers (saved with the weights)."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.full((dim,), float("nan")))  # NaN until fitted: unfitted use is an error

    @property
    def fitted(self) -> bool:
        return bool(torch.isfinite(self.std).all())

    def fit(self, x: torch.Tensor, std_floor: float) -> None:
        self.mean.copy_(x.mean(0))
        self.std.copy_(x.std(0).clamp_min(std_floor))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def unnormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean


def info_nce(latents: Mapping[str, torch.Tensor], temperature: float) -> tuple[torch.Tensor, dict[str, float]]:
    """Eq. 4: mean over ordered modality pairs (i -> j) of the InfoNCE cross-entropy with in-batch negatives.

    latents: modality -> (B, Dz) unit vectors of the same B paired samples. Returns the loss and each ordered
    pair's value (``"i->j"``) for logging.
    """
    names = list(latents)
    if len(names) < 2:
        raise InputError(f"InfoNCE needs at least two modalities, got {names}")
    b = next(iter(latents.values())).shape[0]
    target = torch.arange(b, device=next(iter(latents.values())).device)
    total = torch.zeros((), device=target.device)
    parts: dict[str, float] = {}
    for a_i, a in enumerate(names):
        for c in names[a_i + 1 :]:
            logits = latents[a] @ latents[c].T / temperature  # (B, B): row n, column k = q_a(x_a^n) . q_c(x_c^k)
            l_ac = F.cross_entropy(logits, target)
            l_ca = F.cross_entropy(logits.T, target)
            parts[f"{a}->{c}"], parts[f"{c}->{a}"] = float(l_ac.detach()), float(l_ca.detach())
            total = total + l_ac + l_ca
    return total / (len(names) * (len(names) - 1)), parts


class LatentActionModel(nn.Module):
    """Encoders and decoders of every modality around one shared latent space.

    ``dims``: modality -> action size; ``hidden``: modality -> hidden widths.
    """

    def __init__(self, dims: Mapping[str, int], latent_dim: int, hidden: Mapping[str, list[int]],
                 dropout: float = 0.0, std_floor: float = 1e-3, meta: dict | None = None):
        super().__init__()
        self.dims = {m: int(d) for m, d in dims.items()}
        self.latent_dim = int(latent_dim)
        self.hidden = {m: list(hidden[m]) for m in self.dims}
        self.dropout = float(dropout)
        self.std_floor = float(std_floor)
        self.meta = dict(meta or {})
        self.encoders = nn.ModuleDict({m: MLP(d, self.hidden[m], self.latent_dim, dropout) for m, d in self.dims.items()})
        self.decoders = nn.ModuleDict({m: MLP(self.latent_dim, self.hidden[m][::-1], d, dropout)
                                       for m, d in self.dims.items()})
        self.normalizers = nn.ModuleDict({m: Normalizer(d) for m, d in self.dims.items()})

    @classmethod
    def from_config(cls, model_config, dims: Mapping[str, int] | None = None) -> "LatentActionModel":
        from lad_core.latent.pairs import modality_dim

        dims = dims or {m: modality_dim(m) for m in model_config.modalities}
        return cls(dims, model_config.latent_dim, {m: model_config.hidden_for(m) for m in model_config.modalities},
                   model_config.dropout, model_config.std_floor)

    @property
    def embodiments(self) -> list[str]:
        return list(self.dims)

    def architecture(self) -> dict:
        return {"dims": self.dims, "latent_dim": self.latent_dim, "hidden": self.hidden, "dropout": self.dropout,
                "std_floor": self.std_floor}

    # ------------------------------------------------------------------ training-time (normalized space)
    def fit_normalization(self, data: Mapping[str, torch.Tensor]) -> None:
        for m in self.dims:
            self.normalizers[m].fit(torch.as_tensor(data[m], dtype=torch.float32), self.std_floor)

    def embed(self, modality: str, x_norm: torch.Tensor) -> torch.Tensor:
        """Normalized actions (B, D_m) -> unit latents (B, Dz)."""
        return F.normalize(self.encoders[modality](x_norm), dim=-1)

    def reconstruct(self, modality: str, z: torch.Tensor) -> torch.Tensor:
        """Latents (B, Dz) -> normalized actions (B, D_m)."""
        return self.decoders[modality](z)

    # ------------------------------------------------------------------ public API (raw units)
    def _check(self, embodiment: str, x, size: int, what: str) -> torch.Tensor:
        if embodiment not in self.dims:
            raise InputError(f"latent model has no '{embodiment}' modality (it knows {self.embodiments})")
        t = torch.as_tensor(x, dtype=torch.float32)
        if t.ndim == 0 or t.shape[-1] != size:
            raise InputError(f"{what} for '{embodiment}': expected last dimension {size}, got shape {tuple(t.shape)}")
        if not torch.isfinite(t).all():
            raise InputError(f"{what} for '{embodiment}': {int((~torch.isfinite(t)).sum())} NaN/inf values")
        norm = self.normalizers[embodiment]
        if not norm.fitted:
            raise InputError(f"latent model: normalization statistics of '{embodiment}' were never fitted")
        return t

    @staticmethod
    def _like(out: torch.Tensor, x):
        if isinstance(x, torch.Tensor):
            return out.to(x.device) if x.dtype == torch.float32 else out.to(device=x.device, dtype=x.dtype)
        return out.numpy()

    @torch.no_grad()
    def encode(self, embodiment: str, x):
        """(..., D_m) actions -> (..., Dz) unit latents; numpy in -> numpy out, torch in -> torch out."""
        t = self._check(embodiment, x, self.dims.get(embodiment, -1), "actions")
        flat = t.reshape(-1, t.shape[-1])
        z = self.embed(embodiment, self.normalizers[embodiment].normalize(flat))
        return self._like(z.reshape(*t.shape[:-1], self.latent_dim), x)

    @torch.no_grad()
    def decode(self, embodiment: str, z, clip: bool = True):
        """(..., Dz) latents -> (..., D_m) actions, clipped to the embodiment's joint limits when `clip`."""
        t = self._check(embodiment, z, self.latent_dim, "latents")
        flat = t.reshape(-1, self.latent_dim)
        out = self.normalizers[embodiment].unnormalize(self.reconstruct(embodiment, flat))
        if clip:
            out = self._clip(embodiment, out)
        return self._like(out.reshape(*t.shape[:-1], self.dims[embodiment]), z)

    def cross(self, src: str, dst: str, x, clip: bool = True):
        """Encode `x` as embodiment `src`, decode as `dst` (cross-reconstruction; src == dst is self-reconstruction)."""
        return self.decode(dst, self.encode(src, x), clip=clip)

    def _clip(self, embodiment: str, out: torch.Tensor) -> torch.Tensor:
        limits = _limits(embodiment)
        if limits is None:
            return out
        lo, hi = (torch.as_tensor(v, dtype=out.dtype) for v in limits)
        return torch.maximum(torch.minimum(out, hi), lo)

    # ------------------------------------------------------------------ persistence
    def save(self, path, extra: dict | None = None):
        from lad_core.latent.checkpoint import save_model

        return save_model(self, path, extra)

    @classmethod
    def load(cls, path, embodiments=None) -> "LatentActionModel":
        """Load a checkpoint folder; `embodiments` (names) must all be in it. Errors say what does not match."""
        from lad_core.latent.checkpoint import load_model

        return load_model(path, embodiments)


def _limits(embodiment: str):
    from lad_core.embodiments import get

    try:
        spec = get(embodiment)
    except Exception:  # an embodiment unknown to the registry has no limits to apply
        return None
    if spec.kind == "human":
        return None
    return np.asarray(spec.lower, dtype=np.float32), np.asarray(spec.upper, dtype=np.float32)
