"""Retargeting settings: one validated config shared by the batched and the streaming modes."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lad_core.embodiments.spec import read_yaml
from lad_core.errors import ConfigError


class RetargetConfig(BaseModel):
    """Defaults: the fast batched mode (nearest codebook start, 6 iterations; >= 20,000 poses/s for a 16-DoF hand).
    ``converged()`` is the slower, steadier mode that paired latent data is made with."""

    model_config = ConfigDict(extra="forbid")

    max_iterations: int = Field(30, ge=1, description="Levenberg-Marquardt iterations for a cold start from rest")
    batch_iterations: int = Field(6, ge=1, description="iterations per pose in batched mode (from the codebook)")
    codebook_size: int = Field(512, ge=1, description="solved human poses used as batched warm starts")
    codebook_neighbours: int = Field(
        1, ge=1, description="batched mode starts from a blend of this many nearest codebook solutions (1 = nearest)"
    )
    streaming_iterations: int = Field(5, ge=1, description="iterations per frame when warm-started")
    tolerance: float = Field(1e-4, gt=0, description="stop when no joint moves more than this (rad)")
    damping: float = Field(1e-3, gt=0, description="initial Levenberg-Marquardt damping")
    smoothness_weight: float = Field(
        2e-4, ge=0, description="streaming: weight of ||q - q_prev||^2 next to the keyvector energy (m^2/rad^2)"
    )
    lowpass_alpha: float = Field(1.0, gt=0, le=1, description="streaming output filter: 1 = off, smaller = smoother")
    batch_chunk: int = Field(512, ge=1, description="poses per vectorized chunk in batched mode")
    batch_workers: int = Field(2, ge=1, description="threads solving chunks in parallel in batched mode")

    @classmethod
    def converged(cls) -> "RetargetConfig":
        """Batched solves from a blend of 16 codebook solutions, 15 iterations: about half the speed, 8-11% lower
        energy, and far fewer poses whose answer jumps under small landmark noise (lad_core/retarget/codebook.py).
        A latent model learns a smooth map, so the jumps of the fast mode are error it cannot fit."""
        return cls(batch_iterations=15, codebook_neighbours=16)

    @classmethod
    def load(cls, path: str | Path) -> "RetargetConfig":
        data = read_yaml(path)
        try:
            return cls(**data.get("retarget", data))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(err["msg"], source=path, field=".".join(map(str, err["loc"]))) from None
