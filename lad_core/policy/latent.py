"""The latent action model as seen by the policy: per-embodiment encoder and decoder callables.

The policy needs only ``encoder(embodiment)`` (explicit end-effector commands (N, De) -> latents (N, Dz)) for
training and ``decoder(embodiment)`` (latents -> commands) at rollout. :class:`LatentCodec` holds such callables;
:meth:`LatentCodec.from_model` adapts any object with ``encode(embodiment, x)`` / ``decode(embodiment, z)`` (the
``lad_core.latent.LatentActionModel`` API), and :func:`load_latent_codec` loads that model from its checkpoint
folder. :class:`LinearCodec` is a fixed random orthonormal stand-in for tests and
CPU experiments before a trained latent model exists. :class:`LatentBasis` is the reduced basis a policy may predict
in (``ActionConfig.latent_basis``); :meth:`LatentBasis.reduce` wraps a codec so that its latents are the basis
coordinates.
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


class LatentBasis:
    """A reduced basis of the latent space (``ActionConfig.latent_basis``): ``mean`` (Dz,) and ``components``
    (k, Dz) with orthonormal rows. A latent z has coordinates ``(z - mean) @ components.T`` (k,); coordinates c map
    back to ``mean + c @ components``, put onto the unit sphere when the latent model's latents are unit vectors.
    ``variance_kept``: per embodiment (and ``all``), 1 - the squared error of its encoded commands reconstructed
    through the basis / their variance about their own mean, as fitted (an R^2: 1 = exact; it can fall below 0
    when the shared basis misses even that embodiment's mean)."""

    FILE = "latent_basis.safetensors"

    def __init__(self, mean: torch.Tensor, components: torch.Tensor, kind: str = "pca",
                 variance_kept: Mapping[str, float] | None = None):
        self.mean = torch.as_tensor(mean, dtype=torch.float32).contiguous()
        self.components = torch.as_tensor(components, dtype=torch.float32).contiguous()
        if self.mean.ndim != 1 or self.components.ndim != 2 or self.components.shape[1] != self.mean.shape[0]:
            raise InputError(f"latent basis: mean {tuple(self.mean.shape)} and components "
                             f"{tuple(self.components.shape)} do not fit (need (Dz,) and (k, Dz))")
        self.kind = kind
        self.variance_kept = dict(variance_kept or {})

    @property
    def dims(self) -> int:
        return self.components.shape[0]

    @property
    def latent_dim(self) -> int:
        return self.mean.shape[0]

    def coordinates(self, z: torch.Tensor) -> torch.Tensor:
        """(..., Dz) latents -> (..., k) coordinates."""
        return (torch.as_tensor(z, dtype=torch.float32) - self.mean) @ self.components.T

    def latents(self, coords: torch.Tensor, unit_norm: bool) -> torch.Tensor:
        """(..., k) coordinates -> (..., Dz) latents (unit vectors when ``unit_norm``)."""
        z = self.mean + torch.as_tensor(coords, dtype=torch.float32) @ self.components
        return torch.nn.functional.normalize(z, dim=-1) if unit_norm else z

    @classmethod
    def fit_pca(cls, latents: Mapping[str, torch.Tensor], dims: int) -> "LatentBasis":
        """Mean and top-``dims`` principal components of every embodiment's (N, Dz) latents together."""
        parts = [torch.as_tensor(z, dtype=torch.float64).reshape(-1, torch.as_tensor(z).shape[-1])
                 for z in latents.values()]
        every = torch.cat(parts)
        if dims > every.shape[1]:
            raise ConfigError(f"{dims} basis dimensions exceed the latent size {every.shape[1]}",
                              field="policy.action.latent_basis.dims")
        mean = every.mean(0)
        _, _, vh = torch.linalg.svd(every - mean, full_matrices=False)
        components = vh[:dims]
        kept = {}
        for name, z in [*zip(latents, parts), ("all", every)]:
            centred = z - mean
            residual = centred - (centred @ components.T) @ components
            spread = float(((z - z.mean(0)) ** 2).sum())
            kept[name] = 1.0 - float((residual**2).sum()) / spread if spread > 0 else 1.0
        return cls(mean.float(), components.float(), "pca", kept)

    def reduce(self, codec: LatentCodec) -> LatentCodec:
        """``codec`` seen through this basis: encoders give coordinates, decoders take them."""
        if codec.latent_dim != self.latent_dim:
            raise ConfigError(f"the latent basis is {self.latent_dim}-D, {codec.name} has latent_dim="
                              f"{codec.latent_dim}", field="latent")
        unit = codec.unit_norm
        encoders = {e: (lambda x, f=f: self.coordinates(f(x))) for e, f in codec.encoders.items()}
        decoders = {e: (lambda c, f=f: f(self.latents(c, unit))) for e, f in codec.decoders.items()}
        return LatentCodec(encoders, decoders, self.dims, name=f"{codec.name} in a {self.dims}-D {self.kind} basis")

    def describe(self) -> dict:
        return {"kind": self.kind, "dims": self.dims, "variance_kept": {k: round(v, 6)
                                                                        for k, v in self.variance_kept.items()}}

    def save(self, path: str | Path) -> None:
        import json

        from safetensors.torch import save_file

        save_file({"mean": self.mean, "components": self.components}, str(path),
                  metadata={"kind": self.kind, "variance_kept": json.dumps(self.variance_kept)})

    @classmethod
    def load(cls, path: str | Path) -> "LatentBasis":
        import json

        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: the latent basis the policy was trained with is missing")
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        if set(tensors) != {"mean", "components"}:
            raise InputError(f"{path}: a latent basis needs 'mean' and 'components', has {sorted(tensors)}")
        return cls(tensors["mean"], tensors["components"], meta.get("kind", "pca"),
                   json.loads(meta.get("variance_kept", "{}")))
