"""Validated configs of the contrastive latent action model: architecture, data, temperature and the two stages.

YAML layout (``resources/configs/latent/*.yaml``)::

    name: mimic_gripper
    model: {modalities: [mimic, gripper], latent_dim: 16, hidden: [32, 128, 128, 32], dropout: 0.0}
    data: {pairs: ../../../runs/latent/pairs.h5, val_fraction: 0.05}
    temperature: {start: 0.25, end: 0.16, anneal: true}
    stage1: {epochs: 5000, batch_size: 16384, optimizer: adamw, lr: 1.0e-5, weight_decay: 1.0e-3}
    stage2: {epochs: 10000, ..., finetune_encoders: true, encoder_lr_scale: 0.1, contrastive_weight: 1.0}
    run: {seed: 0, eval_every: 1, checkpoint_every: 1, threads: 2}

``hidden`` is one list for every modality or a mapping modality -> list (the paper's Faive setup gives each
modality its own width). Relative paths resolve against the YAML file's folder. Unknown keys, wrong types and bad
values raise ConfigError naming the file and the field. No torch import here.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lad_core.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(_Strict):
    modalities: list[str] = Field(min_length=2, description="embodiment names (registry), e.g. [human, faive, gripper]")
    latent_dim: int = Field(gt=0)
    hidden: list[int] | dict[str, list[int]] = Field(description="hidden widths, shared or per modality")
    dropout: float = Field(0.0, ge=0, lt=1)
    std_floor: float = Field(1e-3, gt=0, description="lower bound of a dimension's std in the normalization")

    @field_validator("modalities")
    @classmethod
    def _unique(cls, v):
        if len(set(v)) != len(v):
            raise ValueError(f"modalities repeat: {v}")
        return v

    @model_validator(mode="after")
    def _hidden(self):
        if isinstance(self.hidden, dict):
            missing = [m for m in self.modalities if m not in self.hidden]
            extra = [m for m in self.hidden if m not in self.modalities]
            if missing or extra:
                raise ValueError(f"hidden widths must name exactly the modalities; missing {missing}, unknown {extra}")
        for widths in (self.hidden.values() if isinstance(self.hidden, dict) else [self.hidden]):
            if not widths or any(w <= 0 for w in widths):
                raise ValueError(f"hidden widths must be a non-empty list of positive integers, got {widths}")
        return self

    def hidden_for(self, modality: str) -> list[int]:
        return list(self.hidden[modality] if isinstance(self.hidden, dict) else self.hidden)


class DataConfig(_Strict):
    pairs: str = Field(description="HDF5 pairs file from `lad latent make-pairs` (relative: to the YAML's folder)")
    val_fraction: float = Field(0.05, gt=0, lt=1)
    max_tuples: int | None = Field(None, gt=0, description="use only the first N tuples (after shuffling)")
    input_noise: dict[str, float] = Field(default_factory=dict, description="NOT in the paper ({} = paper): "
                                          "modality -> std of Gaussian noise added to that encoder's normalized "
                                          "input while training (robustness to poses unlike the training set)")

    @field_validator("input_noise")
    @classmethod
    def _noise(cls, v):
        bad = {k: s for k, s in v.items() if not s >= 0}
        if bad:
            raise ValueError(f"noise std must be >= 0, got {bad}")
        return v


class TemperatureConfig(_Strict):
    start: float = Field(gt=0)
    end: float = Field(gt=0)
    anneal: bool = Field(True, description="exponential start -> end over stage 1; false: constant at `end`")

    def at(self, progress: float) -> float:
        """Temperature at a fraction `progress` in [0, 1] of stage 1 (stage 2 uses `end`)."""
        if not self.anneal:
            return self.end
        p = min(max(progress, 0.0), 1.0)
        return self.start * (self.end / self.start) ** p


class StageConfig(_Strict):
    epochs: int = Field(ge=0)
    batch_size: int = Field(ge=2)
    optimizer: Literal["adam", "adamw"] = "adam"
    lr: float = Field(gt=0)
    weight_decay: float = Field(0.0, ge=0)
    lr_schedule: Literal["constant", "cosine"] = Field("constant", description="constant (paper) or cosine decay "
                                                       "per step over the stage from lr to lr * min_lr_scale")
    min_lr_scale: float = Field(0.05, ge=0, le=1, description="final lr fraction of the cosine schedule")

    def lr_factor(self, progress: float) -> float:
        """Multiplier of the base learning rates at a fraction `progress` in [0, 1] of the stage."""
        if self.lr_schedule == "constant":
            return 1.0
        p = min(max(progress, 0.0), 1.0)
        return self.min_lr_scale + (1.0 - self.min_lr_scale) * 0.5 * (1.0 + math.cos(math.pi * p))


class Stage2Config(StageConfig):
    finetune_encoders: bool = Field(True, description="false: encoders frozen while the decoders train")
    encoder_lr_scale: float = Field(0.1, gt=0, le=1, description="encoder lr = lr * scale when fine-tuning")
    contrastive_weight: float = Field(1.0, ge=0, description="lambda of Eq. 6")
    cross_weight: float = Field(0.0, ge=0, description="NOT in the paper (0 = paper): weight of a cross-reconstruction "
                                "term, each modality decoded from another modality's latent (round-robin source)")
    cross_sources: list[str] | None = Field(None, description="modalities whose latents serve as sources of the "
                                            "cross term (None: all). Leaving the gripper out keeps gripper -> hand "
                                            "decoding from regressing to the mean hand of a width (docs/latent.md)")
    fingertip_weight: float = Field(0.0, ge=0, description="NOT in the paper (0 = paper): weight of the squared "
                                    "fingertip error (cm^2) of decoded hands, self and cross (fingertip_terms.py)")
    sweep_weight: float = Field(0.0, ge=0, description="NOT in the paper (0 = paper): weight of the aperture term "
                                "of hands decoded from uniform gripper widths (fingertip_terms.py)")
    sweep_batch: int = Field(256, ge=2, description="widths drawn per step for the sweep term")
    ema_decay: float = Field(0.0, ge=0, lt=1, description="NOT in the paper (0 = off): validate and ship an "
                             "exponential moving average of the stage-2 weights with this maximum decay "
                             "(lad_core.ema.EmaWeights, the policies' average and warm-up)")


class RunConfig(_Strict):
    seed: int = 0
    eval_every: int = Field(1, ge=1, description="epochs between validation passes")
    checkpoint_every: int = Field(1, ge=1, description="epochs between resumable checkpoints")
    threads: int = Field(1, ge=1, description="torch CPU threads (1: on the shared 2-core box 2 threads ran 20x slower)")
    device: str = "cpu"


class LatentConfig(_Strict):
    name: str
    model: ModelConfig
    data: DataConfig
    temperature: TemperatureConfig
    stage1: StageConfig
    stage2: Stage2Config
    run: RunConfig = RunConfig()
    source_file: str | None = Field(None, exclude=True)

    def pairs_path(self) -> Path:
        p = Path(self.data.pairs).expanduser()
        if not p.is_absolute() and self.source_file:
            p = Path(self.source_file).parent / p
        return p

    def with_changes(self, **sections) -> "LatentConfig":
        """A new config with sections updated, e.g. ``with_changes(stage2={"finetune_encoders": False})``."""
        data = self.to_mapping()
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return config_from_mapping(data, source=self.source_file)

    def to_mapping(self) -> dict:
        return copy.deepcopy(self.model_dump(mode="json"))


def _describe(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    field = ".".join(str(x) for x in err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key (a typo?)"
    elif "input" in err and err["type"] not in ("missing",):
        msg = f"{msg} (got {err['input']!r})"
    return field, msg


def config_from_mapping(data: dict, source: str | Path | None = None) -> LatentConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping at the top level, got {type(data).__name__}", source=source)
    data = copy.deepcopy(data)
    data.pop("source_file", None)
    try:
        cfg = LatentConfig(**data, source_file=str(source) if source is not None else None)
    except ValidationError as exc:
        field, msg = _describe(exc)
        raise ConfigError(msg, source=source, field=field) from None
    from lad_core.embodiments import names

    known = names()
    unknown = [m for m in cfg.model.modalities if known and m not in known]
    if unknown:
        raise ConfigError(f"unknown embodiment(s) {unknown}; registered: {known}", source=source, field="model.modalities")
    mods = cfg.model.modalities
    unknown = [m for m in cfg.data.input_noise if m not in mods]
    if unknown:
        raise ConfigError(f"names modalities not in model.modalities {mods}: {unknown}", source=source,
                          field="data.input_noise")
    sources = cfg.stage2.cross_sources
    if sources is not None and (not sources or any(m not in mods for m in sources)):
        raise ConfigError(f"must be a non-empty list of model.modalities {mods}, got {sources}", source=source,
                          field="stage2.cross_sources")
    if cfg.stage2.sweep_weight > 0 and ("gripper" not in mods or len(mods) < 2):
        raise ConfigError(f"needs a gripper and a hand among model.modalities, got {mods}", source=source,
                          field="stage2.sweep_weight")
    return cfg


def load_config(path: str | Path) -> LatentConfig:
    from lad_core.embodiments.spec import read_yaml

    path = Path(path)
    if not path.exists():
        raise ConfigError("config file not found", source=path)
    return config_from_mapping(read_yaml(path), source=path)
