"""The fixed-rate teleoperation loop: operator input -> arm target + retargeted end-effector joints -> robot.

``TeleopLoop.run()`` is a generator worker (STYLE.md 7): each control tick it takes the latest ``TeleopInput``,
maps the wrist (``ArmMapper``: clutch + motion scaling), retargets the hand (streaming retargeter ``step``), sends
one ``RobotCommand`` to the backend and yields a ``TeleopTick``. It honours a cancel callable between ticks. With a
``sleep`` function it holds the rate (``rate_hz``, 20 Hz default) on ``clock``; ``TimingStats`` reports the tick
periods, the compute time per tick and the overruns. Not thread-safe: one loop owns its backend.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
from scipy.spatial.transform import Rotation

from lad_core.errors import ConfigError
from lad_core.robots.base import RobotBackend, RobotCommand, RobotState
from lad_core.teleop.mapping import ArmMapper, TeleopInput


@dataclass
class TimingStats:
    """Tick timing (seconds). ``periods`` are start-to-start intervals, ``compute`` the work inside a tick."""

    rate_hz: float
    periods: list[float] = field(default_factory=list)
    compute: list[float] = field(default_factory=list)
    overruns: int = 0  # ticks whose work took longer than one period

    def summary(self) -> dict[str, float]:
        per = np.asarray(self.periods) if self.periods else np.zeros(1)
        comp = np.asarray(self.compute) if self.compute else np.zeros(1)
        return {
            "ticks": len(self.compute), "rate_hz": self.rate_hz,
            "period_mean_ms": 1e3 * float(per.mean()), "period_std_ms": 1e3 * float(per.std()),
            "period_max_ms": 1e3 * float(per.max()), "compute_mean_ms": 1e3 * float(comp.mean()),
            "compute_p99_ms": 1e3 * float(np.percentile(comp, 99)), "overruns": self.overruns,
        }  # fmt: skip


@dataclass
class TeleopTick:
    index: int
    time: float  # clock time at the start of the tick
    command: RobotCommand
    state: RobotState  # measured before the command
    engaged: bool  # the arm followed the hand
    hand_tracked: bool
    retarget_converged: bool
    compute_s: float


class TeleopLoop:
    def __init__(self, backend: RobotBackend, retargeter, mapper: ArmMapper | None = None, *, rate_hz: float = 20.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] | None = time.sleep):
        if not rate_hz > 0:
            raise ConfigError(f"must be > 0, got {rate_hz}", field="rate_hz")
        self.backend = backend
        self.retargeter = retargeter
        self.mapper = mapper or ArmMapper()
        self.rate_hz = float(rate_hz)
        self.clock = clock
        self.sleep = sleep
        self.stats = TimingStats(self.rate_hz)
        self._joints: np.ndarray | None = None

    def reset(self) -> None:
        """Anchor the mapper at the robot's current pose and clear the retargeter and the statistics."""
        state = self.backend.read_state()
        self.mapper.reset(state.ee_position, Rotation.from_quat(state.ee_orientation).as_matrix())
        self.retargeter.reset()
        self._joints = np.asarray(state.joints, dtype=np.float64).copy()
        self.stats = TimingStats(self.rate_hz)

    def tick(self, inp: TeleopInput, index: int = 0) -> TeleopTick:
        """One control tick (no waiting)."""
        t0 = self.clock()
        state = self.backend.read_state()
        arm = self.mapper.update(inp)
        converged = True
        if inp.landmarks is not None:
            res = self.retargeter.step(inp.landmarks)
            self._joints = np.asarray(res.qpos, dtype=np.float64)
            converged = bool(res.converged)
        cmd = RobotCommand(arm.target_position, Rotation.from_matrix(arm.target_rotation).as_quat(), self._joints)
        self.backend.command(cmd)
        compute = self.clock() - t0
        return TeleopTick(index, t0, cmd, state, arm.engaged, inp.landmarks is not None, converged, compute)

    def run(self, next_input: Callable[[], TeleopInput | None], *, max_ticks: int | None = None,
            cancel: Callable[[], bool] | None = None) -> Iterator[TeleopTick]:
        """Tick at ``rate_hz`` until ``next_input()`` returns None, ``max_ticks`` or ``cancel()``."""
        if self._joints is None:
            self.reset()
        period = 1.0 / self.rate_hz
        deadline = self.clock()
        last_start: float | None = None
        index = 0
        while max_ticks is None or index < max_ticks:
            if cancel is not None and cancel():
                return
            inp = next_input()
            if inp is None:
                return
            start = self.clock()
            if last_start is not None:
                self.stats.periods.append(start - last_start)
            last_start = start
            tick = self.tick(inp, index)
            self.stats.compute.append(tick.compute_s)
            if tick.compute_s > period:
                self.stats.overruns += 1
            yield tick
            index += 1
            deadline += period
            if self.sleep is not None:
                wait = deadline - self.clock()
                if wait > 0:
                    self.sleep(wait)
                elif wait < -period:  # far behind: do not try to catch up with a burst of ticks
                    deadline = self.clock()


def inputs_from_sequence(landmarks: np.ndarray, rate_hz: float, *, wrist_positions: np.ndarray | None = None,
                         wrist_rotations: np.ndarray | None = None, clutch: np.ndarray | None = None
                         ) -> Callable[[], TeleopInput | None]:  # fmt: skip
    """A ``next_input`` callable replaying recorded canonical landmarks (T, 21, 3), one frame per tick."""
    state = {"i": 0}
    n = len(landmarks)

    def next_input() -> TeleopInput | None:
        i = state["i"]
        if i >= n:
            return None
        state["i"] = i + 1
        return TeleopInput(
            i / rate_hz, np.asarray(landmarks[i], dtype=np.float64),
            None if wrist_positions is None else np.asarray(wrist_positions[i], dtype=np.float64),
            None if wrist_rotations is None else np.asarray(wrist_rotations[i], dtype=np.float64),
            True if clutch is None else bool(clutch[i]),
        )  # fmt: skip

    return next_input
