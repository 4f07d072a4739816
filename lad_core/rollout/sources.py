"""Command sources: where a supervised rollout's actions come from (teleop, replay, and later policies).

A source hands out *action chunks*: ``next_chunk(state)`` returns

- an ``ActionChunk`` of K >= 1 steps, executed one per control tick (a policy's predicted chunk, a slice of a
  recorded episode, or a single teleop target);
- an empty chunk (K = 0): "nothing to do now, hold" (e.g. hand tracking lost during teleop);
- ``None``: the source is finished.

``next_chunk`` is called from the controller's fetch thread, one call at a time, while the previous chunk
executes; the chunk it returns is shown as the preview before it runs. It may block (a policy computing), but a
call that takes longer than the controller's ``source_timeout_s`` while the robot waits for it trips the
watchdog. Steps inside a chunk are passed to the safety layer as they are: a source may hand out garbage, and it
never reaches the robot unchecked.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from lad_core.robots.base import RobotCommand, RobotState


@dataclass(frozen=True)
class ActionChunk:
    """K raw steps (``RobotCommand`` or mappings with its fields), from ``source``, made at ``created``."""

    steps: tuple[Any, ...]
    source: str = ""
    created: float = field(default_factory=time.monotonic)

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def from_arrays(cls, ee_position: np.ndarray, ee_orientation: np.ndarray, joints: np.ndarray,
                    source: str = "") -> "ActionChunk":
        """From (K,3), (K,4), (K,J) arrays."""
        return cls(tuple(RobotCommand(p, q, j) for p, q, j in zip(ee_position, ee_orientation, joints)), source)

    def preview_positions(self) -> np.ndarray:
        """(K, 3) wrist positions for a ghost trajectory; rows of NaN where a step is unreadable."""
        out = np.full((len(self.steps), 3), np.nan)
        for i, step in enumerate(self.steps):
            try:
                pos = step.ee_position if isinstance(step, RobotCommand) else step["ee_position"]
                arr = np.asarray(pos, dtype=float)
                if arr.shape == (3,):
                    out[i] = arr
            except (KeyError, TypeError, ValueError, IndexError):
                pass
        return out


@runtime_checkable
class CommandSource(Protocol):
    name: str

    def next_chunk(self, state: RobotState) -> ActionChunk | None:
        """The next chunk, an empty chunk (hold) or None (finished). See the module docstring."""

    def reset(self) -> None:
        """Start over (called by the controller's reset)."""


class ReplaySource:
    """Replays a recorded command sequence in chunks of ``chunk_size`` (the last may be shorter)."""

    def __init__(self, steps: Sequence[Any], chunk_size: int = 8, name: str = "replay"):
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.name = name
        self._steps = list(steps)
        self._chunk_size = chunk_size
        self._i = 0

    @classmethod
    def from_arrays(cls, ee_position: np.ndarray, ee_orientation: np.ndarray, joints: np.ndarray,
                    chunk_size: int = 8, name: str = "replay") -> "ReplaySource":
        return cls(ActionChunk.from_arrays(ee_position, ee_orientation, joints).steps, chunk_size, name)

    def next_chunk(self, state: RobotState) -> ActionChunk | None:
        if self._i >= len(self._steps):
            return None
        chunk = ActionChunk(tuple(self._steps[self._i:self._i + self._chunk_size]), self.name)
        self._i += len(chunk)
        return chunk

    def reset(self) -> None:
        self._i = 0


class TeleopSource:
    """Latest-target teleop: the tracking side calls ``push(command)`` or ``lose_tracking()`` from any thread.

    ``next_chunk`` waits up to ``wait_s`` for a fresh target and returns it as a 1-step chunk; when tracking is
    lost (or no fresh target arrived) it returns an empty chunk, so the robot holds rather than replaying a stale
    target.
    """

    def __init__(self, name: str = "teleop", wait_s: float = 0.1):
        self.name = name
        self.wait_s = wait_s
        self._cond = threading.Condition()
        self._latest: Any = None
        self._fresh = False
        self._tracking = True

    def push(self, command: Any) -> None:
        with self._cond:
            self._latest = command
            self._fresh = True
            self._tracking = True
            self._cond.notify_all()

    def lose_tracking(self) -> None:
        with self._cond:
            self._tracking = False
            self._fresh = False
            self._cond.notify_all()

    @property
    def tracking(self) -> bool:
        return self._tracking

    def next_chunk(self, state: RobotState) -> ActionChunk | None:
        with self._cond:
            self._cond.wait_for(lambda: self._fresh or not self._tracking, timeout=self.wait_s)
            if not (self._fresh and self._tracking):
                return ActionChunk((), self.name)
            self._fresh = False
            return ActionChunk((self._latest,), self.name)

    def reset(self) -> None:
        with self._cond:
            self._latest = None
            self._fresh = False
            self._tracking = True
