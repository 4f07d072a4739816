"""Robot backends by name: the ``lad.robot_backends`` entry points (``kinematic``, ``sim``, plugins), or a direct
``module:attr`` factory path. A factory takes a ``BackendConfig`` and returns an unconnected ``RobotBackend``.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from lad_core import plugins
from lad_core.errors import ConfigError, UnknownEmbodimentError
from lad_core.robots.base import BackendConfig, BackendFactory, RobotBackend, RobotInfo


def robot_info_for_embodiment(name: str) -> RobotInfo:
    """RobotInfo (joint names and limits) of a registered embodiment (``lad_core.embodiments.get``)."""
    try:
        from lad_core.embodiments import get  # written by the embodiments package
    except ImportError as exc:
        raise UnknownEmbodimentError(f"embodiment '{name}': the embodiment registry is unavailable ({exc})") from None
    spec = get(name)
    return RobotInfo(name=spec.name, joint_names=tuple(spec.joint_names), lower=np.asarray(spec.lower, float),
                     upper=np.asarray(spec.upper, float))


def generic_robot_info(n_joints: int, limit: float = 1.5) -> RobotInfo:
    """A test robot with ``n_joints`` end-effector joints in [-limit, limit] (no embodiment needed)."""
    if n_joints < 1:
        raise ConfigError(f"must be at least 1, got {n_joints}", field="n_joints")
    return RobotInfo(name=f"generic{n_joints}", joint_names=tuple(f"j{i}" for i in range(n_joints)),
                     lower=np.full(n_joints, -limit), upper=np.full(n_joints, limit))


def backend_factory(name: str) -> BackendFactory:
    """The factory registered as ``name`` or, if ``name`` contains ':', the object at that ``module:attr``."""
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"cannot load backend factory '{name}': {exc}", field="backend") from None
    loaded, failures = plugins.discover(plugins.ROBOT_BACKENDS)
    if name in loaded:
        return loaded[name]
    broken = [f for f in failures if f.name == name]
    if broken:
        raise ConfigError(f"robot backend '{name}' failed to load: {broken[0].error}", field="backend")
    raise ConfigError(f"unknown robot backend '{name}'; available: {sorted(loaded) or 'none'}", field="backend")


def create_backend(name: str, info: RobotInfo, *, sim_task: str | None = None, **options: Any) -> RobotBackend:
    return backend_factory(name)(BackendConfig(info=info, sim_task=sim_task, options=dict(options)))
