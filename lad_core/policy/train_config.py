"""The training config: policy, datasets with co-training weights, latent model, optimizer, EMA and run settings.

YAML layout (see ``resources/configs/policy/*.yaml``)::

    policy: {type: unet, horizon: 16, ...}     # type selects the policy's config class
    datasets: [{name: gripper, embodiment: gripper, weight: 1.0, path: data/gripper}, ...]
    latent: {kind: checkpoint, path: latent.ckpt}  # or {kind: linear, dim: 8} (stand-in); omit when explicit
    optim: {...}
    ema: {...}
    run: {...}

Relative paths are resolved against the YAML file's folder. Unknown keys, wrong types and bad values are
ConfigErrors naming the file and the field. No torch import here.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lad_core.errors import ConfigError
from lad_core.policy.configuration import PolicyConfig, _check, _positive, from_mapping, to_mapping
from lad_core.policy.factory import config_class


@dataclass(frozen=True)
class SyntheticSource:
    """Synthetic trajectories (:func:`lad_core.policy.sources.synthetic_episodes`)."""

    episodes: int = 20
    length: int = 60
    end_effector_dim: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("episodes", "length", "end_effector_dim"):
            _positive(f"synthetic.{name}", getattr(self, name))


@dataclass(frozen=True)
class DatasetConfig:
    """One dataset: a folder of HDF5 episodes (``path``) or ``synthetic`` trajectories, and its co-training weight."""

    name: str
    embodiment: str
    weight: float = 1.0
    path: str | None = None
    synthetic: SyntheticSource | None = None

    def __post_init__(self) -> None:
        _check(bool(self.name), "datasets.name", self.name, "must be non-empty")
        _check(bool(self.embodiment), "datasets.embodiment", self.embodiment, "must be non-empty")
        _check(self.weight >= 0, f"datasets[{self.name}].weight", self.weight, "must be >= 0")
        _check((self.path is None) != (self.synthetic is None), f"datasets[{self.name}]", self.path,
               "give exactly one of 'path' and 'synthetic'")


@dataclass(frozen=True)
class LatentConfig:
    """The frozen latent action model: a trained ``checkpoint`` (path) or the ``linear`` stand-in (dim, seed)."""

    kind: Literal["checkpoint", "linear"] = "checkpoint"
    path: str | None = None
    dim: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        _check(self.kind != "checkpoint" or bool(self.path), "latent.path", self.path, "needed for kind 'checkpoint'")
        _check(self.kind != "linear" or (isinstance(self.dim, int) and self.dim > 0), "latent.dim", self.dim,
               "a positive integer is needed for kind 'linear'")


@dataclass(frozen=True)
class OptimConfig:
    name: Literal["adam", "adamw"] = "adamw"
    lr: float = 1e-4
    weight_decay: float = 1e-6
    betas: tuple[float, ...] = (0.95, 0.999)
    warmup_steps: int = 500
    grad_clip: float | None = None

    def __post_init__(self) -> None:
        _check(self.name in ("adam", "adamw"), "optim.name", self.name, "must be 'adam' or 'adamw'")
        _check(self.lr > 0, "optim.lr", self.lr, "must be > 0")
        _check(self.weight_decay >= 0, "optim.weight_decay", self.weight_decay, "must be >= 0")
        _check(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "optim.betas", self.betas,
               "must be two values in [0, 1)")
        _check(self.warmup_steps >= 0, "optim.warmup_steps", self.warmup_steps, "must be >= 0")
        _check(self.grad_clip is None or self.grad_clip > 0, "optim.grad_clip", self.grad_clip, "must be > 0")


@dataclass(frozen=True)
class EmaConfig:
    enabled: bool = True
    max_decay: float = 0.9999
    power: float = 0.75

    def __post_init__(self) -> None:
        _check(0 < self.max_decay < 1, "ema.max_decay", self.max_decay, "must be in (0, 1)")
        _check(self.power > 0, "ema.power", self.power, "must be > 0")


@dataclass(frozen=True)
class RunConfig:
    steps: int = 1000
    batch_size: int = 64
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 500
    device: str = "cpu"
    num_threads: int = 2
    tensorboard: bool = True

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every", "checkpoint_every", "num_threads"):
            _positive(f"run.{name}", getattr(self, name))
        _check(self.device == "cpu" or self.device.startswith("cuda"), "run.device", self.device,
               "must be 'cpu' or 'cuda[:N]'")


@dataclass(frozen=True)
class TrainConfig:
    policy_type: str
    policy: PolicyConfig
    datasets: tuple[DatasetConfig, ...]
    latent: LatentConfig | None = None
    optim: OptimConfig = field(default_factory=OptimConfig)
    ema: EmaConfig = field(default_factory=EmaConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        _check(len(self.datasets) > 0, "datasets", [], "at least one dataset is needed")
        names = [d.name for d in self.datasets]
        _check(len(set(names)) == len(names), "datasets", names, "dataset names must be unique")
        _check(sum(d.weight for d in self.datasets) > 0, "datasets", [d.weight for d in self.datasets],
               "weights must not all be zero")
        latent_mode = self.policy.action.end_effector == "latent"
        _check(not latent_mode or self.latent is not None, "latent", None,
               "action.end_effector is 'latent', so a latent model is needed")
        _check(latent_mode or len({d.embodiment for d in self.datasets}) == 1, "datasets",
               sorted({d.embodiment for d in self.datasets}),
               "explicit end-effector actions cannot be co-trained across embodiments (use latent actions)")
        if latent_mode and self.latent is not None and self.latent.kind == "linear":
            _check(self.latent.dim == self.policy.action.end_effector_dim, "latent.dim", self.latent.dim,
                   f"must equal policy.action.end_effector_dim={self.policy.action.end_effector_dim}")

    def to_dict(self) -> dict[str, Any]:
        data = to_mapping(self)
        data["policy"] = {"type": data.pop("policy_type"), **data["policy"]}
        return data


def train_config_from_dict(data: dict[str, Any], *, source: str | Path | None = None,
                           base_dir: str | Path | None = None) -> TrainConfig:
    """Build a TrainConfig from plain data (``data`` is copied, never changed)."""
    src = str(source) if source is not None else None
    if not isinstance(data, dict):
        raise ConfigError("the config must be a mapping", source=src)
    data = copy.deepcopy(data)
    policy = data.pop("policy", None)
    if not isinstance(policy, dict) or "type" not in policy:
        raise ConfigError("a 'policy' mapping with a 'type' is needed", source=src, field="policy.type")
    policy_type = policy.pop("type")
    policy_cfg = from_mapping(config_class(policy_type, src), policy, source=src, prefix="policy")
    cfg = from_mapping(_TrainFields, data, source=src)
    try:
        out = TrainConfig(policy_type=policy_type, policy=policy_cfg, datasets=cfg.datasets, latent=cfg.latent,
                          optim=cfg.optim, ema=cfg.ema, run=cfg.run)
    except ConfigError as exc:
        if src is None:
            raise
        raise ConfigError(str(exc).split(": ", 1)[-1] if exc.field else str(exc), source=src,
                          field=exc.field) from None
    if base_dir is not None:
        out = resolve_paths(out, Path(base_dir))
    return out


@dataclass(frozen=True)
class _TrainFields:
    """Everything but the policy, for key checking."""

    datasets: tuple[DatasetConfig, ...]
    latent: LatentConfig | None = None
    optim: OptimConfig = field(default_factory=OptimConfig)
    ema: EmaConfig = field(default_factory=EmaConfig)
    run: RunConfig = field(default_factory=RunConfig)


def resolve_paths(cfg: TrainConfig, base: Path) -> TrainConfig:
    def fix(p: str | None) -> str | None:
        return p if p is None or Path(p).is_absolute() else str(base / p)

    datasets = tuple(dataclasses.replace(d, path=fix(d.path)) for d in cfg.datasets)
    latent = cfg.latent and dataclasses.replace(cfg.latent, path=fix(cfg.latent.path))
    return dataclasses.replace(cfg, datasets=datasets, latent=latent)


def load_train_config(path: str | Path) -> TrainConfig:
    """Read and validate a YAML training config; errors name ``path`` and the field."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError("config file not found", source=path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML ({exc})", source=path) from None
    return train_config_from_dict(data, source=path, base_dir=path.parent)
