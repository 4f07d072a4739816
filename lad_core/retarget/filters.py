"""Output filters for streaming retargeting. Each has `reset()` that clears all of its state."""

from __future__ import annotations

import numpy as np


class LowPassFilter:
    """First-order exponential filter y <- y + alpha (x - y); alpha = 1 passes the input through."""

    def __init__(self, alpha: float):
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        self.alpha = alpha
        self._state: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self._state = x.copy() if self._state is None else self._state + self.alpha * (x - self._state)
        return self._state.copy()

    def reset(self) -> None:
        self._state = None
