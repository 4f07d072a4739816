"""Scale tuning: the 15 keyvector scales of every robot hand, with undo/redo, reset and YAML save/load.

Events (fire on the thread that changed the scales): "changed"(name, scales (15,)).
A `TeleopSession` subscribed to "changed" applies new scales on its very next frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lad_core.embodiments import load_scales_file, save_scales_file, validate_scales
from lad_core.errors import InputError
from lad_core.studio.events import EventEmitter


class ScaleTuning:
    """defaults: robot name -> its default scales (what `reset` returns to)."""

    def __init__(self, defaults: dict[str, np.ndarray], max_undo: int = 200):
        self._defaults = {n: validate_scales(s, source=f"default scales of {n}") for n, s in defaults.items()}
        self._current = {n: s.copy() for n, s in self._defaults.items()}
        self._undo: list[tuple[str, np.ndarray, object]] = []  # (name, previous scales, merge tag)
        self._redo: list[tuple[str, np.ndarray]] = []
        self.max_undo = max_undo
        self.events = EventEmitter(("changed",))

    @property
    def names(self) -> list[str]:
        return list(self._current)

    def get(self, name: str) -> np.ndarray:
        return self._check(name)[name].copy()

    def default(self, name: str) -> np.ndarray:
        self._check(name)
        return self._defaults[name].copy()

    def _check(self, name: str) -> dict[str, np.ndarray]:
        if name not in self._current:
            raise InputError(f"no scales for {name!r}; robots with scales: {', '.join(self._current) or '(none)'}")
        return self._current

    def _apply(self, name: str, values: np.ndarray) -> None:
        self._current[name] = values
        self.events.emit("changed", name, values.copy())

    def set(self, name: str, values, *, merge_tag: object = None) -> None:
        """Set all 15 scales. Consecutive calls with the same non-None merge_tag (a slider drag) undo as one step."""
        new = validate_scales(values, source=f"scales for {name}")
        old = self.get(name)
        if np.array_equal(new, old):
            return
        last = self._undo[-1] if self._undo else None
        if not (merge_tag is not None and last is not None and last[0] == name and last[2] == merge_tag):
            self._undo.append((name, old, merge_tag))
            del self._undo[: -self.max_undo]
        self._redo.clear()
        self._apply(name, new)

    def set_one(self, name: str, k: int, value: float, *, merge: bool = True) -> None:
        """Set keyvector k's scale; with merge, a run of changes to the same k is one undo step."""
        values = self.get(name)
        if not 0 <= k < len(values):
            raise InputError(f"keyvector index {k} out of range 0..{len(values) - 1}")
        values[k] = float(value)
        self.set(name, values, merge_tag=("one", k) if merge else None)

    def end_merge(self) -> None:
        """Close the current merge run (e.g. on slider release), so the next change is its own undo step."""
        if self._undo:
            name, old, _ = self._undo[-1]
            self._undo[-1] = (name, old, None)

    def reset(self, name: str) -> None:
        self.set(name, self.default(name))

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        if not self._undo:
            return False
        name, old, _ = self._undo.pop()
        self._redo.append((name, self.get(name)))
        self._apply(name, old)
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        name, values = self._redo.pop()
        self._undo.append((name, self.get(name), None))
        self._apply(name, values)
        return True

    def save(self, path: str | Path, name: str) -> Path:
        save_scales_file(path, name, self.get(name))
        return Path(path)

    def load(self, path: str | Path, name: str) -> np.ndarray:
        """Read a scales YAML (a ConfigError names the file and the problem; the current scales stay)."""
        values = load_scales_file(path, embodiment=name)
        self.set(name, values)
        return values
