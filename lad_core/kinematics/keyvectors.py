"""The 15 keyvectors of paper Sec. 3.1.2: palm -> each fingertip (5), then fingertip_i -> fingertip_j (10).

Points are ordered [palm, thumb, index, middle, ring, little]; a keyvector is a signed sum of two points, so
keyvectors = KEYVECTOR_MATRIX @ points for any hand, human or robot.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from lad_core.embodiments.spec import FINGER_ORDER

HUMAN_POINT_LANDMARKS = (0, 4, 8, 12, 16, 20)  # wrist as the palm point, then the fingertips

_PAIRS = [(0, 1 + i) for i in range(5)] + [(1 + i, 1 + j) for i, j in combinations(range(5), 2)]
KEYVECTOR_NAMES = tuple(
    f"palm->{FINGER_ORDER[b - 1]}" if a == 0 else f"{FINGER_ORDER[a - 1]}->{FINGER_ORDER[b - 1]}" for a, b in _PAIRS
)
KEYVECTOR_MATRIX = np.zeros((len(_PAIRS), 6))
for _k, (_a, _b) in enumerate(_PAIRS):
    KEYVECTOR_MATRIX[_k, _a], KEYVECTOR_MATRIX[_k, _b] = -1.0, 1.0
# The four thumb-tip keyvectors used by paper Eq. 3 (gripper width).
THUMB_KEYVECTORS = tuple(k for k, name in enumerate(KEYVECTOR_NAMES) if name.startswith("thumb->"))


def human_keyvectors(landmarks):
    """(B..., 21, 3) canonical landmarks -> (B..., 15, 3) keyvectors (numpy or torch)."""
    pts = landmarks[..., list(HUMAN_POINT_LANDMARKS), :]
    if isinstance(pts, np.ndarray):
        return KEYVECTOR_MATRIX @ pts
    import torch

    return torch.as_tensor(KEYVECTOR_MATRIX, dtype=pts.dtype, device=pts.device) @ pts
