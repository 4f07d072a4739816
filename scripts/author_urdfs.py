"""Write the URDFs of our end-effectors from the public numbers in the Foundation issue.

    python scripts/author_urdfs.py            # rewrites resources/urdf/*.urdf

The numbers (segment lengths, joint ranges) are the published ones; palm layout (where the finger bases sit) is our
choice where none is published and is stated below. Frames follow CONTRIBUTING.md: the base link's origin is the
wrist, +z points from the wrist towards the fingers, +y towards the thumb/index side, +x out of the palm, so a
positive flexion (rotation about a finger's +y) bends the finger towards +x. Geometry is capsules and boxes: enough
to draw and to collide in pybullet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "resources" / "urdf"


def _rpy_from_matrix(r: np.ndarray) -> tuple[float, float, float]:
    """URDF rpy (fixed-axis XYZ, R = Rz(y) Ry(p) Rx(r)) of a rotation matrix."""
    pitch = float(np.arcsin(-np.clip(r[2, 0], -1.0, 1.0)))
    if abs(np.cos(pitch)) < 1e-9:
        return float(np.arctan2(-r[1, 2], r[1, 1])), pitch, 0.0
    return float(np.arctan2(r[2, 1], r[2, 2])), pitch, float(np.arctan2(r[1, 0], r[0, 0]))


def _fmt(v) -> str:
    return " ".join(f"{float(x):.6g}" for x in v)


@dataclass
class UrdfWriter:
    name: str
    parts: list[str] = field(default_factory=list)

    def link(self, name: str, capsule: tuple[float, float] | None = None, box=None, mass: float = 0.02) -> None:
        """A link; a capsule (radius, length) lies along the link's +z starting at its origin."""
        geom = ""
        if capsule is not None:
            radius, length = capsule
            origin = f'<origin xyz="0 0 {length / 2:.6g}" rpy="0 0 0"/>'
            shape = f'<cylinder radius="{radius:.6g}" length="{max(length, 1e-4):.6g}"/>'
            geom = f"<visual>{origin}<geometry>{shape}</geometry></visual><collision>{origin}<geometry>{shape}</geometry></collision>"
        elif box is not None:
            size, centre = box
            origin = f'<origin xyz="{_fmt(centre)}" rpy="0 0 0"/>'
            shape = f'<box size="{_fmt(size)}"/>'
            geom = f"<visual>{origin}<geometry>{shape}</geometry></visual><collision>{origin}<geometry>{shape}</geometry></collision>"
        inertia = f'<inertial><mass value="{mass}"/><inertia ixx="1e-6" ixy="0" ixz="0" iyy="1e-6" iyz="0" izz="1e-6"/></inertial>'
        self.parts.append(f'  <link name="{name}">{inertia}{geom}</link>')

    def joint(self, name, parent, child, xyz=(0, 0, 0), rot=np.eye(3), kind="revolute", axis=(0, 1, 0), limits=None):
        rpy = _rpy_from_matrix(np.asarray(rot))
        text = (
            f'  <joint name="{name}" type="{kind}"><parent link="{parent}"/><child link="{child}"/>'
            f'<origin xyz="{_fmt(xyz)}" rpy="{_fmt(rpy)}"/>'
        )
        if kind != "fixed":
            lo, hi = limits
            text += f'<axis xyz="{_fmt(axis)}"/><limit lower="{lo:.6g}" upper="{hi:.6g}" effort="5" velocity="6"/>'
        self.parts.append(text + "</joint>")

    def write(self, path: Path) -> None:
        body = "\n".join(self.parts)
        path.write_text(f'<?xml version="1.0"?>\n<robot name="{self.name}">\n{body}\n</robot>\n')


def _finger_frame(tilt: float) -> np.ndarray:
    """Rotation whose z axis is the finger's rest direction (tilted from +z towards +y) and x the palm normal."""
    z = np.array([0.0, np.sin(tilt), np.cos(tilt)])
    x = np.array([1.0, 0.0, 0.0])
    return np.stack([x, np.cross(z, x), z], axis=-1)


def _thumb_frame(tilt: float) -> np.ndarray:
    return _finger_frame(tilt)


def _serial(w: UrdfWriter, prefix: str, parent: str, segments, radius: float) -> None:
    """A chain of (joint_name, offset_before_joint_m, limits) along +z; the last entry is the tip (no joint)."""
    prev = parent
    for i, (jname, offset, limits) in enumerate(segments):
        child = f"{prefix}_link{i}" if jname else f"{prefix}_tip"
        next_offset = segments[i + 1][1] if i + 1 < len(segments) else 0.0
        w.link(child, capsule=(radius, next_offset) if jname else None, mass=0.01)
        if jname:
            w.joint(jname, prev, child, xyz=(0, 0, offset), limits=limits)
        else:
            w.joint(f"{prefix}_tip_joint", prev, child, xyz=(0, 0, offset), kind="fixed")
        prev = child


