"""A watchdog (deadman timer): expires when nobody has kicked it for ``timeout_s`` seconds.

It is passive: the loop that owns the robot calls ``expired()`` each tick and holds the robot when it returns
True. ``clock`` is injectable so tests can drive time by hand.
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class Watchdog:
    def __init__(self, timeout_s: float, clock: Callable[[], float] = time.monotonic):
        if not timeout_s > 0:
            raise ValueError(f"watchdog timeout must be positive, got {timeout_s}")
        self.timeout_s = float(timeout_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None  # None: disarmed

    def arm(self) -> None:
        """Start watching (counts as a kick)."""
        self.kick()

    def disarm(self) -> None:
        with self._lock:
            self._last = None

    @property
    def armed(self) -> bool:
        return self._last is not None

    def kick(self) -> None:
        with self._lock:
            self._last = self._clock()

    def remaining(self) -> float | None:
        """Seconds until expiry (negative when expired); None when disarmed."""
        with self._lock:
            if self._last is None:
                return None
            return self._last + self.timeout_s - self._clock()

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left < 0.0

    def deadline(self) -> float | None:
        with self._lock:
            return None if self._last is None else self._last + self.timeout_s
