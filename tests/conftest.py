"""Shared fixtures. Real data lives in ../shared/data next to the repository and is never copied into it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _require_shared(path: Path) -> Path:
    if path.exists():
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but the real data is missing: {path}")
    pytest.skip(f"real data not present: {path}")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data folder (skips outside CI when absent, fails under CI)."""
    return _require_shared(SHARED_DATA)


@pytest.fixture(scope="session")
def real_pose_sequence(shared_data) -> "object":
    """(621, 21, 3) float32 MediaPipe world landmarks of a real right hand, canonical wrist frame, metres."""
    import numpy as np

    return np.load(_require_shared(shared_data / "poses" / "right_hand_video_sequence" / "joints.npy"))
