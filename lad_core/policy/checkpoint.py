"""Checkpoints as data: safetensors weights + JSON config + safetensors normalization statistics, never pickles.

A checkpoint folder holds ``model.safetensors`` (raw weights), ``ema.safetensors`` (EMA weights, when enabled),
``stats.safetensors`` (the :class:`~lad_core.policy.processing.Normalizer`), ``latent_basis.safetensors`` (the
:class:`~lad_core.policy.latent.LatentBasis`, with ``action.latent_basis`` only), ``config.json`` (the full training
config, the step, the embodiments and the latent model's description) and, for resuming, ``train_state.safetensors``
+ ``train_state.json`` (optimizer tensors and scalars, LR schedule, RNG and sampler positions). Folders are written
under a temporary name and renamed into place; ``LATEST`` in the parent names the newest.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lad_core.errors import ConfigError, InputError
from lad_core.policy.configuration import to_mapping
from lad_core.policy.latent import LatentBasis
from lad_core.policy.processing import Normalizer
from lad_core.policy.train_config import TrainConfig, train_config_from_dict

FORMAT = "lad-policy/1"


def _optimizer_to_data(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for pid, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim/{pid}/{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{pid}/{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _optimizer_from_data(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim/"):
            _, pid, key = name.split("/", 2)
            state.setdefault(int(pid), {})[key] = value
    for name, value in meta["scalars"].items():
        pid, key = name.split("/", 1)
        state.setdefault(int(pid), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(folder: Path, *, config: TrainConfig, step: int, model_state: dict[str, torch.Tensor],
                    ema_state: dict[str, torch.Tensor] | None, normalizer: Normalizer, meta: dict[str, Any],
                    optimizer: torch.optim.Optimizer | None = None, lr_scheduler=None,
                    extra_state: dict[str, Any] | None = None, latent_basis: LatentBasis | None = None) -> Path:
    """Write one checkpoint atomically into ``folder`` (replacing it) and point ``LATEST`` at it."""
    from safetensors.torch import save_file

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cpu = lambda sd: {k: v.detach().cpu().contiguous() for k, v in sd.items()}  # noqa: E731
    save_file(cpu(model_state), str(tmp / "model.safetensors"))
    if ema_state is not None:
        save_file(cpu(ema_state), str(tmp / "ema.safetensors"))
    normalizer.save(tmp / "stats.safetensors")
    if latent_basis is not None:
        latent_basis.save(tmp / LatentBasis.FILE)
    doc = {"format": FORMAT, "step": step, "policy_type": config.policy_type, "train_config": config.to_dict(),
           **meta}
    (tmp / "config.json").write_text(json.dumps(doc, indent=2))
    if optimizer is not None:
        tensors, opt_meta = _optimizer_to_data(optimizer.state_dict())
        tensors["rng/torch"] = torch.get_rng_state()
        save_file(tensors, str(tmp / "train_state.safetensors"))
        state = {"optimizer": opt_meta, "lr_scheduler": lr_scheduler.state_dict() if lr_scheduler else None,
                 **(extra_state or {})}
        (tmp / "train_state.json").write_text(json.dumps(state))
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    latest = folder.parent / "LATEST"
    latest.with_suffix(".tmp").write_text(folder.name)
    os.replace(latest.with_suffix(".tmp"), latest)
    return folder


def latest_checkpoint(checkpoints_dir: Path) -> Path | None:
    latest = Path(checkpoints_dir) / "LATEST"
    if not latest.is_file():
        return None
    folder = latest.parent / latest.read_text().strip()
    return folder if folder.is_dir() else None


def read_checkpoint_meta(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    path = folder / "config.json"
    if not path.is_file():
        raise InputError(f"{folder}: not a policy checkpoint (config.json missing)")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: unreadable JSON ({exc})") from None
    if doc.get("format") != FORMAT:
        raise InputError(f"{path}: unsupported checkpoint format {doc.get('format')!r} (expected {FORMAT!r})")
    return doc


def _first_difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any] | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            diff = _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
            if diff:
                return diff
        return None
    return None if a == b else (path, a, b)


def check_compatible(checkpoint: dict[str, Any], config: TrainConfig, source: str | Path) -> None:
    """Raise ConfigError when ``config``'s policy differs from the checkpoint's (observation layout first)."""
    # re-read through the config classes, so keys added since the checkpoint was written compare as their defaults
    saved = train_config_from_dict(checkpoint["train_config"], source=source).to_dict()["policy"]
    current = config.to_dict()["policy"]
    for section in ("observation", "type", "n_obs_steps", "action"):
        diff = _first_difference(saved.get(section), current.get(section), f"policy.{section}")
        if diff:
            what = "observation layout" if section in ("observation", "n_obs_steps") else "policy"
            raise ConfigError(f"the checkpoint was trained for another {what}: {diff[0]} is {diff[1]!r} there, "
                              f"{diff[2]!r} here", source=source, field=diff[0])
    diff = _first_difference(saved, current, "policy")
    if diff:
        raise ConfigError(f"the checkpoint's policy differs: {diff[0]} is {diff[1]!r} there, {diff[2]!r} here",
                          source=source, field=diff[0])


@dataclass
class LoadedPolicy:
    policy: Any  # DiffusionPolicy
    normalizer: Normalizer
    config: TrainConfig
    meta: dict[str, Any]
    latent_basis: LatentBasis | None = None  # with action.latent_basis: the basis the policy predicts in

    @property
    def embodiments(self) -> list[str]:
        return list(self.meta.get("embodiments", []))


def load_policy(folder: str | Path, *, use_ema: bool = True, device: str = "cpu",
                observation: Any | None = None) -> LoadedPolicy:
    """Rebuild a policy from a checkpoint folder (EMA weights when present and ``use_ema``).

    ``observation``: an ObservationConfig the caller will feed; a different layout is a ConfigError.
    """
    from safetensors.torch import load_file

    from lad_core.policy.factory import make_policy

    folder = Path(folder)
    meta = read_checkpoint_meta(folder)
    config = train_config_from_dict(meta["train_config"], source=folder / "config.json")
    if observation is not None:
        saved = to_mapping(config.policy.observation)
        diff = _first_difference(saved, to_mapping(observation), "policy.observation")
        if diff:
            raise ConfigError(f"the checkpoint was trained for another observation layout: {diff[0]} is "
                              f"{diff[1]!r} there, {diff[2]!r} here", source=folder, field=diff[0])
    policy = make_policy(config.policy_type, config.policy)
    weights = folder / ("ema.safetensors" if use_ema and (folder / "ema.safetensors").is_file() else "model.safetensors")
    if not weights.is_file():
        raise InputError(f"{folder}: weights file {weights.name} missing")
    state = load_file(str(weights))
    missing, unexpected = policy.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise InputError(f"{weights}: weights do not fit the policy (missing {missing[:5]}, unexpected "
                         f"{unexpected[:5]})")
    normalizer = Normalizer.load(folder / "stats.safetensors")
    basis = LatentBasis.load(folder / LatentBasis.FILE) if config.policy.action.latent_basis is not None else None
    policy.to(device).eval()
    return LoadedPolicy(policy, normalizer, config, meta, basis)
