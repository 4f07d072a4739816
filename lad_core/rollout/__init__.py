"""Supervised rollouts: a Qt-free controller that runs a command source (teleop, replay, policy) on a robot
backend through the safety layer, with preview, step, pause, e-stop, takeover and hand-back."""

from lad_core.rollout.controller import (
    ESTOPPED,
    FAULTED,
    FINISHED,
    IDLE,
    PAUSED,
    RUNNING,
    ExecutedStep,
    RolloutController,
    RolloutEvent,
)
from lad_core.rollout.sources import ActionChunk, CommandSource, ReplaySource, TeleopSource

__all__ = ["ESTOPPED", "FAULTED", "FINISHED", "IDLE", "PAUSED", "RUNNING", "ActionChunk", "CommandSource",
           "ExecutedStep", "ReplaySource", "RolloutController", "RolloutEvent", "TeleopSource"]