# ------------------------------------------------------------------------------------------------ mimic-like
MIMIC_MCP_DISTANCE = {"index": 0.0867, "middle": 0.0865, "ring": 0.0806, "little": 0.0745}  # published
MIMIC_MCP_Y = {"index": 0.027, "middle": 0.006, "ring": -0.015, "little": -0.034}  # our palm layout
MIMIC_SEGMENTS = {  # abduction offset / proximal / middle / distal to tip (m)
    "index": (0.009, 0.039, 0.029, 0.0196),
    "middle": (0.009, 0.042, 0.0315, 0.0196),
    "ring": (0.009, 0.039, 0.029, 0.0196),
    "little": (0.009, 0.0355, 0.025, 0.0196),
}
MIMIC_THUMB = (0.0238, 0.035, 0.031, 0.027)
MIMIC_THUMB_CMC = np.array([0.008, 0.021, 0.0431])  # 48.4 mm from the wrist (published distance)
THUMB_TILT = 0.35  # rest direction of the thumb chain, radians from +z towards +y (our choice)


def mimic_hand() -> UrdfWriter:
    w = UrdfWriter("mimic_like_hand")
    w.link("palm", box=((0.024, 0.085, 0.075), (0.0, -0.003, 0.04)), mass=0.3)
    for finger, dist in MIMIC_MCP_DISTANCE.items():
        y = MIMIC_MCP_Y[finger]
        base = np.array([0.0, y, np.sqrt(dist**2 - y**2)])
        off, prox, mid, dist_tip = MIMIC_SEGMENTS[finger]
        w.link(f"{finger}_base", mass=0.01)
        w.joint(f"{finger}_base_joint", "palm", f"{finger}_base", xyz=base, kind="fixed")
        # Abduction about the palm normal; positive spreads away from the middle finger's side (one-sided range).
        abd_axis = (-1, 0, 0) if finger == "index" else (1, 0, 0)
        w.link(f"{finger}_abd_link", capsule=(0.008, off), mass=0.01)
        w.joint(f"{finger}_abd", f"{finger}_base", f"{finger}_abd_link", axis=abd_axis, limits=(0.0, 0.628))
        _serial(
            w,
            finger,
            f"{finger}_abd_link",
            [
                (f"{finger}_mcp", off, (0.0, 1.815)),
                (f"{finger}_pip", prox, (0.0, 1.815)),
                (f"{finger}_dip", mid, (0.0, 1.815)),
                (None, dist_tip, None),
            ],
            radius=0.008,
        )
    c0, c1, c2, c3 = MIMIC_THUMB
    w.link("thumb_base", mass=0.01)
    w.joint("thumb_base_joint", "palm", "thumb_base", xyz=MIMIC_THUMB_CMC, rot=_thumb_frame(THUMB_TILT), kind="fixed")
    # CMC: opposition, a rotation about the palm's long axis expressed in the thumb frame (positive -> in front of the palm).
    frame = _thumb_frame(THUMB_TILT)
    opposition_axis = -(frame.T @ np.array([0.0, 0.0, 1.0]))
    w.link("thumb_cmc_link", capsule=(0.009, c0), mass=0.01)
    w.joint("thumb_cmc", "thumb_base", "thumb_cmc_link", axis=opposition_axis, limits=(0.0, 1.484))
    # CMC -> MCP: abduction in the thumb plane; negative angles swing the thumb away from the index.
    w.link("thumb_abd_link", capsule=(0.009, c1), mass=0.01)
    w.joint("thumb_mcp", "thumb_cmc_link", "thumb_abd_link", xyz=(0, 0, c0), axis=(1, 0, 0), limits=(-1.222, 0.0))
    _serial(
        w,
        "thumb",
        "thumb_abd_link",
        [("thumb_pp", c1, (0.0, 1.745)), ("thumb_dp", c2, (0.0, 2.094)), (None, c3, None)],
        radius=0.009,
    )
    return w


