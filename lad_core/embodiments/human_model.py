"""A parametric right hand that turns 20 joint angles into 21 canonical landmarks.

It drives the synthetic hand source (the embedded default when there is no camera), the synthetic human pose
sampler of the latent-space data and the default keyvector scales. Geometry: MCP/CMC positions and median bone
lengths measured once from the real MediaPipe sequence in ../shared/data (a right hand, wrist to middle MCP 9.2 cm),
rounded to the millimetre; the numbers live here, the data file is not needed at run time.

Angles (radians), per finger: abduction (positive towards the thumb side, +y), MCP, PIP and DIP flexion (positive
towards the palm, +x). Thumb: CMC abduction (positive towards the index, across the palm), CMC flexion (out of the
palm plane, towards +x), MCP and IP flexion.
"""

from __future__ import annotations

import numpy as np

from lad_core.errors import InputError

FINGERS = ("thumb", "index", "middle", "ring", "little")
_JOINTS = {"thumb": ("cmc_abd", "cmc_flex", "mcp_flex", "ip_flex")}
_JOINTS.update({f: ("abd", "mcp_flex", "pip_flex", "dip_flex") for f in FINGERS[1:]})
ANGLE_NAMES = tuple(f"{f}_{j}" for f in FINGERS for j in _JOINTS[f])
NUM_ANGLES = len(ANGLE_NAMES)

_THUMB_LIMITS = [(-0.5, 1.8), (-0.4, 1.5), (-0.2, 1.2), (-0.3, 1.5)]
_FINGER_LIMITS = [(-0.35, 0.35), (-0.3, 1.65), (0.0, 1.9), (-0.1, 1.45)]
ANGLE_LIMITS = np.array(_THUMB_LIMITS + _FINGER_LIMITS * 4)  # (20, 2)

# Base of each finger chain (CMC for the thumb, MCP otherwise), canonical frame, metres.
_BASE = {
    "thumb": (0.010, 0.031, 0.020),
    "index": (0.000, 0.025, 0.088),
    "middle": (0.000, 0.000, 0.092),
    "ring": (0.008, -0.022, 0.086),
    "little": (0.014, -0.039, 0.070),
}
# Bone lengths base -> next -> next -> tip (metres).
_LENGTHS = {
    "thumb": (0.0337, 0.0356, 0.0295),
    "index": (0.0291, 0.0207, 0.0296),
    "middle": (0.0387, 0.0265, 0.0278),
    "ring": (0.0321, 0.0245, 0.0249),
    "little": (0.0222, 0.0227, 0.0199),
}
# Rest direction of each chain in the y-z plane (angle from +z towards +y); fingers fan out slightly.
_REST_TILT = {"thumb": 0.82, "index": 0.12, "middle": 0.0, "ring": -0.1, "little": -0.22}
_FIRST_LANDMARK = {"thumb": 1, "index": 5, "middle": 9, "ring": 13, "little": 17}


