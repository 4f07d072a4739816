"""One URDF per embodiment: the Franka Panda arm of ``pybullet_data`` without its gripper, with our end-effector
fixed at the flange.

The Panda's own hand (``panda_hand``, its fingers and grasp target) is cut off after ``panda_link8`` (the flange);
our end-effector's base link (the wrist, the canonical frame of CONTRIBUTING.md) is attached to the flange with a
fixed joint rotated -45 degrees about z, the mounting angle of the Franka hand. So the end-effector's +z is the
flange axis and one body carries arm and hand: one IK problem, one set of motors, no constraint drift.

The combined file is generated into the user cache (``lad_core.paths.cache_dir() / "sim"``), named by a hash of
its content, and rewritten only when an input URDF changes. Mesh paths of the Panda become absolute.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from lad_core.errors import ConfigError
from lad_core.paths import cache_dir

ARM_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
FLANGE_LINK = "panda_link8"
MOUNT_JOINT = "ee_mount"
MOUNT_YAW = -0.785398163397  # the Franka hand's mounting angle on the flange
_PANDA_HAND_PARTS = {"panda_hand", "panda_leftfinger", "panda_rightfinger", "panda_grasptarget"}


@dataclass(frozen=True)
class Assembly:
    """Where the combined URDF lies and the names a scene needs."""

    urdf_path: Path
    arm_joints: tuple[str, ...]
    ee_base_link: str  # our end-effector's root link (the wrist frame)


def panda_urdf() -> Path:
    import pybullet_data

    path = Path(pybullet_data.getDataPath()) / "franka_panda" / "panda.urdf"
    if not path.exists():
        raise ConfigError(f"the Franka Panda URDF is missing from pybullet_data: {path}", field="pybullet_data")
    return path


def _arm_elements(panda: Path) -> list[ET.Element]:
    root = ET.parse(panda).getroot()
    mesh_dir = panda.parent
    kept = []
    for el in root:
        if el.tag == "link" and el.get("name") in _PANDA_HAND_PARTS:
            continue
        if el.tag == "joint":
            parent, child = el.find("parent").get("link"), el.find("child").get("link")
            if parent in _PANDA_HAND_PARTS or child in _PANDA_HAND_PARTS:
                continue
        for mesh in el.iter("mesh"):
            name = mesh.get("filename", "")
            if name.startswith("package://"):
                mesh.set("filename", str(mesh_dir / name.removeprefix("package://")))
        kept.append(el)
    return kept


def _ee_elements(ee_urdf: Path) -> tuple[list[ET.Element], str]:
    try:
        root = ET.parse(ee_urdf).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ConfigError(f"cannot read end-effector URDF: {exc}", source=ee_urdf) from None
    links = [el for el in root if el.tag == "link"]
    joints = [el for el in root if el.tag == "joint"]
    children = {j.find("child").get("link") for j in joints}
    roots = [lk.get("name") for lk in links if lk.get("name") not in children]
    if len(roots) != 1:
        raise ConfigError(f"expected one root link, found {roots}", source=ee_urdf)
    clash = {lk.get("name") for lk in links} & {f"panda_link{i}" for i in range(9)}
    if clash:
        raise ConfigError(f"link names clash with the Panda arm: {sorted(clash)}", source=ee_urdf)
    return [el for el in root if el.tag in ("link", "joint", "material")], roots[0]


def assemble(ee_urdf: str | Path, name: str, out_dir: str | Path | None = None) -> Assembly:
    """Write (or reuse) the Panda + end-effector URDF; returns its path and the names a scene needs."""
    ee_urdf = Path(ee_urdf)
    panda = panda_urdf()
    arm = _arm_elements(panda)
    ee, ee_root = _ee_elements(ee_urdf)
    robot = ET.Element("robot", {"name": f"panda_{name}"})
    robot.extend(arm)
    mount = ET.SubElement(robot, "joint", {"name": MOUNT_JOINT, "type": "fixed"})
    ET.SubElement(mount, "parent", {"link": FLANGE_LINK})
    ET.SubElement(mount, "child", {"link": ee_root})
    ET.SubElement(mount, "origin", {"xyz": "0 0 0", "rpy": f"0 0 {MOUNT_YAW}"})
    robot.extend(ee)
    text = ET.tostring(robot, encoding="unicode")
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    folder = Path(out_dir) if out_dir is not None else cache_dir() / "sim"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"panda_{name}_{digest}.urdf"
    if not path.exists():  # write under a temporary name and rename: parallel processes never read half a file
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write('<?xml version="1.0"?>\n' + text + "\n")
        os.replace(tmp, path)
    return Assembly(path, ARM_JOINTS, ee_root)
