"""Plugin discovery through entry points. Built-in embodiments, frame sources and robot backends register in the
same groups a third party uses (see ``pyproject.toml``), so nothing here knows any plugin by name.

Loading is lazy (nothing is imported until ``discover``/``load`` is called for a group) and cached per group. A
plugin that fails to import, or whose object is missing, is reported as a ``PluginFailure`` with its error and
traceback; it never raises out of ``discover`` and never stops the other plugins from loading.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Iterable

from lad_core.errors import LadError

log = logging.getLogger(__name__)

EMBODIMENTS = "lad.embodiments"
FRAME_SOURCES = "lad.frame_sources"
ROBOT_BACKENDS = "lad.robot_backends"
GROUPS = (EMBODIMENTS, FRAME_SOURCES, ROBOT_BACKENDS)


class PluginError(LadError):
    """A named plugin is missing or failed to load."""


@dataclass(frozen=True)
class PluginFailure:
    group: str
    name: str
    target: str  # the entry point's "module:attr"
    distribution: str | None
    error: str  # "ExcType: message", for one-line display
    traceback: str

    def __str__(self) -> str:
        origin = f" (from {self.distribution})" if self.distribution else ""
        return f"{self.group}:{self.name} -> {self.target}{origin}: {self.error}"


_cache: dict[str, tuple[dict[str, Any], list[PluginFailure]]] = {}
_lock = threading.Lock()


def entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
    """The installed entry points of ``group`` (not loaded)."""
    return list(importlib.metadata.entry_points(group=group))


def _distribution(ep: importlib.metadata.EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) if dist is not None else None


def _load_one(group: str, ep: importlib.metadata.EntryPoint) -> tuple[Any, PluginFailure | None]:
    try:
        return ep.load(), None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # ImportError, AttributeError, SyntaxError, even SystemExit from a plugin
        failure = PluginFailure(group, ep.name, ep.value, _distribution(ep), f"{type(exc).__name__}: {exc}",
                                traceback.format_exc())
        log.warning("plugin failed to load: %s", failure)
        return None, failure


def discover(group: str, *, entry_points_: Iterable[importlib.metadata.EntryPoint] | None = None,
             refresh: bool = False) -> tuple[dict[str, Any], list[PluginFailure]]:
    """Load every plugin of ``group``: ``(loaded name -> object, failures)``.

    ``entry_points_`` replaces the installed ones (tests, embedding); such calls are not cached. Two entry points
    with the same name: the first loads, the second is reported as a failure.
    """
    if entry_points_ is None:
        with _lock:
            if not refresh and group in _cache:
                loaded, failures = _cache[group]
                return dict(loaded), list(failures)
    eps = list(entry_points_) if entry_points_ is not None else entry_points(group)
    loaded: dict[str, Any] = {}
    failures: list[PluginFailure] = []
    for ep in sorted(eps, key=lambda e: e.name):
        if ep.name in loaded:
            failures.append(PluginFailure(group, ep.name, ep.value, _distribution(ep),
                                          f"DuplicateName: another plugin already registered '{ep.name}'", ""))
            continue
        obj, failure = _load_one(group, ep)
        if failure is None:
            loaded[ep.name] = obj
        else:
            failures.append(failure)
    if entry_points_ is None:
        with _lock:
            _cache[group] = (loaded, failures)
    return dict(loaded), list(failures)


def names(group: str) -> list[str]:
    """Registered names in ``group`` without importing anything."""
    return sorted({ep.name for ep in entry_points(group)})


def load(group: str, name: str) -> Any:
    """Load one plugin by name; raises ``PluginError`` naming the failure or the available names."""
    matches = [ep for ep in entry_points(group) if ep.name == name]
    if not matches:
        raise PluginError(f"no plugin '{name}' in group '{group}'; available: {names(group) or 'none'}")
    obj, failure = _load_one(group, matches[0])
    if failure is not None:
        raise PluginError(f"plugin failed to load: {failure}")
    return obj


def all_failures() -> list[PluginFailure]:
    """Every plugin that failed, in every group: for the app's and the CLI's plugin report.

    Besides import failures this includes embodiment plugins that import but whose spec is invalid (a broken YAML
    or URDF path), as the embodiment registry records them.
    """
    failures: list[PluginFailure] = []
    for group in GROUPS:
        failures += discover(group)[1]
    failures += embodiment_spec_failures(known={f.name for f in failures if f.group == EMBODIMENTS})
    return failures


def embodiment_spec_failures(known: set[str] = frozenset()) -> list[PluginFailure]:
    """Embodiment entry points that loaded but did not yield a valid spec (``lad_core.embodiments.load_failures``)."""
    try:
        from lad_core.embodiments import load_failures
    except ImportError:
        return []
    targets = {ep.name: ep for ep in entry_points(EMBODIMENTS)}
    out = []
    for name, error in sorted(load_failures().items()):
        if name in known:
            continue
        ep = targets.get(name)
        out.append(PluginFailure(EMBODIMENTS, name, ep.value if ep else "?", _distribution(ep) if ep else None,
                                 error, ""))
    return out


def clear_cache() -> None:
    with _lock:
        _cache.clear()