def _rot_x(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _rot_y(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _base_frame(tilt: float) -> np.ndarray:
    z = np.array([0.0, np.sin(tilt), np.cos(tilt)])
    x = np.array([1.0, 0.0, 0.0])
    return np.stack([x, np.cross(z, x), z], axis=-1)


def default_geometry() -> tuple[np.ndarray, np.ndarray]:
    """The model hand's (bases (5, 3), lengths (5, 3)), metres: chain bases (thumb CMC, MCPs) and bone lengths."""
    return (np.array([_BASE[f] for f in FINGERS], dtype=np.float64),
            np.array([_LENGTHS[f] for f in FINGERS], dtype=np.float64))


def _check_geometry(geometry, batch: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    try:
        bases, lengths = (np.asarray(g, dtype=np.float64) for g in geometry)
    except (TypeError, ValueError) as exc:
        raise InputError(f"hand geometry: expected a pair (bases, lengths) of arrays, got "
                         f"{type(geometry).__name__}") from exc
    for name, arr in (("bases", bases), ("lengths", lengths)):
        if arr.shape[-2:] != (5, 3) or not np.isfinite(arr).all():
            raise InputError(f"hand geometry: {name} must be finite (..., 5, 3), got shape {arr.shape}")
        try:
            np.broadcast_shapes(arr.shape[:-2], batch)
        except ValueError as exc:
            raise InputError(f"hand geometry: {name} batch shape {arr.shape[:-2]} does not broadcast to the angles' "
                             f"{batch}") from exc
    if (lengths <= 0).any():
        raise InputError("hand geometry: bone lengths must be > 0")
    return bases, lengths


def articulate(angles, geometry=None) -> np.ndarray:
    """(..., 20) joint angles -> (..., 21, 3) canonical landmarks of a right hand (metres).

    geometry: optional (bases, lengths), each (..., 5, 3) broadcastable to the angles' batch: per finger (thumb,
    index, middle, ring, little) the chain base (thumb CMC, finger MCP) and the three bone lengths. None: the
    model hand of this module (``default_geometry()``).
    """
    a = np.asarray(angles, dtype=np.float64)
    if a.shape[-1:] != (NUM_ANGLES,) or not np.isfinite(a).all():
        raise InputError(f"hand angles: expected finite (..., {NUM_ANGLES}), got shape {a.shape}")
    if geometry is not None:
        bases, lengths = _check_geometry(geometry, a.shape[:-1])
        a = np.broadcast_to(a, np.broadcast_shapes(a.shape[:-1], bases.shape[:-2], lengths.shape[:-2]) + (NUM_ANGLES,))
    out = np.zeros(a.shape[:-1] + (21, 3))
    for i, finger in enumerate(FINGERS):
        q = a[..., 4 * i : 4 * i + 4]
        first = _FIRST_LANDMARK[finger]
        base = np.asarray(_BASE[finger]) if geometry is None else bases[..., i, :]
        bone_lengths = _LENGTHS[finger] if geometry is None else [lengths[..., i, k, None] for k in range(3)]
        frame = np.broadcast_to(_base_frame(_REST_TILT[finger]), a.shape[:-1] + (3, 3))
        if finger == "thumb":
            # Abduction about the palm normal (towards -y, across the palm), then flexion out of the palm plane.
            rot = frame @ _rot_x(q[..., 0]) @ _rot_y(q[..., 1])
        else:
            rot = frame @ _rot_x(-q[..., 0]) @ _rot_y(q[..., 1])
        pos = np.broadcast_to(base, a.shape[:-1] + (3,))
        out[..., first, :] = pos
        for k, length in enumerate(bone_lengths):
            if k > 0:
                rot = rot @ _rot_y(q[..., k + 1])
            pos = pos + length * rot[..., :, 2]
            out[..., first + k + 1, :] = pos
    return out


def clip_angles(angles) -> np.ndarray:
    return np.clip(angles, ANGLE_LIMITS[:, 0], ANGLE_LIMITS[:, 1])


def _finger_angles(abd: float, mcp: float, pip: float, dip: float) -> list[float]:
    return [abd, mcp, pip, dip]


_OPEN_FINGERS = {f: _finger_angles(0.0, 0.05, 0.05, 0.03) for f in FINGERS[1:]}
_OPEN_FINGERS["index"][0], _OPEN_FINGERS["ring"][0], _OPEN_FINGERS["little"][0] = 0.08, -0.05, -0.1


def _compose(thumb, fingers: dict[str, list[float]]) -> np.ndarray:
    return np.array(list(thumb) + [v for f in FINGERS[1:] for v in fingers[f]], dtype=np.float64)


def _pinch_fingers(target: str) -> dict[str, list[float]]:
    fingers = {f: list(v) for f, v in _OPEN_FINGERS.items()}
    flex = {"index": 0.75, "middle": 0.85, "ring": 1.0, "little": 1.15}[target]
    fingers[target] = _finger_angles(0.0, flex, 0.9, 0.5)
    return fingers


def solve_pinch_thumb(target: str) -> np.ndarray:
    """Thumb angles that bring the thumb tip 15 mm from a moderately flexed finger's tip (multi-start least squares).

    The results are stored in _PINCH_THUMB (solving takes seconds); a test re-solves and compares.
    """
    from scipy.optimize import least_squares

    fingers = _pinch_fingers(target)
    tip = {"index": 8, "middle": 12, "ring": 16, "little": 20}[target]

    def residual(thumb):
        pts = articulate(_compose(thumb, fingers))
        return [np.linalg.norm(pts[4] - pts[tip]) - 0.015, 0.02 * thumb[3]]

    lo, hi = ANGLE_LIMITS[:4, 0], ANGLE_LIMITS[:4, 1]
    starts = np.random.default_rng(0).uniform(lo, hi, size=(12, 4))  # fixed seed: the pose is deterministic
    return min((least_squares(residual, x0=x0, bounds=(lo, hi)) for x0 in starts), key=lambda s: s.cost).x


_PINCH_THUMB = {
    "index": (1.103169, 0.1238, 0.865937, 0.0),
    "middle": (1.078882, 0.654832, 0.179954, 0.0),
    "ring": (1.59048, 0.746606, 0.150844, 0.0),
    "little": (1.729125, 0.138339, 0.780093, 0.0),
}


_NAMED = {
    "open": lambda: _compose([0.0, 0.0, 0.05, 0.05], _OPEN_FINGERS),
    "power": lambda: _compose(
        [0.75, 0.55, 0.55, 0.5], {f: _finger_angles(0.0, 1.15, 1.35, 0.9) for f in FINGERS[1:]}
    ),
    "fist": lambda: _compose(
        [0.95, 0.7, 0.65, 0.6], {f: _finger_angles(0.0, 1.55, 1.8, 1.2) for f in FINGERS[1:]}
    ),
    **{f"pinch_{f}": (lambda f=f: _compose(_PINCH_THUMB[f], _pinch_fingers(f))) for f in FINGERS[1:]},
}
POSE_NAMES = tuple(_NAMED)


def named_pose(name: str) -> np.ndarray:
    """Joint angles (20,) of a named pose: open, power, fist, pinch_index/middle/ring/little."""
    if name not in _NAMED:
        raise InputError(f"unknown hand pose {name!r}; known: {', '.join(POSE_NAMES)}")
    return _NAMED[name]().copy()
