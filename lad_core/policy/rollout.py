"""Receding-horizon execution of a trained policy for one target embodiment.

:class:`PolicyRunner` keeps the last ``n_obs_steps`` observations; when its action queue is empty it predicts a
chunk (DDIM), unnormalizes it with the embodiment's statistics, splits arm and end-effector parts, decodes the latent
part with the embodiment's decoder, and queues the ``n_action_steps`` executed steps (chunk indices To-1 ..
To-2+Ta). ``step(obs)`` returns one :class:`ActionStep`; ``reset()`` clears the history and the queue. Not
thread-safe: one runner per control loop. :meth:`PolicyRunner.predict` is the chunk prediction alone (an observation
history in, a :class:`ChunkPrediction` out), for callers that keep their own history and queue (the rollout's
``LadPolicy``); :meth:`PolicyRunner.decode_chunk` the unnormalize / split / decode step alone. A policy with a
latent basis predicts basis coordinates, mapped back to latents (onto the unit sphere for unit-norm latent models)
before decoding; a policy with an embodiment cue gets the target embodiment's one-hot with every observation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from lad_core.errors import InputError
from lad_core.policy.actions import pose_relative, targets_from_actions
from lad_core.policy.checkpoint import LoadedPolicy
from lad_core.policy.latent import LatentCodec
from lad_core.policy.observation import CUE_KEY, embodiment_one_hot


@dataclass
class ActionStep:
    arm: np.ndarray  # (Da,) arm action in the trained representation (delta or relative)
    arm_target: np.ndarray | None  # (Da,) absolute arm target, when the observation carried the current arm pose
    end_effector: np.ndarray  # (De,) explicit end-effector command (decoded when latent)
    new_chunk: bool  # True when this step started a freshly predicted chunk


@dataclass
class ChunkPrediction:
    """One predicted chunk: ``arm`` (H, Da) arm actions in the trained representation, ``end_effector`` (H, De)
    explicit commands (decoded when latent), ``current_pose`` (Da,) the absolute arm pose the chunk starts from
    (None when unknown). The executed steps are chunk indices ``start .. start + n_executed - 1``."""

    arm: np.ndarray
    end_effector: np.ndarray
    current_pose: np.ndarray | None
    arm_mode: str
    start: int
    n_executed: int

    def executed(self) -> tuple[np.ndarray, np.ndarray]:
        """(Ta, Da) arm actions and (Ta, De) end-effector commands of the executed steps."""
        sel = slice(self.start, self.start + self.n_executed)
        return self.arm[sel], self.end_effector[sel]

    def targets(self) -> np.ndarray | None:
        """(Ta, Da) absolute arm targets of the executed steps, or None without ``current_pose``."""
        if self.current_pose is None:
            return None
        return targets_from_actions(self.executed()[0], self.current_pose, self.arm_mode)


class PolicyRunner:
    def __init__(self, loaded: LoadedPolicy, embodiment: str, codec: LatentCodec | None = None, *,
                 seed: int = 0, num_inference_steps: int | None = None, project_latent: bool | None = None):
        cfg = loaded.config.policy
        if embodiment not in loaded.normalizer.action:
            raise InputError(f"the policy was not trained on embodiment '{embodiment}' (it knows "
                             f"{sorted(loaded.normalizer.action)})")
        project = cfg.action.project_latent if project_latent is None else bool(project_latent)
        if cfg.action.end_effector == "latent":
            if codec is None:
                raise InputError("a latent policy needs the latent model's decoder for the target embodiment")
            codec.decoder(embodiment)
            if project and not codec.unit_norm:
                raise InputError(f"project_latent needs a latent model with unit-norm latents; {codec.name} "
                                 f"does not say its latents are unit vectors")
            if cfg.action.latent_basis is not None:
                if loaded.latent_basis is None:
                    raise InputError("the policy predicts coordinates in a latent basis, but none was loaded with it")
                codec = loaded.latent_basis.reduce(codec)
        cue = cfg.observation.embodiment_cue
        if cue and embodiment not in cue:
            raise InputError(f"the policy's embodiment cue covers {list(cue)}, not '{embodiment}'")
        self.loaded = loaded
        self.embodiment = embodiment
        # the latent model as the policy predicts it (in its basis, when it has one)
        self.codec = codec if cfg.action.end_effector == "latent" else None
        self.project_latent = project and self.codec is not None
        self.num_inference_steps = num_inference_steps
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        self.generator = torch.Generator().manual_seed(self._seed)
        self._history: deque[dict[str, np.ndarray]] = deque(maxlen=self.loaded.config.policy.n_obs_steps)
        self._queue: deque[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = deque()

    # ------------------------------------------------------------------------------------------ chunk prediction
    @property
    def expected_keys(self) -> list[str]:
        """Observation keys the policy needs, low-dim (the arm pose included) then ``images/<camera>``."""
        cfg = self.loaded.config.policy
        return [*cfg.observation.lowdim_keys(cfg.action.arm_dim), *(f"images/{c.name}" for c in cfg.observation.cameras)]

    def predict(self, observation: Mapping[str, np.ndarray]) -> ChunkPrediction:
        """One fresh chunk for an observation history ``{key: (To, ...)}`` (oldest first; low-dim keys (To, d),
        ``images/<camera>`` (To, H, W, 3) uint8; ``arm_pose`` absolute). Draws its DDIM noise from the runner's
        generator (``reset()`` restarts it); does not touch the runner's own history or queue."""
        cfg = self.loaded.config.policy
        To = cfg.n_obs_steps
        missing = [k for k in self.expected_keys if k not in observation]
        if missing:
            raise InputError(f"observation lacks {missing} (the policy expects {self.expected_keys})")
        dims = cfg.observation.lowdim_keys(cfg.action.arm_dim)
        obs: dict[str, torch.Tensor] = {}
        for key in self.expected_keys:
            value = np.asarray(observation[key])
            if key in dims:
                value = value.astype(np.float32)
                if value.shape != (To, dims[key]):
                    raise InputError(f"observation '{key}' must have shape ({To}, {dims[key]}), got {value.shape}")
            elif value.shape[:1] != (To,):
                raise InputError(f"observation '{key}' must hold {To} frames, got shape {value.shape}")
            obs[key] = torch.from_numpy(np.ascontiguousarray(value))[None]
        if cfg.observation.arm_pose == "relative" and "arm_pose" in obs:
            poses = obs["arm_pose"][0].numpy()
            obs["arm_pose"] = torch.from_numpy(pose_relative(poses[-1][None], poses)[None])
        obs = self.loaded.normalizer.normalize_obs(obs)
        if cfg.observation.embodiment_cue:
            obs[CUE_KEY] = embodiment_one_hot(cfg.observation.embodiment_cue, self.embodiment, 1, To)
        chunk = self.loaded.policy.predict_action_chunk(obs, self.generator, self.num_inference_steps)
        arm, ee = self.decode_chunk(chunk)
        current = observation.get("arm_pose")
        current = None if current is None else np.asarray(current, dtype=np.float64)[-1][:cfg.action.arm_dim]
        return ChunkPrediction(arm[0], ee[0], current, cfg.action.arm_mode, cfg.n_obs_steps - 1, cfg.n_action_steps)

    def decode_chunk(self, chunk: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Normalized chunks (B, H, Da + Dz) as the policy samples them -> (B, H, Da) arm actions and (B, H, De)
        explicit end-effector commands: unnormalized with the embodiment's statistics, split, the latent part
        (projected onto the unit sphere when ``project_latent``; mapped from basis coordinates to latents with a
        latent basis) decoded by the embodiment's decoder."""
        chunk = self.loaded.normalizer.unnormalize_action(chunk, self.embodiment)
        arm_dim = self.loaded.config.policy.action.arm_dim
        arm, ee = chunk[..., :arm_dim], chunk[..., arm_dim:]
        if self.codec is not None:
            if self.project_latent:
                ee = torch.nn.functional.normalize(ee, dim=-1)
            ee = self.codec.decode(self.embodiment, ee)
        return arm.numpy(), ee.numpy()

    def predict_chunk(self) -> tuple[np.ndarray, np.ndarray]:
        """(H, Da) arm actions and (H, De) end-effector commands of a fresh chunk for the runner's own history."""
        pred = self.predict(self._stacked_history())
        return pred.arm, pred.end_effector

    def _stacked_history(self) -> dict[str, np.ndarray]:
        hist = list(self._history)
        hist = [hist[0]] * (self.loaded.config.policy.n_obs_steps - len(hist)) + hist  # pad as in training
        return {key: np.stack([h[key] for h in hist]) for key in hist[-1]}

    # ------------------------------------------------------------------------------------------ receding horizon
    def step(self, observation: dict[str, np.ndarray]) -> ActionStep:
        """One control tick: ``observation`` holds one frame of every key the policy expects (low-dim (d,),
        ``images/<camera>`` (H, W, 3) uint8, ``arm_pose`` (Da,) absolute when the policy observes the arm)."""
        cfg = self.loaded.config.policy
        expected = self.expected_keys
        missing = [k for k in expected if k not in observation]
        if missing:
            raise InputError(f"observation lacks {missing} (the policy expects {expected})")
        frame = {k: np.asarray(observation[k]) for k in expected}
        for key, dim in cfg.observation.lowdim_keys(cfg.action.arm_dim).items():
            frame[key] = frame[key].astype(np.float32)
            if frame[key].shape != (dim,):
                raise InputError(f"observation '{key}' must have shape ({dim},), got {frame[key].shape}")
        self._history.append(frame)
        new_chunk = not self._queue
        if new_chunk:
            pred = self.predict(self._stacked_history())
            # the targets are relative to the pose of the current tick (also when the policy does not observe it)
            if "arm_pose" in observation:
                pred.current_pose = np.asarray(observation["arm_pose"], dtype=np.float64)[:cfg.action.arm_dim]
            else:
                pred.current_pose = None
            targets = pred.targets()
            arm, ee = pred.executed()
            self._queue.extend(zip(arm, ee, targets if targets is not None else [None] * len(arm)))
        arm, ee, target = self._queue.popleft()
        return ActionStep(arm, target, ee, new_chunk)
