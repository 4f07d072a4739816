"""The e-stop latch. Once triggered it stays set until ``reset()`` is called explicitly, by anyone, from any thread.

``trigger`` only sets the latch and wakes waiters (it never blocks on a robot), so a GUI button, a key press, the
API, a signal handler or the robot server's own input can call it at any time. The control loop that owns the robot
checks the latch every tick and halts the robot; see ``lad_core.rollout.controller`` and ``lad_core.robots.server``.
"""

from __future__ import annotations

import threading
import time

from lad_core.safety.events import ESTOP, ESTOP_RESET, SafetyLog


class EStop:
    def __init__(self, log: SafetyLog | None = None):
        self.log = log if log is not None else SafetyLog()
        self._set = threading.Event()
        self._lock = threading.Lock()
        self._wakers: list[threading.Event] = []
        self.triggered_at: float | None = None  # time.monotonic() of the latest trigger
        self.reason = ""

    @property
    def is_set(self) -> bool:
        return self._set.is_set()

    def add_waker(self, event: threading.Event) -> None:
        """``event`` is set on every trigger, so a loop sleeping on it wakes at once."""
        with self._lock:
            self._wakers.append(event)

    def trigger(self, source: str = "api", reason: str = "") -> bool:
        """Latch the e-stop. Returns True if this call latched it (False when it was already set)."""
        with self._lock:
            first = not self._set.is_set()
            if first:
                self.triggered_at = time.monotonic()
                self.reason = reason or f"e-stop from {source}"
                self._set.set()
            wakers = list(self._wakers)
        for waker in wakers:
            waker.set()
        if first:
            self.log.record(ESTOP, source, self.reason)
        return first

    def reset(self, source: str = "api") -> bool:
        """Clear the latch (the explicit operator action). Returns True if it was set."""
        with self._lock:
            was = self._set.is_set()
            self._set.clear()
            self.triggered_at = None
            self.reason = ""
        if was:
            self.log.record(ESTOP_RESET, source, "e-stop reset")
        return was

    def wait(self, timeout: float | None = None) -> bool:
        return self._set.wait(timeout)
