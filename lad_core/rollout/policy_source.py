"""A learned policy as a rollout command source.

Shape legend: To observation steps, T executed steps per chunk, Da arm dims (3: wrist position, or 6: position +
rotation vector, absolute targets in the robot base frame), J end-effector joints.

- :class:`ChunkPolicy`: the small protocol the rollout needs from a policy: ``reset()``,
  ``predict_chunk(observation) -> (T, Da + J)`` where ``observation`` maps each key to its last ``n_obs_steps``
  frames ``(To, ...)``, oldest first; and the attributes ``n_obs_steps`` and ``arm_dim``.
- :class:`PolicySource`: a ``CommandSource`` around any ``ChunkPolicy``. The controller hands it every tick's
  measured state (``observe``) so the policy sees consecutive control ticks, and asks it for a chunk only once the
  previous one has been sent (``prefetch = False``): the chunk is predicted from the state it starts from.
- :class:`LadPolicy` / :func:`load_chunk_policy`: the adapter for ``lad_core.policy`` checkpoints (DDIM sampling,
  unnormalization, latent decoding with the embodiment's decoder, arm actions turned into absolute targets).

Observations come from the robot state (:func:`observation_from_state`: ``arm_pose`` (6) = wrist position +
rotation vector, ``ee_joints`` (J), ``arm_joints`` (A) when the backend reports them). A policy that needs more
(object poses, camera images) needs a richer ``observation_fn``; :func:`load_chunk_policy` names what is missing.
"""

from __future__ import annotations

import collections
import threading
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

import numpy as np

from lad_core.errors import InputError
from lad_core.robots.base import RobotCommand, RobotState
from lad_core.rollout.sources import ActionChunk

Observation = dict[str, np.ndarray]


@runtime_checkable
class ChunkPolicy(Protocol):
    n_obs_steps: int
    arm_dim: int  # 3 or 6

    def reset(self) -> None:
        """Forget everything about the previous episode (noise generator, caches)."""

    def predict_chunk(self, observation: Mapping[str, np.ndarray]) -> np.ndarray:
        """``{key: (To, ...)}`` -> ``(T, arm_dim + J)`` absolute wrist targets and end-effector joint targets."""


def observation_from_state(state: RobotState) -> Observation:
    """One observation frame from a measured robot state (float32)."""
    from scipy.spatial.transform import Rotation

    quat = np.asarray(state.ee_orientation, dtype=float)
    norm = float(np.linalg.norm(quat))
    rotvec = Rotation.from_quat(quat / norm).as_rotvec() if np.isfinite(norm) and norm > 0 else np.zeros(3)
    obs = {"arm_pose": np.r_[np.asarray(state.ee_position, float), rotvec].astype(np.float32),
           "ee_joints": np.asarray(state.joints, dtype=np.float32)}
    if len(state.arm_joints):
        obs["arm_joints"] = np.asarray(state.arm_joints, dtype=np.float32)
    for key, value in state.observations.items():  # what the backend senses beyond itself (e.g. the sim scene)
        value = np.asarray(value)
        obs.setdefault(key, value if key.startswith("images/") else value.astype(np.float32))
    return obs


def stack_history(frames: list[Observation], n_obs_steps: int) -> dict[str, np.ndarray]:
    """The last ``n_obs_steps`` frames stacked per key ``(To, ...)``; too few frames repeat the oldest one."""
    if not frames:
        raise InputError("no observation yet")
    frames = list(frames)[-n_obs_steps:]
    frames = [frames[0]] * (n_obs_steps - len(frames)) + frames
    return {key: np.stack([f[key] for f in frames]) for key in frames[-1]}


def commands_from_actions(actions: np.ndarray, arm_dim: int, n_joints: int, state: RobotState) -> tuple[RobotCommand, ...]:
    """``(T, arm_dim + J)`` absolute targets -> RobotCommands. Values are not checked here (NaN stays NaN): the
    safety layer rejects what is not finite. A 3-D arm keeps the current wrist orientation."""
    from scipy.spatial.transform import Rotation

    actions = np.asarray(actions, dtype=np.float64)
    if actions.ndim != 2 or actions.shape[1] != arm_dim + n_joints or len(actions) == 0:
        raise InputError(f"policy chunk must have shape (T>0, {arm_dim + n_joints}) (arm {arm_dim} + {n_joints} "
                         f"end-effector joints), got {actions.shape}")
    out = []
    for row in actions:
        if arm_dim == 6:
            rotvec = row[3:6]
            quat = (Rotation.from_rotvec(rotvec).as_quat() if np.all(np.isfinite(rotvec))
                    else np.full(4, np.nan))
        else:
            quat = np.asarray(state.ee_orientation, float)
        out.append(RobotCommand(row[:3], quat, row[arm_dim:]))
    return tuple(out)


