"""Safety layer: pure limit functions, the e-stop latch, the watchdog and the safety event log.

Every command from any source (teleop, replay, policy) passes ``SafetyLayer.filter`` before any backend sees it;
the robot server applies the same limits again on its side.
"""

from lad_core.safety.estop import EStop
from lad_core.safety.events import SafetyEvent, SafetyLog
from lad_core.safety.layer import SafetyLayer
from lad_core.safety.limits import SafetyLimits, Violation, apply_limits
from lad_core.safety.watchdog import Watchdog

__all__ = ["EStop", "SafetyEvent", "SafetyLayer", "SafetyLimits", "SafetyLog", "Violation", "Watchdog",
           "apply_limits"]
