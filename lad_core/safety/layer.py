"""SafetyLayer: the one object every command passes through on its way from a source to a backend.

It applies :func:`lad_core.safety.limits.apply_limits`, turns every command into the hold command while the
e-stop is latched, and reports what it did to the SafetyLog. Reporting is coalesced: an event when a limit starts
acting (or a new kind appears), and one when the commands are clean again with the number of steps affected, so
the operator sees every episode of clamping without 50 lines a second.
"""

from __future__ import annotations

from lad_core.robots.base import RobotCommand, RobotState
from lad_core.safety.estop import EStop
from lad_core.safety.events import CLAMP_CLEARED, CLAMPED, REJECTED, SafetyLog
from lad_core.safety.limits import REJECTING, SafetyLimits, Violation, apply_limits, hold_command

ESTOPPED = "estopped"  # violation kind: the e-stop is latched, every command becomes the hold command


class SafetyLayer:
    """Not thread-safe by itself: one control loop calls ``filter``; the e-stop may be triggered from anywhere."""

    def __init__(self, limits: SafetyLimits, estop: EStop | None = None, log: SafetyLog | None = None,
                 name: str = "safety_layer"):
        self.limits = limits
        self.log = log if log is not None else (estop.log if estop is not None else SafetyLog())
        self.estop = estop if estop is not None else EStop(self.log)
        self.name = name
        self._active: set[str] = set()
        self._affected = 0

    def filter(self, raw: object, state: RobotState, dt: float) -> tuple[RobotCommand, list[Violation]]:
        """The command that may be sent this step, and the violations that shaped it."""
        if self.estop.is_set:
            return hold_command(state), [Violation(ESTOPPED, "e-stop latched: holding")]
        safe, violations = apply_limits(raw, state, self.limits, dt)
        self._report(violations)
        return safe, violations

    def _report(self, violations: list[Violation]) -> None:
        kinds = {v.kind for v in violations}
        if not kinds:
            if self._active:
                self.log.record(CLAMP_CLEARED, self.name, f"commands within limits again after {self._affected} "
                                f"step(s) of {sorted(self._active)}", kinds=sorted(self._active),
                                steps=self._affected)
                self._active.clear()
                self._affected = 0
            return
        self._affected += 1
        new = kinds - self._active
        if new:
            self._active |= kinds
            rejecting = bool(kinds & REJECTING)
            message = "; ".join(v.message for v in violations if v.kind in new)
            self.log.record(REJECTED if rejecting else CLAMPED, self.name, message, kinds=sorted(kinds),
                            violations=[v.to_dict() for v in violations])

    def reset(self) -> None:
        """Clear the reporting state (the e-stop latch is separate and needs its own explicit reset)."""
        self._active.clear()
        self._affected = 0
