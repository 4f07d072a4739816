"""The safety event log: every e-stop, reset, deadman/watchdog trip, rejected or clamped command, with timestamps.

Listeners are called synchronously in the thread that records the event (a control loop, a server loop, or the
caller of ``EStop.trigger``); a listener's exception is logged and swallowed so it never breaks a control loop.
GUI code should hand the event over to its own thread.
"""

from __future__ import annotations

import collections
import logging
import threading
import time as _time
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)

# Event kinds.
ESTOP = "estop"
ESTOP_RESET = "estop_reset"
WATCHDOG = "watchdog"  # a command source or a client stopped talking: robot held
DEADMAN = "deadman"  # the robot server lost its controlling client's heartbeats: robot held
REJECTED = "rejected"  # malformed or non-finite command: robot held
CLAMPED = "clamped"  # a limit started acting (logged once per episode of consecutive clamping)
CLAMP_CLEARED = "clamp_cleared"  # the limits stopped acting; carries the number of steps affected
HOLD = "hold"  # a source asked to hold (e.g. tracking lost during teleop)
FAULT = "fault"  # a backend raised or reported unhealthy


@dataclass(frozen=True)
class SafetyEvent:
    kind: str
    source: str  # who raised it: "api", "keyboard", "server", "watchdog", "safety_layer", ...
    message: str
    time: float = field(default_factory=_time.time)  # wall clock, for the operator and logs
    monotonic: float = field(default_factory=_time.monotonic)  # for latency measurements
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "message": self.message, "time": self.time,
                "monotonic": self.monotonic, "data": dict(self.data)}


Listener = Callable[[SafetyEvent], None]


class SafetyLog:
    """Thread-safe bounded log of SafetyEvents with listeners."""

    def __init__(self, maxlen: int = 10_000):
        self._events: collections.deque[SafetyEvent] = collections.deque(maxlen=maxlen)
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def record(self, kind: str, source: str, message: str, **data: Any) -> SafetyEvent:
        event = SafetyEvent(kind, source, message, data=data)
        with self._lock:
            self._events.append(event)
            listeners = list(self._listeners)
        log.info("safety %s (%s): %s", kind, source, message)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must never break the control loop
                log.exception("safety event listener %r failed", listener)
        return event

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; returns a function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def events(self, kind: str | None = None) -> list[SafetyEvent]:
        with self._lock:
            return [e for e in self._events if kind is None or e.kind == kind]

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
