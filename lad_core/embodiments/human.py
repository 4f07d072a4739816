"""The human hand: MediaPipe's 21-landmark topology, the canonical wrist frame and the paper's 189-d pose theta_H.

theta_H (paper Sec. 3.1.1): for each of the 21 joints, the transform to its parent along the kinematic chain, as
a 6-D rotation (Zhou et al.: the first two columns of the rotation matrix) followed by a 3-D translation. The
wrist's "parent" is the canonical wrist frame itself. `encode_pose` and `decode_pose` are exact inverses on
positions (forward kinematics of the local transforms), and both accept numpy arrays or torch tensors (decoding
is differentiable in torch).

Bone frames: a bone's z axis points along the bone (joint -> child; a fingertip reuses its incoming bone), and its
x axis is the palm normal made orthogonal to it, as in the canonical frame where fingers flex towards +x. Where a
bone is nearly parallel to the palm normal (a finger bent 90 degrees), the parent's x axis is used instead so the
frame never degenerates.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from lad_core.geometry import array_namespace

from lad_core.errors import InputError
from lad_core.geometry import cross as _cross
from lad_core.geometry import dot as _dot
from lad_core.geometry import normalize as _normalize

NUM_LANDMARKS = 21
POSE_DIM = NUM_LANDMARKS * 9  # 6-D rotation + 3-D translation per joint
LANDMARK_NAMES = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "little_mcp", "little_pip", "little_dip", "little_tip",
)  # fmt: skip
FINGER_NAMES = ("thumb", "index", "middle", "ring", "little")
PARENTS = (-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19)
FINGERTIPS = (4, 8, 12, 16, 20)
# The child whose direction defines a joint's bone frame; fingertips use their incoming bone (child = -1).
_CHILD = (9, 2, 3, 4, -1, 6, 7, 8, -1, 10, 11, 12, -1, 14, 15, 16, -1, 18, 19, 20, -1)

# dex-retargeting's operator-to-MANO matrices (see ../shared/data/README.md). The left one yields a left hand with
# the index towards -y; we then mirror y so every canonical hand is a right hand.
_OPERATOR2MANO = {
    "right": np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
    "left": np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]),
}
_MIRROR_Y = np.diag([1.0, -1.0, 1.0])

Handedness = Literal["right", "left"]


def validate_landmarks(x, name: str = "landmarks") -> np.ndarray:
    """Return `x` as a float64 array of shape (..., 21, 3) or raise InputError saying what is wrong."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: not a numeric array ({exc})") from exc
    if arr.ndim < 2 or arr.shape[-2:] != (NUM_LANDMARKS, 3):
        raise InputError(f"{name}: expected shape (..., 21, 3), got {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        frames = np.unique(np.argwhere(bad.reshape(-1, NUM_LANDMARKS * 3).any(-1)).ravel())
        raise InputError(f"{name}: {int(bad.sum())} NaN/inf values (in item(s) {frames[:10].tolist()})")
    return arr


# --------------------------------------------------------------------------------------------- array helpers
def _frame_from_z_and_x(z, x_hint):
    """Rotation matrix (columns x, y, z) with z along `z` and x the part of `x_hint` orthogonal to it."""
    xp = array_namespace(z, x_hint)
    z = _normalize(z)
    x = _normalize(x_hint - _dot(x_hint, z) * z)
    y = _cross(z, x)
    return xp.stack([x, y, z], axis=-1)


def rotation_from_6d(r6):
    """Zhou et al.'s 6-D representation (two columns, concatenated) -> rotation matrix, by Gram-Schmidt."""
    xp = array_namespace(r6)
    a1, a2 = r6[..., 0:3], r6[..., 3:6]
    b1 = _normalize(a1)
    b2 = _normalize(a2 - _dot(b1, a2) * b1)
    return xp.stack([b1, b2, _cross(b1, b2)], axis=-1)


def rotation_to_6d(rot):
    xp = array_namespace(rot)
    return xp.concat([rot[..., :, 0], rot[..., :, 1]], axis=-1)


def _transpose(m):
    xp = array_namespace(m)
    return xp.matrix_transpose(m) if hasattr(xp, "matrix_transpose") else xp.swapaxes(m, -1, -2)


# --------------------------------------------------------------------------------------------- canonical frame
def palm_frame(landmarks):
    """Columns (x, normal, z) of dex-retargeting's wrist frame, from landmarks 0 (wrist), 5 (index), 9 (middle)."""
    pts = landmarks[..., [0, 5, 9], :]
    x_vec = pts[..., 0, :] - pts[..., 2, :]  # middle MCP -> wrist
    centred = pts - pts.mean(axis=-2, keepdims=True)
    _, _, vt = np.linalg.svd(centred)
    normal = vt[..., 2, :]
    x = _normalize(x_vec - _dot(x_vec, normal) * normal)
    z = _cross(x, normal)
    flip = np.where(_dot(z, pts[..., 1, :] - pts[..., 2, :]) < 0, -1.0, 1.0)  # z points towards the index side
    return np.stack([x, normal * flip, z * flip], axis=-1)


def canonicalize(landmarks, handedness: Handedness = "right") -> tuple[np.ndarray, np.ndarray]:
    """Landmarks in any frame -> (canonical landmarks, rotation) with canonical = (landmarks - wrist) @ rotation.

    The canonical frame is the one of ../shared/data/README.md (dex-retargeting's MANO-like wrist frame); a left
    hand is mirrored onto a right hand, so downstream code only ever sees right hands.
    """
    if handedness not in _OPERATOR2MANO:
        raise InputError(f"handedness must be 'right' or 'left', got {handedness!r}")
    pts = validate_landmarks(landmarks)
    rel = pts - pts[..., :1, :]
    rotation = palm_frame(rel) @ _OPERATOR2MANO[handedness]
    if handedness == "left":
        rotation = rotation @ _MIRROR_Y
    return rel @ rotation, rotation


# --------------------------------------------------------------------------------------------- theta_H
_PARENT_ARR = np.array(PARENTS)
_BONE_START = np.array([j if c >= 0 else PARENTS[j] for j, c in enumerate(_CHILD)])[1:]
_BONE_END = np.array([c if c >= 0 else j for j, c in enumerate(_CHILD)])[1:]


def _global_frames(landmarks: np.ndarray) -> np.ndarray:
    """Per-joint global rotation matrices (..., 21, 3, 3) of the bone frames described in the module doc."""
    wrist = palm_frame(landmarks) @ _OPERATOR2MANO["right"]  # identity for canonical input
    palm_normal = wrist[..., None, :, 0]
    bones = _normalize(landmarks[..., _BONE_END, :] - landmarks[..., _BONE_START, :])  # joints 1..20
    frames = _frame_from_z_and_x(bones, palm_normal)
    nearly_parallel = np.abs(_dot(bones, palm_normal)) > 0.95
    if nearly_parallel.any():  # rare: fall back to the parent's x axis (from the first pass)
        first = np.concatenate([wrist[..., None, :, :], frames], axis=-3)
        parent_x = first[..., _PARENT_ARR[1:], :, :][..., 0]  # index in two steps (numpy fancy indexing)
        frames = _frame_from_z_and_x(bones, np.where(nearly_parallel, parent_x, palm_normal))
    return np.concatenate([wrist[..., None, :, :], frames], axis=-3)


def encode_pose(landmarks):
    """(..., 21, 3) landmarks -> (..., 189) theta_H. numpy in, numpy out (float64)."""
    pts = validate_landmarks(landmarks)
    frames = _global_frames(pts)
    parents = np.array(PARENTS[1:])
    parent_frames = frames[..., parents, :, :]
    local_rot = np.concatenate([frames[..., :1, :, :], _transpose(parent_frames) @ frames[..., 1:, :, :]], axis=-3)
    offsets = pts[..., 1:, :] - pts[..., parents, :]
    local_t = (_transpose(parent_frames) @ offsets[..., None])[..., 0]
    local_t = np.concatenate([pts[..., :1, :], local_t], axis=-2)
    per_joint = np.concatenate([rotation_to_6d(local_rot), local_t], axis=-1)  # (..., 21, 9)
    return per_joint.reshape(*pts.shape[:-2], POSE_DIM)


def decode_pose(theta):
    """(..., 189) theta_H -> (..., 21, 3) landmarks by forward kinematics. numpy or torch (differentiable)."""
    xp = array_namespace(theta)
    if theta.shape[-1] != POSE_DIM:
        raise InputError(f"theta_H: expected last dimension {POSE_DIM}, got {tuple(theta.shape)}")
    per_joint = xp.reshape(theta, (*theta.shape[:-1], NUM_LANDMARKS, 9))
    local_rot = rotation_from_6d(per_joint[..., 0:6])
    local_t = per_joint[..., 6:9]
    rots = [local_rot[..., 0, :, :]]
    pos = [local_t[..., 0, :]]
    for j in range(1, NUM_LANDMARKS):
        p = PARENTS[j]
        pos.append(pos[p] + (rots[p] @ local_t[..., j, :, None])[..., 0])
        rots.append(rots[p] @ local_rot[..., j, :, :])
    return xp.stack(pos, axis=-2)


# --------------------------------------------------------------------------------------------- keyvectors
def reference_landmarks() -> np.ndarray:
    """A canonical open right hand (21, 3) in metres, from the parametric hand model's 'open' pose."""
    from lad_core.embodiments import human_model

    return human_model.articulate(human_model.named_pose("open"))
