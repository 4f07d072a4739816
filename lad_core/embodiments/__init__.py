"""Embodiments: specs (YAML + URDF), the registry plugins extend, and the human hand model."""

from lad_core.embodiments.registry import get, load_failures, names, register
from lad_core.embodiments.spec import EmbodimentSpec, load_scales_file, load_spec, save_scales_file, validate_scales

__all__ = [
    "EmbodimentSpec",
    "get",
    "load_failures",
    "load_scales_file",
    "load_spec",
    "names",
    "register",
    "save_scales_file",
    "validate_scales",
]
