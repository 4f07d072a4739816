"""Keyvector retargeting (paper Eq. 2) to robot hands and thumb-distance retargeting (Eq. 3) to grippers."""

from lad_core.retarget.config import RetargetConfig
from lad_core.retarget.retargeter import GripperRetargeter, HandRetargeter, RetargetResult, build_retargeter, default_scales

__all__ = ["GripperRetargeter", "HandRetargeter", "RetargetConfig", "RetargetResult", "build_retargeter", "default_scales"]
