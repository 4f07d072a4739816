"""Retargeters from canonical human landmarks to an embodiment: keyvector hands (Eq. 2) and grippers (Eq. 3).

Both kinds share one interface:
    retarget_batch(landmarks (N, 21, 3)) -> (N, action_dim)     datasets; every pose solved independently
    step(landmarks (21, 3)) -> RetargetResult                    teleop; warm start, smoothness prior, low-pass
    reset()                                                      clears the warm start and the filter
    scales (15,), settable at run time: the next call uses them
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lad_core.embodiments import human
from lad_core.embodiments.spec import EmbodimentSpec, load_scales_file, validate_scales
from lad_core.errors import ConfigError
from lad_core.kinematics import THUMB_KEYVECTORS, human_keyvectors, load_kinematics
from lad_core.retarget.codebook import Codebook
from lad_core.retarget.config import RetargetConfig
from lad_core.retarget.filters import LowPassFilter
from lad_core.retarget.optimizer import keyvector_energy, solve


@dataclass
class RetargetResult:
    qpos: np.ndarray  # (action_dim,) joint command, within limits
    converged: bool
    residual: float  # keyvector energy (m^2) at qpos, before output filtering
    iterations: int = 0


def default_scales(kin) -> np.ndarray:
    """|v_i^H| / |v_i^R| at the reference open human hand and the robot's zero pose: for palm->tip keyvectors the
    ratio of finger lengths, for tip->tip ones the ratio of the open hands' fingertip spreads. (Using finger-length
    means for tip->tip as well was tried: the robots' thumbs then curl in open-palm frames, because their zero pose
    sits closer to the index than a human thumb does.)"""
    human_kv = human_keyvectors(human.reference_landmarks())
    robot_kv = kin.keyvectors(np.clip(np.zeros(kin.action_dim), kin.lower, kin.upper))
    return np.linalg.norm(human_kv, axis=-1) / np.maximum(np.linalg.norm(robot_kv, axis=-1), 1e-6)


def _targets(landmarks) -> np.ndarray:
    return human_keyvectors(human.validate_landmarks(landmarks))


class HandRetargeter:
    """Keyvector retargeting to a robot hand, paper Eq. 2."""

    def __init__(self, spec: EmbodimentSpec, scales=None, config: RetargetConfig | None = None):
        self.spec = spec
        self.kin = load_kinematics(spec.name)
        self.config = config or RetargetConfig()
        if scales is None:
            scales = default_scales(self.kin) if spec.keyvector_scales == "auto" else spec.keyvector_scales
        self.scales = scales
        self.rest = np.clip(np.zeros(self.kin.action_dim), self.kin.lower, self.kin.upper)
        self._filter = LowPassFilter(self.config.lowpass_alpha)
        self._last: np.ndarray | None = None
        self._codebook: tuple[bytes, Codebook] | None = None

    @property
    def scales(self) -> np.ndarray:
        return self._scales.copy()

    @scales.setter
    def scales(self, values) -> None:
        self._scales = validate_scales(values, source=f"scales for {self.spec.name}")

    @property
    def action_dim(self) -> int:
        return self.kin.action_dim

    def energy(self, landmarks, qpos) -> np.ndarray:
        """Keyvector energy of joint values against human landmarks: (N, 21, 3), (N, A) -> (N,)."""
        return keyvector_energy(_targets(landmarks), self.kin.keyvectors(np.asarray(qpos, dtype=np.float64)), self._scales)

    def retarget_batch(self, landmarks, progress=None) -> np.ndarray:
        """(N, 21, 3) landmarks -> (N, A) joints; chunks are solved on `batch_workers` threads (numpy frees the GIL)."""
        from concurrent.futures import ThreadPoolExecutor

        target = _targets(landmarks).reshape(-1, 15, 3)
        out = np.empty((len(target), self.action_dim))
        chunk = self.config.batch_chunk
        scales = self._scales.copy()  # a scale change during the batch applies to the next call

        codebook = self._codebook_for(scales)

        def solve_chunk(start: int) -> None:
            part = target[start : start + chunk]
            q0 = codebook.blended(part, self.config.codebook_neighbours).astype(np.float32)  # float32: same energies to 1e-5, ~40% less time
            res = solve(self.kin, part, scales, q0, max_iterations=self.config.batch_iterations,
                        tolerance=self.config.tolerance, damping=self.config.damping)  # fmt: skip
            out[start : start + len(part)] = res.qpos
            if progress is not None:
                progress(len(part))

        starts = range(0, len(target), chunk)
        if self.config.batch_workers > 1 and len(starts) > 1:
            with ThreadPoolExecutor(self.config.batch_workers) as pool:
                list(pool.map(solve_chunk, starts))
        else:
            for start in starts:
                solve_chunk(start)
        return out

    def _codebook_for(self, scales: np.ndarray) -> Codebook:
        """The warm-start codebook of the current scales, built on first use (about a second) and kept."""
        key = scales.tobytes()
        if self._codebook is None or self._codebook[0] != key:
            self._codebook = (key, Codebook.build(self.kin, scales, self.rest, size=self.config.codebook_size))
        return self._codebook[1]

    def step(self, landmarks) -> RetargetResult:
        target = _targets(landmarks)[None]
        cold = self._last is None
        q0 = (self.rest if cold else self._last)[None]
        res = solve(
            self.kin,
            target,
            self._scales,
            q0,
            q_prev=None if cold else self._last[None],
            smoothness=self.config.smoothness_weight,
            max_iterations=self.config.max_iterations if cold else self.config.streaming_iterations,
            tolerance=self.config.tolerance,
            damping=self.config.damping,
        )
        self._last = res.qpos[0].copy()
        qpos = np.clip(self._filter(self._last), self.kin.lower, self.kin.upper)
        return RetargetResult(qpos=qpos, converged=bool(res.converged[0]), residual=float(res.energy[0]), iterations=res.iterations)

    def reset(self) -> None:
        self._last = None
        self._filter.reset()


class GripperRetargeter:
    """Paper Eq. 3: theta_P = min(min_i |v_i^H| / W, 1) over the four thumb-tip keyvectors."""

    def __init__(self, spec: EmbodimentSpec, config: RetargetConfig | None = None, width: float | None = None):
        self.spec = spec
        self.config = config or RetargetConfig()
        self.width = float(width if width is not None else spec.gripper.human_width_m)
        if not self.width > 0:
            raise ConfigError(f"W must be > 0, got {self.width}", source=spec.source_file, field="gripper.human_width_m")
        self._filter = LowPassFilter(self.config.lowpass_alpha)

    action_dim = 1
    scales = None

    def retarget_batch(self, landmarks, progress=None) -> np.ndarray:
        kv = _targets(landmarks)
        thumb = np.linalg.norm(kv[..., list(THUMB_KEYVECTORS), :], axis=-1)
        width = np.clip(thumb.min(axis=-1) / self.width, 0.0, 1.0)[..., None]
        if progress is not None:
            progress(len(width))
        return width

    def step(self, landmarks) -> RetargetResult:
        width = self.retarget_batch(np.asarray(landmarks)[None])[0]
        return RetargetResult(qpos=np.clip(self._filter(width), 0.0, 1.0), converged=True, residual=0.0)

    def reset(self) -> None:
        self._filter.reset()


def build_retargeter(name: str, scales=None, config: RetargetConfig | None = None, scales_file=None):
    """A retargeter for a registered embodiment; `scales` (15 numbers) or `scales_file` (YAML) override defaults."""
    from lad_core.embodiments import get

    spec = get(name)
    if spec.kind == "gripper":
        return GripperRetargeter(spec, config)
    if spec.kind != "hand":
        raise ConfigError(f"embodiment '{name}' ({spec.kind}) is not a retargeting target", source=spec.source_file, field="kind")
    if scales_file is not None:
        scales = load_scales_file(scales_file, embodiment=name)
    return HandRetargeter(spec, scales=scales, config=config)
