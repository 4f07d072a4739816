"""Embodiment specs: what an end-effector is (joints, limits, couplings, palm, fingertips, default scales).

A spec is a validated pydantic model loaded from YAML. A new robot hand is a URDF plus one such YAML: no code.

Joint model: `actuated_joints` are the embodiment's action dimensions (what a policy or a retargeter outputs).
Every movable URDF joint is driven by one actuated joint: either the one of the same name, or the `source` of a
`couplings` entry (urdf_joint = multiplier * source + offset). Rolling-contact pairs, DIP = 0.71 x PIP and a
gripper's mirrored fingers are all couplings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lad_core.errors import ConfigError

NUM_KEYVECTORS = 15
FINGER_ORDER = ("thumb", "index", "middle", "ring", "little")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JointSpec(_Strict):
    name: str
    lower: float
    upper: float

    @model_validator(mode="after")
    def _ordered(self):
        if not self.lower <= self.upper:
            raise ValueError(f"joint '{self.name}': lower {self.lower} > upper {self.upper}")
        return self


class Coupling(_Strict):
    joint: str  # URDF joint driven by...
    source: str  # ...this actuated joint
    multiplier: float = 1.0
    offset: float = 0.0


class GripperSpec(_Strict):
    max_width_m: float = Field(0.08, gt=0)  # physical full opening
    human_width_m: float = Field(0.08, gt=0)  # W of paper Eq. 3: thumb-tip distance that maps to fully open


def validate_scales(values, *, source: str | Path | None = None, field: str = "keyvector_scales") -> np.ndarray:
    """15 finite, positive keyvector scales, or a ConfigError naming the source and field."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"expected {NUM_KEYVECTORS} numbers, got {values!r}", source=source, field=field) from None
    if arr.shape != (NUM_KEYVECTORS,):
        raise ConfigError(f"expected {NUM_KEYVECTORS} scales, got {arr.size}", source=source, field=field)
    if not np.isfinite(arr).all() or (arr <= 0).any():
        bad = [i for i, v in enumerate(arr) if not (np.isfinite(v) and v > 0)]
        raise ConfigError(f"scales must be finite and > 0; bad at index {bad}: {arr[bad].tolist()}", source=source, field=field)
    return arr


class EmbodimentSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Literal["human", "hand", "gripper"]
    description: str = ""
    urdf: str | None = None  # relative to the YAML file
    palm_link: str | None = None
    fingertip_links: list[str] = []  # thumb, index, middle, ring, little for hands
    actuated_joints: list[JointSpec] = []
    couplings: list[Coupling] = []
    keyvector_scales: list[float] | Literal["auto"] = "auto"
    gripper: GripperSpec | None = None
    has_wrist_camera: bool = True
    source_file: str | None = Field(None, exclude=True)

    @field_validator("keyvector_scales")
    @classmethod
    def _scales(cls, v):
        if v != "auto":
            validate_scales(v)
        return v

    @model_validator(mode="after")
    def _consistent(self):
        names = [j.name for j in self.actuated_joints]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate actuated joint names in {names}")
        for c in self.couplings:
            if c.source not in names:
                raise ValueError(f"coupling of '{c.joint}': source '{c.source}' is not an actuated joint")
        if self.kind == "hand":
            if self.urdf is None or self.palm_link is None:
                raise ValueError("a hand needs 'urdf' and 'palm_link'")
            if len(self.fingertip_links) != len(FINGER_ORDER):
                raise ValueError(f"a hand needs 5 fingertip_links ({', '.join(FINGER_ORDER)}), got {len(self.fingertip_links)}")
        if self.kind == "gripper" and self.gripper is None:
            raise ValueError("a gripper needs a 'gripper' section")
        return self

    # ---------------------------------------------------------------- derived
    @property
    def action_dim(self) -> int:
        if self.kind == "human":
            from lad_core.embodiments.human import POSE_DIM

            return POSE_DIM
        return len(self.actuated_joints)

    @property
    def joint_names(self) -> list[str]:
        return [j.name for j in self.actuated_joints]

    @property
    def lower(self) -> np.ndarray:
        return np.array([j.lower for j in self.actuated_joints])

    @property
    def upper(self) -> np.ndarray:
        return np.array([j.upper for j in self.actuated_joints])

    @property
    def urdf_path(self) -> Path | None:
        if self.urdf is None:
            return None
        base = Path(self.source_file).parent if self.source_file else Path.cwd()
        return (base / self.urdf).resolve()


def _describe(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"]) or None
    return err["msg"].removeprefix("Value error, "), loc


def spec_from_mapping(data: dict, source: str | Path | None = None) -> EmbodimentSpec:
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping at the top level, got {type(data).__name__}", source=source)
    try:
        return EmbodimentSpec(**{**data, "source_file": str(source) if source else None})
    except ValidationError as exc:
        msg, loc = _describe(exc)
        raise ConfigError(msg, source=source, field=loc) from None


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=path) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=path) from None
    return data if data is not None else {}


def load_spec(path: str | Path) -> EmbodimentSpec:
    """Read and validate an embodiment YAML; errors name the file and the field."""
    path = Path(path).resolve()
    spec = spec_from_mapping(read_yaml(path), source=path)
    if spec.urdf_path is not None and not spec.urdf_path.is_file():
        raise ConfigError(f"URDF not found: {spec.urdf_path}", source=path, field="urdf")
    return spec


def load_scales_file(path: str | Path, embodiment: str | None = None) -> np.ndarray:
    """A scales YAML: either `keyvector_scales: [...]` or `{<embodiment>: {keyvector_scales: [...]}}`."""
    data = read_yaml(path)
    if embodiment and isinstance(data.get(embodiment), dict):
        data = data[embodiment]
    if "keyvector_scales" not in data:
        raise ConfigError("missing 'keyvector_scales'", source=path, field="keyvector_scales")
    return validate_scales(data["keyvector_scales"], source=path)


def save_scales_file(path: str | Path, embodiment: str, scales) -> None:
    scales = validate_scales(scales)
    Path(path).write_text(yaml.safe_dump({"embodiment": embodiment, "keyvector_scales": [round(float(s), 6) for s in scales]}))
