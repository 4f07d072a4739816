"""Entry-point targets of the built-in embodiments: each loads its YAML from resources/embodiments."""

from __future__ import annotations

from lad_core.embodiments.spec import EmbodimentSpec, load_spec
from lad_core.paths import resource


def _load(name: str) -> EmbodimentSpec:
    return load_spec(resource("embodiments", f"{name}.yaml"))


def human() -> EmbodimentSpec:
    return _load("human")


def faive() -> EmbodimentSpec:
    return _load("faive")


def mimic() -> EmbodimentSpec:
    return _load("mimic")


def gripper() -> EmbodimentSpec:
    return _load("gripper")
