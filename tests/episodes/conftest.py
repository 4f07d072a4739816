"""Fixtures for the episode storage tests: a schema, deterministic frames and real camera/pose data."""

from __future__ import annotations

import numpy as np
import pytest

from lad_core.episodes import EpisodeSchema, Frame

H = W = 32


def synthetic_frame(t: int, schema: EpisodeSchema, fps: float = 30.0) -> Frame:
    """Frame t with content that is a pure function of t (so a reader can check every byte)."""
    images = {}
    for k, (cam, (h, w)) in enumerate(schema.cameras.items()):
        yy, xx = np.mgrid[0:h, 0:w]
        base = (yy * 3 + xx * 5 + t * 7 + k * 50) % 256
        images[cam] = np.stack([base, (base + 85) % 256, (base + 170) % 256], axis=-1).astype(np.uint8)
    obs = {name: (np.arange(dim, dtype=np.float32) + t) * 0.01 for name, dim in schema.observations.items()}
    return Frame(t / fps, images, obs, np.full(schema.arm_dim, t * 0.5, np.float32),
                 np.full(schema.end_effector_dim, (t % 10) / 10, np.float32))


def small_schema() -> EpisodeSchema:
    return EpisodeSchema(cameras={"external": (H, W), "wrist": (H, W)}, observations={"arm_pose": 9},
                         arm_dim=6, end_effector_dim=1, end_effector_kind="gripper_width",
                         names={"actions/arm": ("dx", "dy", "dz", "drx", "dry", "drz")})


@pytest.fixture
def schema() -> EpisodeSchema:
    return small_schema()


@pytest.fixture(scope="session")
def real_video_frames(shared_data) -> np.ndarray:
    """(60, 64, 64, 3) uint8: every 5th frame of the real hand video, resized by the decoder."""
    import av

    frames = []
    with av.open(str(shared_data / "video" / "human_hand_video.mp4")) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i % 5 == 0:
                frames.append(fr.to_ndarray(format="rgb24", width=64, height=64))
            if len(frames) == 60:
                break
    return np.stack(frames)


@pytest.fixture
def real_episode(real_video_frames, real_pose_sequence):
    """An EpisodeData built from real material: video frames as two cameras, hand keypoints as observations."""
    from lad_core.episodes import EpisodeData, EpisodeInfo

    n = 45
    sch = EpisodeSchema(cameras={"external": (64, 64), "wrist": (64, 64)},
                        observations={"hand_keypoints": 63, "arm_pose": 9}, arm_dim=6, end_effector_dim=11,
                        end_effector_kind="joints")
    poses = np.asarray(real_pose_sequence[:n], dtype=np.float32).reshape(n, 63)
    ts = np.arange(n) / 30.0 + np.linspace(0, 0.004, n)  # real clocks jitter: not exactly t/fps
    return EpisodeData(
        info=EpisodeInfo(embodiment="faive", task="toy_in_bowl", fps=30, success=True,
                         retarget_scales={"global": 1.1}, calibration={"wrist_offset": [0.0, 0.01, 0.02]},
                         extra={"seed": 3}),
        schema=sch, timestamps=ts,
        images={"external": real_video_frames[:n].copy(), "wrist": real_video_frames[15:15 + n][:, ::-1].copy()},
        observations={"hand_keypoints": poses, "arm_pose": poses[:, 40:49] * 2.0},
        arm=poses[:, 3:9].copy(),
        end_effector=poses[:, 20:31].copy())
