"""A tiny event emitter shared by the studio models: `subscribe(kind, fn)` returns an unsubscribe function."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class EventEmitter:
    """Listeners per event kind. `emit` calls them on the emitting thread; a listener's exception is logged."""

    def __init__(self, kinds: tuple[str, ...]):
        self._kinds = kinds
        self._listeners: dict[str, list[Callable[..., None]]] = {k: [] for k in kinds}
        self._lock = threading.Lock()

    def subscribe(self, kind: str, fn: Callable[..., None]) -> Callable[[], None]:
        if kind not in self._listeners:
            raise ValueError(f"unknown event {kind!r}; events: {', '.join(self._kinds)}")
        with self._lock:
            self._listeners[kind].append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._listeners[kind]:
                    self._listeners[kind].remove(fn)

        return unsubscribe

    def emit(self, kind: str, *args: Any) -> None:
        with self._lock:
            listeners = list(self._listeners[kind])
        for fn in listeners:
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the emitter
                log.exception("%s listener %r failed", kind, fn)