class PolicySource:
    """A ``CommandSource`` that asks a ``ChunkPolicy`` for one chunk at a time (see the module docstring).

    ``observation_fn(state) -> {key: (d,)}`` turns a measured state into one observation frame. ``max_chunks``
    ends the source (``None``) after that many chunks (scripted runs); by default a policy never finishes.
    Thread-safe: ``observe`` runs in the control loop, ``next_chunk`` in the fetch thread.
    """

    prefetch = False

    def __init__(self, policy: ChunkPolicy, n_joints: int, *, name: str = "policy",
                 observation_fn: Callable[[RobotState], Observation] = observation_from_state,
                 max_chunks: int | None = None):
        if getattr(policy, "arm_dim", None) not in (3, 6):
            raise InputError(f"policy arm_dim must be 3 or 6, got {getattr(policy, 'arm_dim', None)!r}")
        self.policy = policy
        self.name = name
        self.n_joints = int(n_joints)
        self.observation_fn = observation_fn
        self.max_chunks = max_chunks
        self.n_obs_steps = max(1, int(getattr(policy, "n_obs_steps", 1)))
        self._lock = threading.Lock()
        self._history: collections.deque[tuple[float, Observation]] = collections.deque(maxlen=self.n_obs_steps)
        self.chunks_predicted = 0

    def observe(self, state: RobotState) -> None:
        frame = self.observation_fn(state)
        with self._lock:
            if self._history and self._history[-1][0] >= state.timestamp:
                return
            self._history.append((state.timestamp, frame))

    def next_chunk(self, state: RobotState | None) -> ActionChunk | None:
        if self.max_chunks is not None and self.chunks_predicted >= self.max_chunks:
            return None
        if state is None:
            return ActionChunk((), self.name)  # no measurement yet: hold
        self.observe(state)
        with self._lock:
            frames = [f for _, f in self._history]
        actions = self.policy.predict_chunk(stack_history(frames, self.n_obs_steps))
        steps = commands_from_actions(actions, self.policy.arm_dim, self.n_joints, state)
        self.chunks_predicted += 1
        return ActionChunk(steps, self.name)

    def reset(self) -> None:
        with self._lock:
            self._history.clear()
        self.chunks_predicted = 0
        self.policy.reset()

    def warmup(self, state: RobotState) -> float:
        """Predict one chunk and throw it away (the first call of a torch model is several times slower), then
        reset. Returns the seconds the warm-up prediction took."""
        import time

        t0 = time.perf_counter()
        self.next_chunk(state)
        elapsed = time.perf_counter() - t0
        self.reset()
        return elapsed


class LadPolicy:
    """``ChunkPolicy`` adapter of a ``lad_core.policy`` checkpoint for one embodiment: chunk-wise, each call returns
    the ``n_action_steps`` executed steps of one ``lad_core.policy.rollout.PolicyRunner.predict`` (DDIM sampling,
    unnormalization, latent decoding) as absolute arm targets + end-effector commands."""

    def __init__(self, loaded: Any, embodiment: str, codec: Any = None, *, seed: int = 0,
                 num_inference_steps: int | None = None):
        from lad_core.policy.rollout import PolicyRunner

        cfg = loaded.config.policy
        if cfg.action.end_effector == "latent" and codec is None:
            raise InputError("a latent policy needs the latent model's decoder for the target embodiment (--latent)")
        self.runner = PolicyRunner(loaded, embodiment, codec, seed=seed, num_inference_steps=num_inference_steps)
        self.loaded = loaded
        self.embodiment = embodiment
        self.codec = self.runner.codec
        self.seed = seed
        self.num_inference_steps = num_inference_steps
        self.n_obs_steps = int(cfg.n_obs_steps)
        self.arm_dim = int(cfg.action.arm_dim)

    @property
    def expected_keys(self) -> list[str]:
        return self.runner.expected_keys

    def missing_keys(self, available: Mapping[str, Any]) -> list[str]:
        return [k for k in self.expected_keys if k not in available]

    def reset(self) -> None:
        self.runner.reset()

    def predict_chunk(self, observation: Mapping[str, np.ndarray]) -> np.ndarray:
        if "arm_pose" not in observation:
            missing = self.missing_keys(observation) or ["arm_pose"]
            raise InputError(f"observation lacks {missing} (the policy expects {self.expected_keys})")
        pred = self.runner.predict(observation)
        _arm, ee = pred.executed()
        return np.concatenate([np.asarray(pred.targets(), np.float64), ee.astype(np.float64)], axis=1)


def codec_for(loaded: Any, latent: str | Path | None = None) -> Any:
    """The latent decoder a checkpoint needs: ``latent`` (a latent model checkpoint) when given, else the
    checkpoint's own ``linear`` stand-in rebuilt from its config; None for explicit policies."""
    cfg = loaded.config
    if cfg.policy.action.end_effector != "latent":
        return None
    from lad_core.policy.latent import LinearCodec, load_latent_codec

    if latent is not None:
        return load_latent_codec(latent)
    lat = cfg.latent
    if lat is not None and lat.kind == "linear":
        from lad_core.embodiments import get

        dims = {d.embodiment: (d.synthetic.end_effector_dim if d.synthetic is not None else get(d.embodiment).action_dim)
                for d in cfg.datasets}  # as training built it (lad_core.policy.training.build_codec)
        return LinearCodec(dims, lat.dim, seed=lat.seed)
    if lat is not None and lat.path:
        return load_latent_codec(lat.path)
    raise InputError("the checkpoint's latent model is unknown: pass --latent PATH")


def load_chunk_policy(checkpoint: str | Path, embodiment: str, *, latent: str | Path | None = None, seed: int = 0,
                      num_inference_steps: int | None = None, available_keys: Mapping[str, Any] | None = None,
                      device: str = "cpu") -> LadPolicy:
    """Load a ``lad_core.policy`` checkpoint folder as a ``ChunkPolicy`` for ``embodiment``.

    ``available_keys``: the observation keys the caller can provide; a policy needing others is refused here, with
    the file named, rather than at the first chunk.
    """
    from lad_core.policy.checkpoint import load_policy

    loaded = load_policy(checkpoint, device=device)
    policy = LadPolicy(loaded, embodiment, codec_for(loaded, latent), seed=seed,
                       num_inference_steps=num_inference_steps)
    if available_keys is not None:
        missing = policy.missing_keys(available_keys)
        if missing:
            raise InputError(f"{checkpoint}: the policy observes {missing}, which this robot backend does not provide "
                             f"(it provides {sorted(available_keys)})")
    return policy
