"""Where the project's data files live: resources/ (URDFs, embodiment YAMLs, configs, icons) and the user cache."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESOURCES = REPO_ROOT / "resources"


def resource(*parts: str) -> Path:
    """Path of a file under resources/, e.g. resource("urdf", "mimic_hand.urdf")."""
    return RESOURCES.joinpath(*parts)


def cache_dir() -> Path:
    """Per-user cache (models, derived data): $LAD_CACHE_DIR, else $XDG_CACHE_HOME/lad, else ~/.cache/lad."""
    if os.environ.get("LAD_CACHE_DIR"):
        return Path(os.environ["LAD_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lad"
