"""From raw hand observations to steady `TrackedFrame`s: hand selection, mirror, canonical frame, theta_H, One Euro
filtering, bone-length rejection against the operator's calibrated hand, tracking-loss state and the wrist pose.

`HandProcessor` is a plain, single-threaded streaming object (`process(...) -> TrackedFrame`, `reset()`); the
threaded pipeline runs it on its inference thread.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from lad_core.errors import ConfigError, InputError
from lad_core.tracking.filters import OneEuroFilter, OneEuroParams
from lad_core.tracking.types import HandChoice, HandObservation, TrackedFrame, WristPose
from lad_core.tracking.wrist_pose import CameraIntrinsics, solve_wrist_pose, wrist_axes

_CHILDREN = None  # filled lazily from lad_core.embodiments.human.PARENTS


def bone_lengths(landmarks: np.ndarray) -> np.ndarray:
    """(..., 21, 3) -> (..., 20) lengths of the bones joint -> parent, in MediaPipe order (joints 1..20)."""
    from lad_core.embodiments.human import PARENTS

    parents = np.asarray(PARENTS[1:])
    pts = np.asarray(landmarks, dtype=np.float64)
    return np.linalg.norm(pts[..., 1:, :] - pts[..., parents, :], axis=-1)


@dataclass(frozen=True)
class TrackingConfig:
    """Options of the per-frame processing (all exposed to the CLI and the studio).

    hand: which hand to follow; "either" keeps following the side it has, else takes the best-scoring hand.
    mirror: the input images are mirrored (a selfie view): handedness and x coordinates are flipped back.
    one_euro / wrist_filter: smoothing of the canonical landmarks and of the wrist pose.
    bone_tolerance: reject a hand whose mean relative bone-length deviation from the calibrated (or, before
        calibration, automatically learned) hand exceeds this fraction; None disables rejection.
    auto_reference_frames: frames used to learn the bone lengths before an explicit calibration.
    filter_reset_after: seconds of loss after which the filters restart instead of gliding from the held pose.
    hfov_deg / intrinsics: camera model for the wrist pose; wrist_pose=False skips solvePnP.
    """

    hand: HandChoice = "right"
    mirror: bool = False
    one_euro: OneEuroParams = field(default_factory=OneEuroParams)
    wrist_filter: OneEuroParams = field(default_factory=lambda: OneEuroParams(min_cutoff=1.0, beta=2.0))
    bone_tolerance: float | None = 0.35
    auto_reference_frames: int = 15
    filter_reset_after: float = 0.5
    wrist_pose: bool = True
    hfov_deg: float = 65.0
    intrinsics: CameraIntrinsics | None = None
    compute_theta: bool = True

    def __post_init__(self) -> None:
        if self.hand not in ("right", "left", "either"):
            raise ConfigError(f"must be 'right', 'left' or 'either', got {self.hand!r}", field="hand")
        if self.bone_tolerance is not None and not (0 < self.bone_tolerance < 10):
            raise ConfigError(f"must be a positive fraction or None, got {self.bone_tolerance!r}", field="bone_tolerance")
        if int(self.auto_reference_frames) < 1:
            raise ConfigError(f"must be >= 1, got {self.auto_reference_frames!r}", field="auto_reference_frames")


@dataclass(frozen=True)
class HandCalibration:
    """The operator's hand, captured while holding still: bone lengths (20,), canonical pose (21, 3), hand size
    (wrist to middle MCP, metres) and, when available, the reference wrist pose for arm teleoperation."""

    bone_lengths: np.ndarray
    canonical: np.ndarray
    hand_size: float
    wrist_pose: WristPose | None = None


def _orthonormalize(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    r = u @ vt
    if np.linalg.det(r) < 0:
        u[:, -1] *= -1
        r = u @ vt
    return r


def _mirror(obs: HandObservation) -> HandObservation:
    img = None
    if obs.image_landmarks is not None:
        img = obs.image_landmarks.copy()
        img[:, 0] = 1.0 - img[:, 0]
    world = obs.world_landmarks.copy()
    world[:, 0] = -world[:, 0]
    return replace(obs, image_landmarks=img, world_landmarks=world,
                   handedness="left" if obs.handedness == "right" else "right")  # fmt: skip


class HandProcessor:
    """Streaming per-frame processing. `process(hands, timestamp, index)` -> `TrackedFrame`; `reset()` clears all.

    `calibrate()` takes the last second of valid frames (the operator holds still) as the reference hand; it raises
    `InputError` when there are too few valid frames or the hand moved.
    """

    def __init__(self, config: TrackingConfig | None = None):
        self.config = config or TrackingConfig()
        self._filter = OneEuroFilter(self.config.one_euro)
        self._wrist_t_filter = OneEuroFilter(self.config.wrist_filter)
        self._wrist_r_filter = OneEuroFilter(self.config.wrist_filter)
        self.calibration: HandCalibration | None = None
        self.reset()

    def reset(self) -> None:
        """Forget everything learned from the stream (filters, held pose, loss state, auto reference, calibration)."""
        self._filter.reset()
        self._wrist_t_filter.reset()
        self._wrist_r_filter.reset()
        self._followed: str | None = None
        self._held: TrackedFrame | None = None
        self._last_valid_t: float | None = None
        self._loss_start: float | None = None
        self._auto_samples: list[np.ndarray] = []
        self._auto_reference: np.ndarray | None = None
        self._reject_since: float | None = None
        self._recent: deque[tuple[np.ndarray, np.ndarray, WristPose | None]] = deque(maxlen=30)
        self._pnp_guess = None
        self.calibration = None

    # ------------------------------------------------------------------------------------------- calibration
    @property
    def reference_bone_lengths(self) -> np.ndarray | None:
        return self.calibration.bone_lengths if self.calibration is not None else self._auto_reference

    def calibrate(self, *, min_frames: int = 10, max_motion: float = 0.01) -> HandCalibration:
        """Set the operator's reference hand from the recent valid frames (hold still, then call this)."""
        frames = list(self._recent)
        if len(frames) < min_frames:
            raise InputError(f"calibration: need {min_frames} frames with a valid hand, have {len(frames)}; "
                             "hold the hand in view and try again")  # fmt: skip
        canon = np.stack([f[1] for f in frames])
        motion = float(np.linalg.norm(canon - np.median(canon, axis=0), axis=-1).mean(axis=-1).max())
        if motion > max_motion:
            raise InputError(f"calibration: the hand moved {motion * 100:.1f} cm (limit {max_motion * 100:.1f} cm); hold still")
        lengths = np.median(np.stack([f[0] for f in frames]), axis=0)
        canonical = np.median(canon, axis=0)
        wrist = frames[-1][2]
        self.calibration = HandCalibration(bone_lengths=lengths, canonical=canonical,
                                           hand_size=float(np.linalg.norm(canonical[9] - canonical[0])),
                                           wrist_pose=wrist)  # fmt: skip
        return self.calibration

    def set_calibration(self, calibration: HandCalibration | None) -> None:
        self.calibration = calibration

    # ------------------------------------------------------------------------------------------- per frame
    def _select(self, hands: tuple[HandObservation, ...]) -> HandObservation | None:
        want = self.config.hand
        if want != "either":
            matching = [h for h in hands if h.handedness == want]
        else:
            matching = [h for h in hands if h.handedness == self._followed] or list(hands)
        return max(matching, key=lambda h: h.score) if matching else None

    def _bone_check(self, lengths: np.ndarray, t: float) -> bool:
        tol = self.config.bone_tolerance
        if tol is None:
            return True
        reference = self.reference_bone_lengths
        if reference is None:
            self._auto_samples.append(lengths)
            if len(self._auto_samples) >= self.config.auto_reference_frames:
                self._auto_reference = np.median(np.stack(self._auto_samples), axis=0)
                self._auto_samples = []
            return True
        deviation = float(np.mean(np.abs(lengths - reference) / np.maximum(reference, 1e-6)))
        if deviation <= tol:
            self._reject_since = None
            return True
        if self._reject_since is None:
            self._reject_since = t
        if self.calibration is None and t - self._reject_since > 2.0:
            # the automatic reference was learned from a bad stretch: learn it again rather than lock out forever
            self._auto_reference, self._auto_samples, self._reject_since = None, [], None
        return False

    def _lost_frame(self, index: int, t: float, *, num_hands: int, rejected: str | None,
                    observation: HandObservation | None, timings: dict[str, float]) -> TrackedFrame:  # fmt: skip
        if self._loss_start is None:
            self._loss_start = t
        held = self._held
        since = t - self._last_valid_t if self._last_valid_t is not None else 0.0
        return TrackedFrame(
            index=index, timestamp=t, present=False, lost=True, time_since_loss=max(0.0, since),
            handedness=held.handedness if held else None, score=0.0, num_hands=num_hands, rejected=rejected,
            image_landmarks=observation.image_landmarks if observation is not None else None,
            world_landmarks=observation.world_landmarks if observation is not None else None,
            canonical=held.canonical if held else None, theta=held.theta if held else None,
            wrist_pose=held.wrist_pose if held else None, image_size=observation.image_size if observation else None,
            timings=timings,
        )  # fmt: skip

    def process(self, hands: tuple[HandObservation, ...] | list[HandObservation], timestamp: float, index: int = 0,
                timings: dict[str, float] | None = None) -> TrackedFrame:  # fmt: skip
        from lad_core.embodiments.human import canonicalize, encode_pose

        t = float(timestamp)
        timings = dict(timings or {})
        hands = tuple(_mirror(h) for h in hands) if self.config.mirror else tuple(hands)
        obs = self._select(hands)
        if obs is None:
            return self._lost_frame(index, t, num_hands=len(hands), rejected="handedness" if hands else None,
                                    observation=None, timings=timings)  # fmt: skip
        world = np.asarray(obs.world_landmarks, dtype=np.float64)
        if world.shape != (21, 3) or not np.isfinite(world).all():
            return self._lost_frame(index, t, num_hands=len(hands), rejected="invalid", observation=None, timings=timings)
        lengths = bone_lengths(world)
        if not self._bone_check(lengths, t):
            return self._lost_frame(index, t, num_hands=len(hands), rejected="bone_length", observation=obs,
                                    timings=timings)  # fmt: skip
        if self._loss_start is not None and t - self._loss_start > self.config.filter_reset_after:
            self._filter.reset()
            self._wrist_t_filter.reset()
            self._wrist_r_filter.reset()
            self._pnp_guess = None
        self._loss_start = None
        canonical_raw, rotation = canonicalize(world, obs.handedness)
        canonical = self._filter(canonical_raw, t)
        canonical[0] = 0.0
        theta = np.asarray(encode_pose(canonical), dtype=np.float64) if self.config.compute_theta else None
        pose = None
        if self.config.wrist_pose and obs.image_landmarks is not None and obs.image_size is not None:
            solved = solve_wrist_pose(obs.image_landmarks, world, obs.image_size, wrist_axes(rotation, obs.handedness),
                                      self.config.intrinsics, hfov_deg=self.config.hfov_deg, initial=self._pnp_guess)  # fmt: skip
            if solved is not None:
                raw_pose, self._pnp_guess = solved
                pose = WristPose(
                    rotation=_orthonormalize(self._wrist_r_filter(raw_pose.rotation, t)),
                    translation=self._wrist_t_filter(raw_pose.translation, t),
                    reprojection_error=raw_pose.reprojection_error,
                )  # fmt: skip
        self._followed = obs.handedness
        self._last_valid_t = t
        self._recent.append((lengths, canonical_raw, pose))
        frame = TrackedFrame(
            index=index, timestamp=t, present=True, lost=False, time_since_loss=0.0, handedness=obs.handedness,
            score=obs.score, num_hands=len(hands), image_landmarks=obs.image_landmarks, world_landmarks=world,
            canonical=canonical, theta=theta, wrist_pose=pose, image_size=obs.image_size, timings=timings,
        )  # fmt: skip
        self._held = frame
        return frame