# ------------------------------------------------------------------------------------------------ Faive-like
FAIVE_SEGMENTS = {  # rolling pair, proximal, rolling pair, middle, rolling pair, distal to tip (m)
    "index": (0.018, 0.031, 0.012, 0.0235, 0.009, 0.0103),
    "middle": (0.018, 0.035, 0.012, 0.0255, 0.009, 0.0099),
    "ring": (0.018, 0.031, 0.012, 0.0235, 0.009, 0.0125),
    "little": (0.018, 0.027, 0.012, 0.0195, 0.009, 0.0102),
    "thumb": (0.015, 0.038, 0.012, 0.0265, 0.009, 0.0126),
}
FAIVE_BASE = {  # our palm layout (m): finger bases across the top of a 95 mm palm
    "index": (0.0, 0.029, 0.090),
    "middle": (0.0, 0.007, 0.094),
    "ring": (0.0, -0.015, 0.090),
    "little": (0.0, -0.036, 0.080),
}
FAIVE_THUMB_BASE = np.array([0.008, 0.024, 0.035])


def _rolling_finger(w: UrdfWriter, finger: str, parent: str, limits_a, limits_b, radius: float) -> None:
    """Rolling-contact joints as two equal virtual joints each: <name>_a and <name>_b (the YAML couples them)."""
    r1, prox, r2, mid, r3, dist = FAIVE_SEGMENTS[finger]
    dip_limits = (0.71 * limits_b[0], 0.71 * limits_b[1])
    names = ("mcp", "pip") if finger != "thumb" else ("base_prox", "prox_mid")
    _serial(
        w,
        finger,
        parent,
        [
            (f"{finger}_{names[0]}_a", 0.0, limits_a),
            (f"{finger}_{names[0]}_b", r1, limits_a),
            (f"{finger}_{names[1]}_a", prox, limits_b),
            (f"{finger}_{names[1]}_b", r2, limits_b),
            (f"{finger}_dip_a", mid, dip_limits),
            (f"{finger}_dip_b", r3, dip_limits),
            (None, dist, None),
        ],
        radius=radius,
    )


def faive_hand() -> UrdfWriter:
    w = UrdfWriter("faive_like_hand")
    w.link("palm", box=((0.026, 0.09, 0.08), (0.0, -0.003, 0.045)), mass=0.3)
    for finger, base in FAIVE_BASE.items():
        w.link(f"{finger}_base", mass=0.01)
        w.joint(f"{finger}_base_joint", "palm", f"{finger}_base", xyz=base, kind="fixed")
        _rolling_finger(w, finger, f"{finger}_base", (0.0, 0.83), (0.0, 0.96), radius=0.009)
    frame = _thumb_frame(THUMB_TILT)
    w.link("thumb_base", mass=0.01)
    w.joint("thumb_base_joint", "palm", "thumb_base", xyz=FAIVE_THUMB_BASE, rot=frame, kind="fixed")
    w.link("thumb_rot_link", mass=0.01)
    opposition_axis = -(frame.T @ np.array([0.0, 0.0, 1.0]))
    w.joint("thumb_rot", "thumb_base", "thumb_rot_link", axis=opposition_axis, limits=(0.0, 2.27))
    _rolling_finger(w, "thumb", "thumb_rot_link", (-1.66, 1.05), (0.0, 0.96), radius=0.01)
    return w


# ------------------------------------------------------------------------------------------------ gripper
def parallel_gripper() -> UrdfWriter:
    """Franka-like hand: two prismatic fingers, 0.04 m travel each (0.08 m full opening)."""
    w = UrdfWriter("parallel_gripper")
    w.link("palm", box=((0.06, 0.2, 0.06), (0.0, 0.0, 0.03)), mass=0.7)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        w.link(f"{side}_finger", box=((0.02, 0.012, 0.052), (0.0, sign * 0.006, 0.026)), mass=0.02)
        w.joint(f"finger_joint_{side}", "palm", f"{side}_finger", xyz=(0, 0, 0.0584), kind="prismatic",
                axis=(0, sign, 0), limits=(0.0, 0.04))  # fmt: skip
        w.link(f"{side}_tip", mass=0.001)
        w.joint(f"{side}_tip_joint", f"{side}_finger", f"{side}_tip", xyz=(0, 0, 0.045), kind="fixed")
    w.link("tcp", mass=0.001)
    w.joint("tcp_joint", "palm", "tcp", xyz=(0, 0, 0.1034), kind="fixed")
    return w


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, builder in (("mimic_hand", mimic_hand), ("faive_hand", faive_hand), ("parallel_gripper", parallel_gripper)):
        builder().write(OUT / f"{name}.urdf")
        print(f"wrote {OUT / (name + '.urdf')}")


if __name__ == "__main__":
    main()
