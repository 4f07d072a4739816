"""The embodiment registry: built-in and plugin embodiments, discovered through the `lad.embodiments` entry points.

An entry point names a callable that returns an `EmbodimentSpec` (or the path of an embodiment YAML). Built-ins are
registered the same way in pyproject.toml. A plugin that fails to load is recorded in `load_failures()` and never
takes the registry down.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from lad_core.embodiments.spec import EmbodimentSpec, load_spec
from lad_core.errors import UnknownEmbodimentError

log = logging.getLogger(__name__)

_specs: dict[str, EmbodimentSpec] = {}
_failures: dict[str, str] = {}
_discovered = False
_lock = threading.Lock()


def _discover() -> None:
    global _discovered
    from lad_core.plugins import EMBODIMENTS, discover

    with _lock:
        if _discovered:
            return
        loaded, failures = discover(EMBODIMENTS)
        for failure in failures:  # import errors: reported by lad_core.plugins with their traceback
            _failures[failure.name] = failure.error
        for name, obj in loaded.items():
            try:
                spec = obj() if callable(obj) else obj
                if isinstance(spec, (str, Path)):
                    spec = load_spec(spec)
                if not isinstance(spec, EmbodimentSpec):
                    raise TypeError(f"entry point returned {type(spec).__name__}, not an EmbodimentSpec")
                _specs.setdefault(spec.name, spec)
            except Exception as exc:  # a broken plugin is reported, never fatal
                _failures[name] = f"{type(exc).__name__}: {exc}"
                log.warning("embodiment plugin '%s' failed to load: %s", name, exc)
        _discovered = True


def register(spec: EmbodimentSpec | str | Path, *, replace: bool = False) -> EmbodimentSpec:
    """Add a spec (or an embodiment YAML) at run time, e.g. from a notebook or a test."""
    _discover()
    if not isinstance(spec, EmbodimentSpec):
        spec = load_spec(spec)
    if spec.name in _specs and not replace:
        raise ValueError(f"embodiment '{spec.name}' is already registered (pass replace=True to override)")
    _specs[spec.name] = spec
    return spec


def get(name: str) -> EmbodimentSpec:
    _discover()
    if name not in _specs:
        known = ", ".join(sorted(_specs)) or "none"
        raise UnknownEmbodimentError(f"unknown embodiment '{name}'; registered: {known}")
    return _specs[name]


def names() -> list[str]:
    _discover()
    return sorted(_specs)


def load_failures() -> dict[str, str]:
    _discover()
    return dict(_failures)
