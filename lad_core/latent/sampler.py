"""Synthetic human hand poses for the paired data of Eq. 1, built on the parametric hand model.

A pose is drawn in five steps (all documented, with measured figures, in docs/latent.md):

1. **Grasp family** (mixture weights in :class:`SamplerConfig.families`):
   ``open`` (flat to relaxed, fingers spread or together), ``power`` (cylindrical wrap, open -> power pose),
   ``fist`` (power -> fist), ``pinch`` (thumb opposed to one finger: index, middle, ring or little, from a wide
   aperture to tip contact), ``tripod`` (thumb to index and middle together), ``lateral`` (key grip: thumb on the
   side of a curled index), ``gesture`` (each finger independently extended or curled: point, victory, call,
   four...) and ``uniform`` (every angle uniform within its anatomical range: coverage outside the families).
2. **Finger synergies**: a family fixes one closure value ``c`` in [0, 1]; each finger's flexion is ``c`` plus a
   correlated per-finger offset (neighbouring fingers move together, ring and little most), and inside a finger
   DIP follows PIP (DIP ~ 0.7 PIP, the tendon coupling), MCP follows with its own spread.
3. **Thumb opposition**: in pinch, tripod and lateral poses the thumb angles interpolate with ``c`` from the open
   thumb to the thumb pose that brings its tip onto the target finger (the model's ``pinch_*`` poses, solved once
   by least squares), so the tip-to-tip distance sweeps from wide open to contact.
4. **Hand geometry** (``geometry="measured"``, the default): per pose, the chain bases (thumb CMC, MCPs) and the
   15 bone lengths are drawn around the centre, and with the spread, measured on OTHER people's hands
   (resources/latent_hand_geometry.yaml, written by scripts/measure_hand_geometry.py: MediaPipe world landmarks
   of 24 hands, none from the held-out recording), in units of the palm length; the palm length is the measured
   mean times a hand-size factor (uniform ``size_range``, 0.85-1.15: std 0.087, between adult anthropometry's
   0.066 and the 0.145 of MediaPipe's palm lengths over the 24 hands, which adds the detector's scale error).
   ``geometry="model"`` with ``size_range=(0.9, 1.15)`` is the earlier sampler: every hand is the parametric
   model hand (measured on the held-out recording) times the size factor.
5. **Noise**: Gaussian joint noise, clipping to the anatomical limits, a small random wrist-frame rotation and
   per-landmark jitter (MediaPipe-like, millimetres).

Everything is a pure function of the seed: ``SyntheticPoseSampler(config).sample(n, seed)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lad_core.embodiments.human_model import (
    ANGLE_LIMITS,
    FINGERS,
    NUM_ANGLES,
    articulate,
    clip_angles,
    named_pose,
)
from lad_core.errors import ConfigError

GEOMETRIES = ("measured", "model")

FAMILIES = ("open", "power", "fist", "pinch", "tripod", "lateral", "gesture", "uniform")
_DEFAULT_WEIGHTS = {"open": 0.12, "power": 0.16, "fist": 0.08, "pinch": 0.24, "tripod": 0.08, "lateral": 0.06,
                    "gesture": 0.16, "uniform": 0.10}  # fmt: skip


@dataclass(frozen=True)
class SamplerConfig:
    """Distribution of synthetic poses. All lengths in metres, angles in radians."""

    families: dict[str, float] = field(default_factory=lambda: dict(_DEFAULT_WEIGHTS))
    joint_noise: float = 0.06  # std of independent per-angle noise
    synergy_noise: float = 0.12  # std of a finger's closure around the family's closure
    size_range: tuple[float, float] = (0.85, 1.15)  # uniform hand-size scale (of the measured mean palm length)
    geometry: str = "measured"  # "measured": other people's proportions, drawn per pose; "model": the model hand
    geometry_spread: float = 1.0  # multiplier of the measured per-parameter std (0: every hand is the centre hand)
    wrist_rotation_deg: float = 4.0  # std of the wrist-frame rotation angle
    landmark_noise: float = 0.0015  # std of per-landmark jitter

    def __post_init__(self):
        unknown = set(self.families) - set(FAMILIES)
        if unknown:
            raise ConfigError(f"unknown grasp families {sorted(unknown)}; known: {', '.join(FAMILIES)}",
                              field="sampler.families")
        weights = np.array(list(self.families.values()), dtype=float)
        if len(weights) == 0 or (weights < 0).any() or weights.sum() <= 0:
            raise ConfigError(f"family weights must be >= 0 with a positive sum, got {self.families}",
                              field="sampler.families")
        lo, hi = self.size_range
        if not 0 < lo <= hi:
            raise ConfigError(f"size_range must be 0 < low <= high, got {self.size_range}", field="sampler.size_range")
        if self.geometry not in GEOMETRIES:
            raise ConfigError(f"unknown geometry {self.geometry!r}; known: {', '.join(GEOMETRIES)}",
                              field="sampler.geometry")
        for name in ("joint_noise", "synergy_noise", "wrist_rotation_deg", "landmark_noise", "geometry_spread"):
            if getattr(self, name) < 0:
                raise ConfigError(f"must be >= 0, got {getattr(self, name)}", field=f"sampler.{name}")


@dataclass
class SampledPoses:
    landmarks: np.ndarray  # (N, 21, 3) canonical wrist frame, metres
    angles: np.ndarray  # (N, 20) joint angles before size/frame noise
    family: np.ndarray  # (N,) int index into FAMILIES
    scale: np.ndarray  # (N,) hand-size factor
    bases: np.ndarray | None = None  # (N, 5, 3) chain bases used (geometry="measured"), metres
    lengths: np.ndarray | None = None  # (N, 5, 3) bone lengths used (geometry="measured"), metres


# Finger-closure synergy: correlation of the per-finger offsets (thumb excluded), index..little.
_FINGER_CORR = np.array([[1.0, 0.6, 0.4, 0.3], [0.6, 1.0, 0.7, 0.5], [0.4, 0.7, 1.0, 0.8], [0.3, 0.5, 0.8, 1.0]])
_FINGER_CHOL = np.linalg.cholesky(_FINGER_CORR)
_FLEXED = {f: np.array([0.0, 1.55, 1.8, 1.25]) for f in FINGERS[1:]}  # a fully curled finger (abd, mcp, pip, dip)


def _finger_slice(i: int) -> slice:
    return slice(4 * i, 4 * i + 4)


class SyntheticPoseSampler:
    def __init__(self, config: SamplerConfig | None = None):
        self.config = config or SamplerConfig()
        self._open = named_pose("open")
        self._power = named_pose("power")
        self._fist = named_pose("fist")
        self._pinch = {f: named_pose(f"pinch_{f}") for f in FINGERS[1:]}

    # ------------------------------------------------------------------ families (angles, (n, 20))
    def _fingers_closed(self, rng, n, closure, curl_max=1.0):
        """Synergistic finger flexion: one closure per pose, correlated per-finger offsets, DIP coupled to PIP."""
        offs = rng.standard_normal((n, 4)) @ _FINGER_CHOL.T * self.config.synergy_noise
        c = np.clip(closure[:, None] + offs, 0.0, 1.0) * curl_max  # (n, 4)
        out = np.zeros((n, 16))
        for k, f in enumerate(FINGERS[1:]):
            flexed = _FLEXED[f]
            mcp = c[:, k] * flexed[1] * rng.uniform(0.7, 1.1, n)
            pip = c[:, k] * flexed[2]
            dip = 0.7 * pip + rng.normal(0.0, 0.08, n)
            out[:, 4 * k : 4 * k + 4] = np.stack([np.zeros(n), mcp, pip, dip], -1)
        return out

    def _spread(self, rng, n, amount):
        """Finger abduction: fan out (index +, ring/little -) by `amount` in [0, 1]."""
        fan = np.array([0.25, 0.0, -0.2, -0.32])
        return amount[:, None] * fan + rng.normal(0.0, 0.04, (n, 4))

    def _family(self, name: str, rng, n: int) -> np.ndarray:
        o = np.broadcast_to(self._open, (n, NUM_ANGLES)).copy()
        c = rng.uniform(0.0, 1.0, n)
        if name == "open":
            a = o
            a[:, 4:] += self._fingers_closed(rng, n, 0.25 * c)
            a[:, 4::4] = self._spread(rng, n, rng.uniform(0.0, 1.0, n))
            a[:, :4] += rng.normal(0.0, 0.2, (n, 4))
        elif name in ("power", "fist"):
            lo, hi = (self._open, self._power) if name == "power" else (self._power, self._fist)
            a = lo + c[:, None] * (hi - lo)
            a[:, 4:] += rng.standard_normal((n, 4)).repeat(4, 1) * 0.08 * np.tile([0, 1, 1, 0.7], 4)  # per-finger lag
        elif name == "pinch":
            target = rng.integers(0, 4, n)
            pinch = np.stack([self._pinch[f] for f in FINGERS[1:]])[target]  # (n, 20)
            c = rng.beta(1.3, 1.0, n) * 1.08  # slightly past contact: tips touching / pressing
            a = o + c[:, None] * (pinch - o)
            others = self._fingers_closed(rng, n, rng.choice([0.05, 0.6, 0.95], n) * rng.uniform(0.6, 1.0, n))
            mask = np.ones((n, 16), bool)
            mask[np.arange(n)[:, None], 4 * target[:, None] + np.arange(4)] = False
            a[:, 4:] = np.where(mask, others, a[:, 4:])
        elif name == "tripod":
            p_i, p_m = self._pinch["index"], self._pinch["middle"]
            target = 0.5 * (p_i + p_m)
            target[4:8], target[8:12] = p_i[4:8], p_m[8:12]
            c = rng.beta(1.3, 1.0, n) * 1.05
            a = o + c[:, None] * (target - o)
            a[:, 12:] = self._fingers_closed(rng, n, rng.uniform(0.3, 1.0, n))[:, 8:]
        elif name == "lateral":
            a = o.copy()
            a[:, 4:] = self._fingers_closed(rng, n, rng.uniform(0.7, 1.0, n))
            thumb_open, thumb_side = self._open[:4], np.array([0.2, 0.05, 0.35, 0.35])
            a[:, :4] = thumb_open + c[:, None] * (thumb_side - thumb_open)
        elif name == "gesture":
            curled = rng.random((n, 4)) < 0.5
            per = np.where(curled, rng.uniform(0.75, 1.0, (n, 4)), rng.uniform(0.0, 0.15, (n, 4)))
            a = o.copy()
            for k in range(4):
                a[:, 4 + 4 * k : 8 + 4 * k] = self._fingers_closed(rng, n, per[:, k])[:, 4 * k : 4 * k + 4]
            a[:, 4::4] = self._spread(rng, n, rng.uniform(0.0, 1.0, n))
            thumb_in = rng.random(n) < 0.5
            a[:, :4] = np.where(thumb_in[:, None], self._fist[:4], self._open[:4]) + rng.normal(0, 0.12, (n, 4))
        elif name == "uniform":
            a = rng.uniform(ANGLE_LIMITS[:, 0], ANGLE_LIMITS[:, 1], (n, NUM_ANGLES))
            for k in range(4):  # keep the tendon coupling even here
                a[:, 4 + 4 * k + 3] = 0.7 * a[:, 4 + 4 * k + 2] + rng.normal(0.0, 0.1, n)
        else:  # pragma: no cover - FAMILIES is closed
            raise ConfigError(f"unknown family {name}")
        return a

    # ------------------------------------------------------------------ public
    def sample(self, n: int, seed: int = 0) -> SampledPoses:
        """`n` poses (deterministic for `seed`)."""
        if n < 0:
            raise ConfigError(f"number of poses must be >= 0, got {n}", field="n")
        cfg = self.config
        rng = np.random.default_rng(seed)
        names = list(cfg.families)
        weights = np.array([cfg.families[k] for k in names], dtype=float)
        fam_local = rng.choice(len(names), size=n, p=weights / weights.sum())
        family = np.array([FAMILIES.index(names[i]) for i in fam_local], dtype=np.int8).reshape(n)
        angles = np.zeros((n, NUM_ANGLES))
        for i, name in enumerate(names):
            idx = np.flatnonzero(fam_local == i)
            if len(idx):
                angles[idx] = self._family(name, rng, len(idx))
        angles = clip_angles(angles + rng.normal(0.0, cfg.joint_noise, angles.shape))
        scale = rng.uniform(*cfg.size_range, n)
        bases = lengths = None
        if cfg.geometry == "model":
            pts = articulate(angles) * scale[:, None, None]
        else:
            bases, lengths = self._draw_geometry(rng, scale)
            pts = articulate(angles, (bases, lengths))
        pts = pts @ _random_rotations(rng, n, np.deg2rad(cfg.wrist_rotation_deg)).transpose(0, 2, 1)
        jitter = rng.normal(0.0, cfg.landmark_noise, pts.shape)
        jitter[:, 0] = 0.0  # the wrist stays the origin of the canonical frame
        return SampledPoses(landmarks=pts + jitter, angles=angles, family=family, scale=scale, bases=bases,
                            lengths=lengths)

    def _draw_geometry(self, rng, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per pose (bases, lengths), each (n, 5, 3) metres: centre + spread * N(0, 1) clipped at 2 std, palm units."""
        g = measured_geometry()
        n, k = len(scale), self.config.geometry_spread
        palm = g["palm_length"] * scale[:, None, None]
        z = np.clip(rng.standard_normal((2, n, 5, 3)), -2.0, 2.0)
        bases = (g["bases_centre"] + k * g["bases_spread"] * z[0]) * palm
        lengths = np.maximum(g["lengths_centre"] + k * g["lengths_spread"] * z[1], 0.05) * palm
        return bases, lengths


