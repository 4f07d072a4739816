"""Receding-horizon execution of a trained policy for one target embodiment.

:class:`PolicyRunner` keeps the last ``n_obs_steps`` observations; when its action queue is empty it predicts a
chunk (DDIM), unnormalizes it with the embodiment's statistics, splits arm and end-effector parts, decodes the latent
part with the embodiment's decoder, and queues the ``n_action_steps`` executed steps (chunk indices To-1 ..
To-2+Ta). ``step(obs)`` returns one :class:`ActionStep`; ``reset()`` clears the history and the queue. Not
thread-safe: one runner per control loop.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from lad_core.errors import InputError
from lad_core.policy.actions import targets_from_actions
from lad_core.policy.checkpoint import LoadedPolicy
from lad_core.policy.latent import LatentCodec


@dataclass
class ActionStep:
    arm: np.ndarray  # (Da,) arm action in the trained representation (delta or relative)
    arm_target: np.ndarray | None  # (Da,) absolute arm target, when the observation carried the current arm pose
    end_effector: np.ndarray  # (De,) explicit end-effector command (decoded when latent)
    new_chunk: bool  # True when this step started a freshly predicted chunk


class PolicyRunner:
    def __init__(self, loaded: LoadedPolicy, embodiment: str, codec: LatentCodec | None = None, *,
                 seed: int = 0, num_inference_steps: int | None = None):
        cfg = loaded.config.policy
        if embodiment not in loaded.normalizer.action:
            raise InputError(f"the policy was not trained on embodiment '{embodiment}' (it knows "
                             f"{sorted(loaded.normalizer.action)})")
        if cfg.action.end_effector == "latent":
            if codec is None:
                raise InputError("a latent policy needs the latent model's decoder for the target embodiment")
            codec.decoder(embodiment)
        self.loaded = loaded
        self.embodiment = embodiment
        self.codec = codec if cfg.action.end_effector == "latent" else None
        self.num_inference_steps = num_inference_steps
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        self.generator = torch.Generator().manual_seed(self._seed)
        self._history: deque[dict[str, np.ndarray]] = deque(maxlen=self.loaded.config.policy.n_obs_steps)
        self._queue: deque[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = deque()

    def _stacked_obs(self) -> dict[str, torch.Tensor]:
        cfg = self.loaded.config.policy
        hist = list(self._history)
        while len(hist) < cfg.n_obs_steps:  # pad at the start by repeating the first frame (as in training)
            hist.insert(0, hist[0])
        obs = {}
        for key in hist[-1]:
            obs[key] = torch.from_numpy(np.stack([h[key] for h in hist])[None])
        if cfg.observation.arm_pose == "relative" and "arm_pose" in obs:
            from lad_core.policy.actions import pose_relative

            poses = obs["arm_pose"][0].numpy()
            obs["arm_pose"] = torch.from_numpy(pose_relative(poses[-1][None], poses)[None])
        return obs

    def predict_chunk(self) -> tuple[np.ndarray, np.ndarray]:
        """(H, Da) arm actions and (H, De) end-effector commands of a fresh chunk for the current history."""
        policy, norm = self.loaded.policy, self.loaded.normalizer
        obs = norm.normalize_obs({k: (v.float() if not k.startswith("images/") else v)
                                  for k, v in self._stacked_obs().items()})
        chunk = policy.predict_action_chunk(obs, self.generator, self.num_inference_steps)
        chunk = norm.unnormalize_action(chunk, self.embodiment)[0]
        arm_dim = self.loaded.config.policy.action.arm_dim
        arm, ee = chunk[:, :arm_dim], chunk[:, arm_dim:]
        if self.codec is not None:
            ee = self.codec.decode(self.embodiment, ee)
        return arm.numpy(), ee.numpy()

    def step(self, observation: dict[str, np.ndarray]) -> ActionStep:
        """One control tick: ``observation`` holds one frame of every key the policy expects (low-dim (d,),
        ``images/<camera>`` (H, W, 3) uint8, ``arm_pose`` (Da,) absolute when the policy observes the arm)."""
        cfg = self.loaded.config.policy
        expected = [*cfg.observation.lowdim_keys(cfg.action.arm_dim),
                    *(f"images/{c.name}" for c in cfg.observation.cameras)]
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
            arm, ee = self.predict_chunk()
            start = cfg.n_obs_steps - 1
            sel = slice(start, start + cfg.n_action_steps)
            current = observation.get("arm_pose")
            targets = (targets_from_actions(arm[sel], np.asarray(current), cfg.action.arm_mode)
                       if current is not None else [None] * cfg.n_action_steps)
            self._queue.extend(zip(arm[sel], ee[sel], targets))
        arm, ee, target = self._queue.popleft()
        return ActionStep(arm, target, ee, new_chunk)
