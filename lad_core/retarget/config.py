"""Retargeting settings: one validated config shared by the batched and the streaming modes."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lad_core.embodiments.spec import read_yaml
from lad_core.errors import ConfigError


class RetargetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_iterations: int = Field(30, ge=1, description="Levenberg-Marquardt iterations for a cold start from rest")
    batch_iterations: int = Field(6, ge=1, description="iterations per pose in batched mode (from the codebook)")
    codebook_size: int = Field(512, ge=1, description="solved human poses used as batched warm starts")
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
    def load(cls, path: str | Path) -> "RetargetConfig":
        data = read_yaml(path)
        try:
            return cls(**data.get("retarget", data))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(err["msg"], source=path, field=".".join(map(str, err["loc"]))) from None
