"""Validated configuration dataclasses shared by every diffusion policy, and their YAML loading.

Every dataclass validates itself in ``__post_init__`` and raises :class:`ConfigError` naming the field and the bad
value. :func:`from_mapping` builds a dataclass tree from plain mappings (YAML), treating unknown keys and wrong types
as errors; it never mutates its input. Policy-specific configs (``transformer/configuration.py``,
``unet/configuration.py``) extend :class:`PolicyConfig`.

This module imports no torch, so loading and validating a config stays cheap.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lad_core.errors import ConfigError

ArmMode = Literal["delta", "relative"]
EndEffectorMode = Literal["latent", "explicit"]
ArmPoseObs = Literal["none", "absolute", "relative"]
NormMode = Literal["min_max", "mean_std"]
LatentNormMode = Literal["per_dim", "joint"]


def _check(cond: bool, field_name: str, value: Any, why: str) -> None:
    if not cond:
        raise ConfigError(f"{why} (got {value!r})", field=field_name)


def _positive(field_name: str, value: Any) -> None:
    _check(isinstance(value, int) and not isinstance(value, bool) and value > 0, field_name, value,
           "must be a positive integer")


def _literal(field_name: str, value: Any, allowed: tuple) -> None:
    _check(value in allowed, field_name, value, f"must be one of {list(allowed)}")


@dataclass(frozen=True)
class CameraConfig:
    """One RGB camera. ``optional`` cameras are zero-padded for embodiments whose data lacks them (paper 7.1.1)."""

    name: str
    optional: bool = False

    def __post_init__(self) -> None:
        _check(isinstance(self.name, str) and self.name.isidentifier(), "name", self.name,
               "camera name must be a non-empty identifier")


@dataclass(frozen=True)
class ObservationConfig:
    """What the policy sees at each of its ``n_obs_steps`` observation steps.

    ``lowdim`` maps a low-dimensional observation key to its size (e.g. ``{state: 10}``). ``arm_pose`` adds the
    reached arm pose (``absolute``, or ``relative`` to the current pose as in Chi et al./UMI). Images arrive as
    uint8 (H, W, 3) of ``image_size`` and are cropped to ``crop_size`` (random crop while training, centre crop
    otherwise) before a ResNet-18 with GroupNorm. ``pretrained_backbone`` is an optional torchvision ResNet-18
    weight file (.safetensors or .pth).
    """

    lowdim: dict[str, int] = field(default_factory=lambda: {"state": 10})
    arm_pose: ArmPoseObs = "absolute"
    cameras: tuple[CameraConfig, ...] = ()
    image_size: tuple[int, int] = (96, 96)
    crop_size: tuple[int, int] = (84, 84)
    pretrained_backbone: str | None = None
    normalization: NormMode = "min_max"
    embodiment_cue: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for key, dim in self.lowdim.items():
            _check(isinstance(key, str) and key.isidentifier() and key != "arm_pose", "observation.lowdim", key,
                   "keys must be identifiers other than 'arm_pose'")
            _positive(f"observation.lowdim.{key}", dim)
        _literal("observation.arm_pose", self.arm_pose, typing.get_args(ArmPoseObs))
        _literal("observation.normalization", self.normalization, typing.get_args(NormMode))
        names = [c.name for c in self.cameras]
        _check(len(set(names)) == len(names), "observation.cameras", names, "camera names must be unique")
        _check(not self.cameras or not all(c.optional for c in self.cameras), "observation.cameras", names,
               "at least one camera must be required (non-optional)")
        for name, size in (("image_size", self.image_size), ("crop_size", self.crop_size)):
            _check(len(size) == 2 and all(isinstance(v, int) and v >= 16 for v in size), f"observation.{name}",
                   size, "must be [height, width] with both >= 16")
        _check(all(c <= s for c, s in zip(self.crop_size, self.image_size)), "observation.crop_size",
               self.crop_size, f"must not exceed image_size {list(self.image_size)}")
        _check(bool(self.lowdim) or self.arm_pose != "none" or bool(self.cameras), "observation", "{}",
               "the policy must observe something (lowdim, arm_pose or cameras)")
        cue = list(self.embodiment_cue)
        _check(all(isinstance(e, str) and e.isidentifier() for e in cue) and len(set(cue)) == len(cue),
               "observation.embodiment_cue", cue, "must be a list of distinct embodiment names")

    def lowdim_keys(self, arm_dim: int) -> dict[str, int]:
        """Low-dim keys and sizes in feature order, the arm pose included."""
        keys = dict(self.lowdim)
        if self.arm_pose != "none":
            keys["arm_pose"] = arm_dim
        return keys

    def layout(self, arm_dim: int) -> dict[str, Any]:
        """A JSON-able description of the observation layout, compared when a checkpoint is loaded."""
        out = {"lowdim": self.lowdim_keys(arm_dim), "arm_pose": self.arm_pose,
               "cameras": [c.name for c in self.cameras], "crop_size": list(self.crop_size)}
        if self.embodiment_cue:
            out["embodiment_cue"] = list(self.embodiment_cue)
        return out


LatentBasisKind = Literal["pca"]


@dataclass(frozen=True)
class LatentBasisConfig:
    """A reduced basis of the latent space for latent end-effector actions: the policy predicts ``dims`` coordinates
    in it instead of the full latent. ``pca``: the mean and top-``dims`` principal components of the encoded
    end-effector commands of all training datasets together (the latent space is shared, so one basis serves every
    embodiment), fitted once at training and stored in the checkpoint."""

    kind: LatentBasisKind = "pca"
    dims: int = 3

    def __post_init__(self) -> None:
        _literal("action.latent_basis.kind", self.kind, typing.get_args(LatentBasisKind))
        _positive("action.latent_basis.dims", self.dims)


@dataclass(frozen=True)
class ActionConfig:
    """Action chunk layout: arm part (``arm_dim`` = 3 translation, or 6 = translation + rotation vector) followed by
    the end-effector part: the latent action (``latent``, size ``end_effector_dim`` = latent dim) or the
    embodiment's explicit joints/width (``explicit``, the baseline).

    How the two parts are weighed and scaled (the defaults reproduce checkpoints written before these keys existed):

    * ``arm_loss_share``: the fraction of the denoising loss carried by the arm dims, the end-effector dims carrying
      the rest, each part averaged over its own dims; so the arm keeps the same weight whatever the latent size
      (e.g. 6/7 gives a 32-d latent policy the arm weight of a 6 + 1-d explicit gripper policy). ``None``: the loss
      is the mean over all action dims, so the arm weighs ``arm_dim / dim``.
    * ``latent_normalization``: ``per_dim`` normalizes every latent coordinate on its own like the arm dims;
      ``joint`` centres each latent coordinate but scales the whole latent block by one factor (the Euclidean norm
      of its per-dim half-ranges for ``min_max``, of its stds for ``mean_std``), so the latent space keeps its
      geometry: redundant or low-variance coordinates are not stretched to the full range, and decoding a linear
      latent is an orthogonal projection in the normalized space.
    * ``project_latent``: before decoding, project each predicted latent onto the unit sphere, for latent models
      whose encoders output unit vectors (the codec says so: ``LatentCodec.unit_norm``).
    * ``latent_basis`` (:class:`LatentBasisConfig`): the policy predicts the coordinates of the latent in a reduced
      basis (``dims`` of them) rather than the ``end_effector_dim``-D latent; decoding maps them back (mean +
      coordinates @ basis, onto the unit sphere for unit-norm latent models) before the embodiment's decoder.
      ``end_effector_dim`` stays the latent model's latent size. ``None``: the full latent.
    """

    arm_dim: int = 6
    arm_mode: ArmMode = "relative"
    end_effector: EndEffectorMode = "latent"
    end_effector_dim: int = 16
    normalization: NormMode = "min_max"
    arm_loss_share: float | None = None
    latent_normalization: LatentNormMode = "per_dim"
    project_latent: bool = False
    latent_basis: LatentBasisConfig | None = None

    def __post_init__(self) -> None:
        _check(self.arm_dim in (3, 6), "action.arm_dim", self.arm_dim,
               "must be 3 (translation) or 6 (translation + rotation vector)")
        _literal("action.arm_mode", self.arm_mode, typing.get_args(ArmMode))
        _literal("action.end_effector", self.end_effector, typing.get_args(EndEffectorMode))
        _positive("action.end_effector_dim", self.end_effector_dim)
        _literal("action.normalization", self.normalization, typing.get_args(NormMode))
        if self.arm_loss_share is not None:
            _check(isinstance(self.arm_loss_share, (int, float)) and not isinstance(self.arm_loss_share, bool)
                   and 0.0 < self.arm_loss_share < 1.0, "action.arm_loss_share", self.arm_loss_share,
                   "must be a number strictly between 0 and 1, or null (mean over all dims)")
        _literal("action.latent_normalization", self.latent_normalization, typing.get_args(LatentNormMode))
        _check(isinstance(self.project_latent, bool), "action.project_latent", self.project_latent,
               "must be true or false")
        if self.end_effector == "explicit":
            _check(self.latent_normalization == "per_dim", "action.latent_normalization", self.latent_normalization,
                   "applies to latent end-effector actions only (end_effector is 'explicit')")
            _check(not self.project_latent, "action.project_latent", self.project_latent,
                   "applies to latent end-effector actions only (end_effector is 'explicit')")
            _check(self.latent_basis is None, "action.latent_basis", self.latent_basis,
                   "applies to latent end-effector actions only (end_effector is 'explicit')")
        if self.latent_basis is not None:
            _check(self.latent_basis.dims <= self.end_effector_dim, "action.latent_basis.dims",
                   self.latent_basis.dims, f"must not exceed the latent size end_effector_dim={self.end_effector_dim}")
            _check(not self.project_latent, "action.project_latent", self.project_latent,
                   "not with latent_basis, whose decoding already projects onto the unit sphere for unit-norm "
                   "latent models")

    @property
    def predicted_end_effector_dim(self) -> int:
        """End-effector values per step the policy predicts: the basis coordinates, or the full latent/commands."""
        return self.latent_basis.dims if self.latent_basis is not None else self.end_effector_dim

    @property
    def dim(self) -> int:
        return self.arm_dim + self.predicted_end_effector_dim


@dataclass(frozen=True)
class DiffusionConfig:
    """Noise schedule (diffusers DDPMScheduler for training, DDIMScheduler for inference).

    Note: diffusers' ``squaredcos_cap_v2`` schedule derives its betas from the cosine alpha-bar curve and ignores
    ``beta_start``/``beta_end``; they are kept so that a ``linear`` schedule uses the paper's values.
    """

    num_train_timesteps: int = 100
    beta_start: float = 1e-4
    beta_end: float = 0.02
    beta_schedule: Literal["squaredcos_cap_v2", "linear", "scaled_linear"] = "squaredcos_cap_v2"
    prediction_type: Literal["epsilon", "sample"] = "epsilon"
    clip_sample: bool = True
    clip_sample_range: float = 1.0
    num_inference_steps: int = 10

    def __post_init__(self) -> None:
        _positive("diffusion.num_train_timesteps", self.num_train_timesteps)
        _check(0 < self.beta_start < self.beta_end < 1, "diffusion.beta_start", (self.beta_start, self.beta_end),
               "need 0 < beta_start < beta_end < 1")
        _literal("diffusion.beta_schedule", self.beta_schedule, ("squaredcos_cap_v2", "linear", "scaled_linear"))
        _literal("diffusion.prediction_type", self.prediction_type, ("epsilon", "sample"))
        _check(self.clip_sample_range > 0, "diffusion.clip_sample_range", self.clip_sample_range, "must be > 0")
        _positive("diffusion.num_inference_steps", self.num_inference_steps)
        _check(self.num_inference_steps <= self.num_train_timesteps, "diffusion.num_inference_steps",
               self.num_inference_steps, f"must not exceed num_train_timesteps={self.num_train_timesteps}")


@dataclass(frozen=True)
class PolicyConfig:
    """Fields every diffusion policy shares. Shape legend: To = n_obs_steps, H = horizon, Ta = n_action_steps."""

    n_obs_steps: int = 2
    horizon: int = 16
    n_action_steps: int = 8
    observation: ObservationConfig = field(default_factory=ObservationConfig)
    action: ActionConfig = field(default_factory=ActionConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)

    def __post_init__(self) -> None:
        _positive("n_obs_steps", self.n_obs_steps)
        _positive("horizon", self.horizon)
        _positive("n_action_steps", self.n_action_steps)
        _check(self.n_obs_steps - 1 + self.n_action_steps <= self.horizon, "n_action_steps", self.n_action_steps,
               f"n_obs_steps - 1 + n_action_steps must be <= horizon={self.horizon}")


# --------------------------------------------------------------------------------------------- mapping -> dataclass


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(tp: Any, value: Any, where: str, source: str | None) -> Any:
    """Convert a YAML value to the annotated type, raising ConfigError(field=where) on mismatch."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    bad = ConfigError(f"expected {_type_name(tp)}, got {value!r}", source=source, field=where)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # an optional field: the one type's own error says what is wrong
            return _convert(options[0], value, where, source)
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(arg, value, where, source)
            except ConfigError:
                continue
        raise bad
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"must be one of {list(args)}, got {value!r}", source=source, field=where)
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise bad
        return from_mapping(tp, value, source=source, prefix=where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise bad
        item_tp = args[0]
        return tuple(_convert(item_tp, v, f"{where}[{i}]", source) for i, v in enumerate(value))
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise bad
        return [_convert(args[0], v, f"{where}[{i}]", source) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        return {_convert(args[0], k, where, source): _convert(args[1], v, f"{where}.{k}", source)
                for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad
        return value
    raise bad


def from_mapping(cls: type, data: dict[str, Any], *, source: str | Path | None = None, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping; unknown keys, wrong types and invalid values are ConfigErrors that name
    ``source`` (the file) and the dotted field path. ``data`` is not modified."""
    src = str(source) if source is not None else None
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping, got {type(data).__name__}", source=src, field=prefix or None)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        where = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise ConfigError(f"unknown key (allowed: {sorted(names)})", source=src, field=where)
    kwargs = {}
    for key, value in data.items():
        where = f"{prefix}.{key}" if prefix else key
        kwargs[key] = _convert(hints[key], value, where, src)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        if exc.source is None and src is not None:
            message = str(exc).split(": ", 1)[-1] if exc.field else str(exc)
            raise ConfigError(message, source=src, field=exc.field) from None
        raise
    except TypeError as exc:  # a missing required field
        raise ConfigError(str(exc), source=src, field=prefix or None) from None


def to_mapping(obj: Any) -> Any:
    """A dataclass tree as plain JSON/YAML data (tuples become lists)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_mapping(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_mapping(v) for k, v in obj.items()}
    return obj
