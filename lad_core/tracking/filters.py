"""The One Euro filter (Casiez, Roussel and Vogel, CHI 2012) for arrays of any shape.

A low-pass filter whose cutoff rises with speed: steady when the hand is still, little lag when it moves.
`min_cutoff` (Hz) sets the jitter removed at rest, `beta` how fast the cutoff opens with speed, `d_cutoff` (Hz) the
smoothing of the speed estimate. Timestamps are in seconds and must increase.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lad_core.errors import ConfigError


@dataclass(frozen=True)
class OneEuroParams:
    min_cutoff: float = 1.5
    beta: float = 8.0
    d_cutoff: float = 1.0
    enabled: bool = True

    def __post_init__(self) -> None:
        for name in ("min_cutoff", "d_cutoff"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
                raise ConfigError(f"must be a positive number, got {value!r}", field=f"one_euro.{name}")
        if not (isinstance(self.beta, (int, float)) and self.beta >= 0 and math.isfinite(self.beta)):
            raise ConfigError(f"must be a non-negative number, got {self.beta!r}", field="one_euro.beta")


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Element-wise One Euro filter; `__call__(x, t)` returns the filtered array, `reset()` forgets all state."""

    def __init__(self, params: OneEuroParams | None = None):
        self.params = params or OneEuroParams()
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if not self.params.enabled:
            return x.copy()
        if self._x is None or self._x.shape != x.shape or self._t is None:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        dt = float(t) - self._t
        if dt <= 0:  # repeated or out-of-order timestamp: assume the nominal 30 fps step instead of dividing by 0
            dt = 1.0 / 30.0
        p = self.params
        dx = (x - self._x) / dt
        self._dx = self._dx + _alpha(p.d_cutoff, dt) * (dx - self._dx)
        cutoff = p.min_cutoff + p.beta * np.abs(self._dx)
        self._x = self._x + _alpha(cutoff, dt) * (x - self._x)
        self._t = self._t + dt
        return self._x.copy()
