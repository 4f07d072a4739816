"""Policy types by name: ``transformer`` and ``unet``. Modules are imported on use (torch is heavy)."""

from __future__ import annotations

import importlib
from typing import Any

from lad_core.errors import ConfigError

_POLICIES = {
    "transformer": ("lad_core.policy.transformer", "TransformerPolicyConfig", "TransformerDiffusionPolicy"),
    "unet": ("lad_core.policy.unet", "UnetPolicyConfig", "UnetDiffusionPolicy"),
}


def policy_types() -> list[str]:
    return sorted(_POLICIES)


def config_class(policy_type: str, source: str | None = None) -> type:
    if policy_type not in _POLICIES:
        raise ConfigError(f"unknown policy type {policy_type!r} (known: {policy_types()})", source=source,
                          field="policy.type")
    package = _POLICIES[policy_type][0]
    return getattr(importlib.import_module(f"{package}.configuration"), _POLICIES[policy_type][1])


def make_policy(policy_type: str, config: Any):
    config_class(policy_type)
    package, _, model_name = _POLICIES[policy_type]
    return getattr(importlib.import_module(f"{package}.modeling"), model_name)(config)