_MEASURED: dict | None = None


def measured_geometry() -> dict[str, np.ndarray | float]:
    """The other-people geometry of resources/latent_hand_geometry.yaml (palm units; palm_length in metres)."""
    global _MEASURED
    if _MEASURED is None:
        import yaml

        from lad_core.paths import resource

        path = resource("latent_hand_geometry.yaml")
        try:
            doc = yaml.safe_load(path.read_text())
            out = {f"{key}_{part}": np.array(doc[key][part], dtype=np.float64).reshape(5, 3)
                   for key in ("bases", "lengths") for part in ("centre", "spread")}
            out["palm_length"] = float(doc["palm_length_m"]["mean"])
        except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read the sampler's hand geometry: {exc}", source=str(path)) from exc
        _MEASURED = out
    return _MEASURED


def _random_rotations(rng, n: int, std: float) -> np.ndarray:
    """(n, 3, 3) rotations about uniformly random axes with N(0, std) angles (Rodrigues)."""
    axis = rng.standard_normal((n, 3))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True) + 1e-12
    ang = rng.normal(0.0, std, n)[:, None, None]
    k = np.zeros((n, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k = k - k.transpose(0, 2, 1)
    return np.eye(3) + np.sin(ang) * k + (1 - np.cos(ang)) * (k @ k)
