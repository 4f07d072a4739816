"""Supervised rollouts: a Qt-free controller that runs a command source (teleop, replay, policy) on a robot
backend through the safety layer, with preview, step, pause, e-stop, takeover and hand-back.

Modules: ``controller`` (RolloutController, its events and ``status()``), ``sources`` (CommandSource, replay,
teleop), ``policy_source`` (ChunkPolicy, PolicySource, the lad_core.policy adapter), ``episode`` (saving a rollout
as an episode), ``setup`` (backend/source/controller from names and paths, shared by ``lad rollout`` and the studio).
"""

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
    RolloutStatus,
)
from lad_core.rollout.sources import ActionChunk, CommandSource, ReplaySource, TeleopSource

__all__ = ["ESTOPPED", "FAULTED", "FINISHED", "IDLE", "PAUSED", "RUNNING", "ActionChunk", "CommandSource",
           "ExecutedStep", "ReplaySource", "RolloutController", "RolloutEvent",
           "RolloutStatus", "TeleopSource"]
