"""Teleoperation: tracked operator hand -> robot (arm target with clutch and motion scaling, retargeted
end-effector joints) at a fixed control rate with timing statistics.

    from lad_core.teleop import TeleopLoop, ArmMapper, inputs_from_sequence
"""

from lad_core.teleop.loop import TeleopLoop, TeleopTick, TimingStats, inputs_from_sequence
from lad_core.teleop.mapping import ArmMapper, ArmMapperConfig, ArmMapResult, TeleopInput, input_from_tracking

__all__ = [
    "ArmMapResult", "ArmMapper", "ArmMapperConfig", "TeleopInput", "TeleopLoop", "TeleopTick", "TimingStats",
    "input_from_tracking", "inputs_from_sequence",
]  # fmt: skip
