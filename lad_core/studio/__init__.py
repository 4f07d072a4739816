"""Qt-free models behind LAD Studio: the live teleop session, scale tuning with undo, recording from the live
stream, training runs as subprocesses with their history, drawing geometry for hands, the rollout console
(`studio.rollout`: a supervised rollout built from a checkpoint or episode, live-hand takeover, saving) and the latent
inspector's data (`studio.latent`: PCA of encoded pairs, SR/CR readouts, human sequences for the scrubber).

The `app` package shows these objects; they never know it. Each class says which thread fires its events; a
listener's exception is logged, never propagated.
"""

from lad_core.studio.events import EventEmitter
from lad_core.studio.geometry import HandDrawing, human_drawing, robot_drawing
from lad_core.studio.scales import ScaleTuning
from lad_core.studio.session import StudioFrame, TeleopSession

__all__ = ["EventEmitter", "HandDrawing", "ScaleTuning", "StudioFrame", "TeleopSession", "human_drawing", "robot_drawing"]
