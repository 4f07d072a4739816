"""The latent action model as seen by the policy: per-embodiment encoder and decoder callables.

The policy needs only ``encoder(embodiment)`` (explicit end-effector commands (N, De) -> latents (N, Dz)) for
training and ``decoder(embodiment)`` (latents -> commands) at rollout. :class:`LatentCodec` holds such callables;
:meth:`LatentCodec.from_model` adapts any object with ``encode(embodiment, x)`` / ``decode(embodiment, z)`` (the
``lad_core.latent.LatentActionModel`` API), and :func:`load_latent_codec` loads that model from its checkpoint
folder. :class:`LinearCodec` is a fixed random orthonormal stand-in for tests and
CPU experiments before a trained latent model exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch

from lad_core.errors import ConfigError, InputError, LadError

Coder = Callable[[torch.Tensor], torch.Tensor]


class LatentCodec:
    """``unit_norm``: the encoders output unit vectors (so a policy may project its predicted latents onto the unit
    sphere before decoding, ``ActionConfig.project_latent``)."""

    def __init__(self, encoders: Mapping[str, Coder], decoders: Mapping[str, Coder], latent_dim: int,
                 name: str = "latent model", *, unit_norm: bool = False):
        self.encoders = dict(encoders)
        self.decoders = dict(decoders)
        self.latent_dim = int(latent_dim)
        self.name = name
        self.unit_norm = bool(unit_norm)

    @property
    def embodiments(self) -> list[str]:
        return sorted(self.encoders)

    def _lookup(self, table: dict, embodiment: str, what: str) -> Coder:
        if embodiment not in table:
            raise ConfigError(f"{self.name} has no {what} for embodiment '{embodiment}' (it knows {sorted(table)})",
                              field="datasets.embodiment")
        return table[embodiment]

    def encoder(self, embodiment: str) -> Coder:
        return self._lookup(self.encoders, embodiment, "encoder")

    def decoder(self, embodiment: str) -> Coder:
        return self._lookup(self.decoders, embodiment, "decoder")

    @torch.no_grad()
    def encode(self, embodiment: str, x: torch.Tensor) -> torch.Tensor:
        """(..., De) -> (..., Dz), applied step-wise."""
        z = self.encoder(embodiment)(x.reshape(-1, x.shape[-1]))
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.shape[-1] != self.latent_dim:
            raise InputError(f"{self.name}: encoder of '{embodiment}' returned {z.shape[-1]} values, expected "
                             f"latent_dim={self.latent_dim}")
        return z.reshape(*x.shape[:-1], self.latent_dim)

    @torch.no_grad()
    def decode(self, embodiment: str, z: torch.Tensor) -> torch.Tensor:
        out = torch.as_tensor(self.decoder(embodiment)(z.reshape(-1, z.shape[-1])), dtype=torch.float32)
        return out.reshape(*z.shape[:-1], out.shape[-1])

    @classmethod
    def from_model(cls, model, name: str = "latent model", *, unit_norm: bool | None = None) -> "LatentCodec":
        """Adapt an object with ``embodiments``, ``latent_dim``, ``encode(emb, x)`` and ``decode(emb, z)``.
        ``unit_norm``: whether its latents are unit vectors (default: the model's ``unit_norm`` attribute, else
        False)."""
        embodiments = list(getattr(model, "embodiments"))
        encoders = {e: (lambda x, e=e: model.encode(e, x)) for e in embodiments}
        decoders = {e: (lambda z, e=e: model.decode(e, z)) for e in embodiments}
        if unit_norm is None:
            unit_norm = bool(getattr(model, "unit_norm", False))
        return cls(encoders, decoders, int(getattr(model, "latent_dim")), name=name, unit_norm=unit_norm)


class LinearCodec(LatentCodec):
    """Stand-in latent model: a fixed random orthonormal embedding per embodiment (De <= Dz), decoded exactly by its
    transpose. Deterministic for a seed."""

    def __init__(self, dims: Mapping[str, int], latent_dim: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        encoders, decoders = {}, {}
        for emb in sorted(dims):
            de = int(dims[emb])
            if de > latent_dim:
                raise ConfigError(f"embodiment '{emb}' has {de} action dims, more than latent_dim={latent_dim}",
                                  field="latent.dim")
            q, _ = np.linalg.qr(rng.standard_normal((latent_dim, de)))
            mat = torch.as_tensor(q[:, :de].T, dtype=torch.float32)  # (De, Dz), orthonormal rows
            encoders[emb] = lambda x, m=mat: torch.as_tensor(x, dtype=torch.float32) @ m
            decoders[emb] = lambda z, m=mat: torch.as_tensor(z, dtype=torch.float32) @ m.T
        super().__init__(encoders, decoders, latent_dim, name=f"linear stand-in latent model (seed {seed})")


def load_latent_codec(path: str | Path, embodiments: list[str] | None = None) -> LatentCodec:
    """Load the trained latent action model (:class:`lad_core.latent.LatentActionModel`, a checkpoint folder written
    by ``lad latent train``) from ``path`` as a frozen codec (eval mode, no gradients). ``embodiments``: names the
    model must hold (its loader's error says which are missing)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: latent model checkpoint not found")
    try:
        from lad_core.latent.modeling import LatentActionModel
    except ImportError as exc:
        raise LadError(f"{path}: loading a latent model needs lad_core.latent.LatentActionModel, which is not "
                       f"available here ({exc}); use latent.kind: linear for a stand-in") from None
    model = LatentActionModel.load(path, embodiments)
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    # LatentActionModel's encoders L2-normalize their output (its module docstring and ``embed``): unit latents
    return LatentCodec.from_model(model, name=f"latent model {path}",
                                  unit_norm=bool(getattr(model, "unit_norm", True)))
