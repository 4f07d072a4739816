"""Episodes as plain arrays and the window dataset the policies train on.

This is the small Dataset interface the rest of the package depends on: anything that yields :class:`Episode`
objects (synthetic trajectories now, recorded HDF5 episodes via :mod:`lad_core.policy.sources`) feeds
:class:`WindowDataset`. Shape legend: T episode length, To observation steps, H horizon, Da arm dim, De end-effector
dim.

A window is anchored at a current step t: observations at t-To+1..t, actions at t-To+1..t-To+H (Chi et al.'s
layout; the executed part starts at index To-1). Indices outside the episode repeat its first/last frame. The action
at frame k targets the reached arm pose at k+1 (``delta``: the step from k to k+1; ``relative``: that pose in the
frame of the pose at t); with an episode's ``arm_target`` (commanded poses), the relative action at frame k is
the command at k in the frame of the pose at t.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lad_core.errors import InputError
from lad_core.policy.actions import pose_relative, step_deltas
from lad_core.policy.configuration import ObservationConfig


@dataclass
class Episode:
    """One demonstration. ``observations`` maps keys to (T, ...) arrays: low-dim keys (T, d) and camera images
    ``images/<camera>`` (T, H, W, 3) uint8. ``arm_pose`` (T, Da) holds the reached arm poses, ``end_effector``
    (T, De) the explicit end-effector command (joint angles or gripper width). ``arm_target`` (T, Da), optional,
    holds the absolute arm pose *commanded* at each frame (what a position controller was sent; a simulated or real
    arm lags it by a few millimetres): when present, ``relative`` arm actions are those commands rather than the
    next reached pose, so a rollout sends what the demonstrator sent."""

    embodiment: str
    observations: dict[str, np.ndarray]
    arm_pose: np.ndarray
    end_effector: np.ndarray
    name: str = ""
    attrs: dict = field(default_factory=dict)
    arm_target: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.arm_pose)


class WindowDataset:
    """All windows of a list of same-embodiment episodes, fetched in batches by index.

    ``get_batch(indices)`` returns numpy arrays: ``obs`` {key: (B, To, ...)}, ``arm`` (B, H, Da) arm actions,
    ``end_effector`` (B, H, De) explicit end-effector commands.
    """

    def __init__(self, episodes: Sequence[Episode], *, name: str, observation: ObservationConfig, arm_dim: int,
                 arm_mode: str, n_obs_steps: int, horizon: int):
        self.name = name
        episodes = list(episodes)
        if not episodes:
            raise InputError(f"dataset '{name}': it holds no episodes")
        if all(len(ep) == 0 for ep in episodes):
            raise InputError(f"dataset '{name}': every episode is empty (0 frames)")
        embodiments = sorted({ep.embodiment for ep in episodes})
        if len(embodiments) != 1:
            raise InputError(f"dataset '{name}': episodes of several embodiments {embodiments}; use one dataset "
                             f"per embodiment")
        self.embodiment = embodiments[0]
        self.observation = observation
        self.arm_mode = arm_mode
        self.n_obs_steps = n_obs_steps
        self.horizon = horizon
        self.lowdim = dict(observation.lowdim)
        self.cameras = observation.cameras
        self.image_size = tuple(observation.image_size)
        ee_dims = {ep.end_effector.shape[-1] for ep in episodes if ep.end_effector.ndim == 2}
        if len(ee_dims) != 1 or any(ep.end_effector.ndim != 2 for ep in episodes):
            raise InputError(f"dataset '{name}': end_effector arrays must be (T, De) with one De, got "
                             f"{sorted({ep.end_effector.shape for ep in episodes})}")
        self.end_effector_dim = ee_dims.pop()
        for ep in episodes:
            self._validate(ep, arm_dim)
        self.has_camera = {c.name: all(f"images/{c.name}" in ep.observations for ep in episodes)
                           for c in self.cameras}
        self._build(episodes)

    def _validate(self, ep: Episode, arm_dim: int) -> None:
        where = f"dataset '{self.name}', episode '{ep.name or '?'}'"
        T = len(ep)
        if ep.arm_pose.shape != (T, arm_dim):
            raise InputError(f"{where}: arm_pose has shape {ep.arm_pose.shape}, expected ({T}, {arm_dim})")
        if ep.arm_target is not None and ep.arm_target.shape != (T, arm_dim):
            raise InputError(f"{where}: arm_target has shape {ep.arm_target.shape}, expected ({T}, {arm_dim})")
        if len(ep.end_effector) != T:
            raise InputError(f"{where}: end_effector has {len(ep.end_effector)} frames, arm_pose {T}")
        for key, dim in self.lowdim.items():
            arr = ep.observations.get(key)
            if arr is None:
                raise InputError(f"{where}: observation '{key}' is missing (has {sorted(ep.observations)})")
            if arr.shape != (T, dim):
                raise InputError(f"{where}: observation '{key}' has shape {arr.shape}, expected ({T}, {dim})")
        for cam in self.cameras:
            arr = ep.observations.get(f"images/{cam.name}")
            if arr is None:
                if cam.optional:
                    continue
                raise InputError(f"{where}: camera 'images/{cam.name}' is missing and not optional")
            if arr.shape != (T, *self.image_size, 3) or arr.dtype != np.uint8:
                raise InputError(f"{where}: camera '{cam.name}' must be uint8 ({T}, {self.image_size[0]}, "
                                 f"{self.image_size[1]}, 3), got {arr.dtype} {arr.shape}")
        extra = [] if ep.arm_target is None else [("arm_target", ep.arm_target)]
        for key, arr in [("arm_pose", ep.arm_pose), ("end_effector", ep.end_effector), *extra,
                         *[(k, ep.observations[k]) for k in self.lowdim]]:
            if not np.all(np.isfinite(arr)):
                raise InputError(f"{where}: '{key}' contains NaN or inf")

    def _build(self, episodes: list[Episode]) -> None:
        To, H = self.n_obs_steps, self.horizon
        obs_idx, act_idx, cur_idx = [], [], []
        offset = 0
        deltas, next_pose = [], []
        for ep in episodes:
            T = len(ep)
            if T == 0:
                continue
            t = np.arange(T)
            obs_idx.append(offset + np.clip(t[:, None] - To + 1 + np.arange(To)[None], 0, T - 1))
            act_idx.append(offset + np.clip(t[:, None] - To + 1 + np.arange(H)[None], 0, T - 1))
            cur_idx.append(offset + t)
            deltas.append(step_deltas(ep.arm_pose))
            next_pose.append(ep.arm_pose[np.minimum(t + 1, T - 1)] if ep.arm_target is None else ep.arm_target)
            offset += T
        used = [ep for ep in episodes if len(ep)]
        self._obs_idx = np.concatenate(obs_idx)
        self._act_idx = np.concatenate(act_idx)
        self._cur_idx = np.concatenate(cur_idx)
        self._arm_pose = np.concatenate([ep.arm_pose for ep in used]).astype(np.float32)
        self._arm_delta = np.concatenate(deltas)
        self._arm_next = np.concatenate(next_pose).astype(np.float32)
        self._ee = np.concatenate([ep.end_effector for ep in used]).astype(np.float32)
        self._lowdim = {k: np.concatenate([ep.observations[k] for ep in used]).astype(np.float32) for k in self.lowdim}
        self._images = {c.name: np.concatenate([ep.observations[f"images/{c.name}"] for ep in used])
                        for c in self.cameras if self.has_camera[c.name]}
        self.num_frames = offset

    def __len__(self) -> int:
        return len(self._cur_idx)

    @property
    def end_effector_frames(self) -> np.ndarray:
        """(N_frames, De) every explicit end-effector command (for fitting statistics)."""
        return self._ee

    def get_batch(self, indices: np.ndarray | Sequence[int]) -> dict:
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"dataset '{self.name}': window index out of range [0, {len(self)})")
        oi, ai, ci = self._obs_idx[idx], self._act_idx[idx], self._cur_idx[idx]
        obs = {k: v[oi] for k, v in self._lowdim.items()}
        arm_obs = self.observation.arm_pose
        if arm_obs == "absolute":
            obs["arm_pose"] = self._arm_pose[oi]
        elif arm_obs == "relative":
            obs["arm_pose"] = pose_relative(self._arm_pose[ci][:, None], self._arm_pose[oi])
        for cam in self.cameras:
            if self.has_camera[cam.name]:
                obs[f"images/{cam.name}"] = self._images[cam.name][oi]
            else:  # zero-padded where the embodiment lacks this camera (paper 7.1.1)
                obs[f"images/{cam.name}"] = np.zeros((*oi.shape, *self.image_size, 3), dtype=np.uint8)
        if self.arm_mode == "delta":
            arm = self._arm_delta[ai]
        else:
            arm = pose_relative(self._arm_pose[ci][:, None], self._arm_next[ai])
        return {"obs": obs, "arm": arm.astype(np.float32), "end_effector": self._ee[ai]}

    def iter_batches(self, batch_size: int = 4096):
        """Every window in order, in batches (for statistics)."""
        for start in range(0, len(self), batch_size):
            yield self.get_batch(np.arange(start, min(start + batch_size, len(self))))
