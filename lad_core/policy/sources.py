"""Where episodes come from: synthetic trajectories (now) and recorded HDF5 episodes (through ``lad_core.episodes``).

Both return lists of :class:`~lad_core.policy.dataset.Episode`; swapping one for the other is one line.

Synthetic task (deterministic for a seed): the arm (translation + rotation vector) approaches an object, closes the
end-effector (grasp phase g: 0 open -> 1 closed), then carries the object to a target. Low-dim ``state`` (8) =
object xyz + object yaw + target xyz + g. The end-effector command is embodiment-specific: a 1-D gripper width
``1 - g`` for ``gripper``, or a De-dimensional joint vector interpolating a fixed open and closed hand pose (seeded by
the embodiment name) for any other embodiment. Optional cameras render the object as a bright square.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lad_core.errors import InputError
from lad_core.policy.dataset import Episode

SYNTHETIC_STATE_DIM = 8


def _hand_poses(embodiment: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(embodiment.encode()))
    open_pose = rng.uniform(-0.2, 0.2, dim)
    closed = open_pose + rng.uniform(0.6, 1.4, dim)
    return open_pose.astype(np.float32), closed.astype(np.float32)


def synthetic_episodes(embodiment: str, *, num_episodes: int, length: int = 60, end_effector_dim: int = 1,
                       seed: int = 0, cameras: Sequence[str] = (), image_size: tuple[int, int] = (96, 96),
                       noise: float = 0.0) -> list[Episode]:
    rng = np.random.default_rng(seed)
    open_pose, closed = _hand_poses(embodiment, end_effector_dim)
    episodes = []
    for i in range(num_episodes):
        obj = np.r_[rng.uniform(-0.3, 0.3, 2), 0.02]
        yaw = rng.uniform(-np.pi / 2, np.pi / 2)
        target = np.r_[rng.uniform(-0.3, 0.3, 2), 0.1]
        pose = np.r_[rng.uniform(-0.2, 0.2, 2), 0.3, 0.0, 0.0, 0.0]
        g = 0.0
        poses, states, grasp = [], [], []
        for _t in range(length):
            poses.append(pose.copy())
            states.append(np.r_[obj if g < 1.0 else pose[:3], yaw, target, g])
            grasp.append(g)
            goal = obj if g < 1.0 else target
            step = 0.15 * (goal - pose[:3])
            norm = np.linalg.norm(step)
            if norm > 0.03:
                step *= 0.03 / norm
            pose[:3] += step + noise * rng.standard_normal(3)
            pose[5] += 0.2 * (yaw - pose[5])
            if g < 1.0 and np.linalg.norm(obj - pose[:3]) < 0.03:
                g = min(1.0, g + 0.25)
        grasp = np.asarray(grasp, dtype=np.float32)[:, None]
        if embodiment == "gripper" and end_effector_dim == 1:
            ee = 1.0 - grasp
        else:
            ee = open_pose + grasp * (closed - open_pose)
        obs = {"state": np.asarray(states, dtype=np.float32)}
        for cam in cameras:
            obs[f"images/{cam}"] = _render(np.asarray(states)[:, :2], image_size)
        episodes.append(Episode(embodiment, obs, np.asarray(poses, dtype=np.float32), ee.astype(np.float32),
                                name=f"synthetic_{embodiment}_{seed}_{i}"))
    return episodes


def _render(xy: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    frames = np.zeros((len(xy), h, w, 3), dtype=np.uint8)
    rows = np.clip(((xy[:, 1] + 0.4) / 0.8 * h).astype(int), 4, h - 5)
    cols = np.clip(((xy[:, 0] + 0.4) / 0.8 * w).astype(int), 4, w - 5)
    for f, (r, c) in enumerate(zip(rows, cols)):
        frames[f, r - 4:r + 4, c - 4:c + 4] = (255, 200, 40)
    return frames


def episode_from_record(data, *, arm_pose_key: str = "arm_pose") -> Episode:
    """Adapt a recorded ``lad_core.episodes.EpisodeData``: its low-dim observations and cameras
    (``images/<camera>``), the reached arm pose from observation ``arm_pose_key`` (falling back to ``/actions/arm``
    when the recording has no such observation, i.e. when arm actions are absolute reached poses), and
    ``/actions/end_effector``. When the recording says its ``/actions/arm`` are absolute commanded poses
    (``extra["arm_action"] == "absolute_pose"``, as ``lad_core.sim.recording`` writes) and it also has the reached
    pose, those commands become the episode's ``arm_target``."""
    obs = {k: np.asarray(v) for k, v in data.observations.items()}
    obs.update({f"images/{cam}": np.asarray(v) for cam, v in data.images.items()})
    arm_pose = obs.get(arm_pose_key, np.asarray(data.arm))
    extra = getattr(data.info, "extra", None) or {}
    commanded = arm_pose_key in obs and extra.get("arm_action") == "absolute_pose"
    return Episode(data.info.embodiment, obs, np.asarray(arm_pose, dtype=np.float32),
                   np.asarray(data.end_effector, dtype=np.float32), name=str(getattr(data.info, "task", "")),
                   attrs={"task": data.info.task, "fps": data.info.fps, "success": data.info.success,
                          "seed": extra.get("seed")},
                   arm_target=np.asarray(data.arm, dtype=np.float32) if commanded else None)


def recorded_episodes(folder: str | Path, *, arm_pose_key: str = "arm_pose") -> list[Episode]:
    """Every complete episode of a recorded dataset folder (``lad_core.episodes.EpisodeDataset``)."""
    from lad_core.episodes import EpisodeDataset, read_episode

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: dataset folder not found")
    out = []
    for path in EpisodeDataset(folder):
        ep = episode_from_record(read_episode(path), arm_pose_key=arm_pose_key)
        ep.name = Path(path).stem
        out.append(ep)
    return out
