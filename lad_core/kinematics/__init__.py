"""Batched, differentiable kinematics of every embodiment, and the 15 keyvectors."""

from lad_core.kinematics.keyvectors import KEYVECTOR_NAMES, THUMB_KEYVECTORS, human_keyvectors
from lad_core.kinematics.model import EmbodimentKinematics, load_kinematics
from lad_core.kinematics.tree import KinematicTree

__all__ = ["EmbodimentKinematics", "KEYVECTOR_NAMES", "KinematicTree", "THUMB_KEYVECTORS", "human_keyvectors", "load_kinematics"]
