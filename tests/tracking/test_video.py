"""The real video (../shared/data/video/human_hand_video.mp4) through MediaPipe and our processing.

Measured on this machine at 640x360 (see benchmarks/README.md, Tracking): all 621 frames tracked as a right hand;
mean per-joint distance of our canonical landmarks to joints.npy (the same frames through an older MediaPipe)
about 0.6 mm unfiltered and about 2.9 mm with the default One Euro filter (lag while the hand moves).
"""

from __future__ import annotations

import numpy as np
import pytest

from lad_core.tracking import OneEuroParams, TrackingConfig
from lad_core.tracking.processing import HandProcessor

pytestmark = pytest.mark.shared_data


def _process(video_hands, config: TrackingConfig):
    processor = HandProcessor(config)
    return [processor.process(hands, t, i) for i, t, hands in video_hands]


@pytest.fixture(scope="module")
def raw_frames(video_hands):
    return _process(video_hands, TrackingConfig(one_euro=OneEuroParams(enabled=False)))


@pytest.fixture(scope="module")
def filtered_frames(video_hands):
    return _process(video_hands, TrackingConfig())


def test_every_frame_is_tracked_as_a_right_hand(video_hands, raw_frames, real_pose_sequence):
    assert len(video_hands) == len(real_pose_sequence) == 621
    assert all(f.present and not f.lost for f in raw_frames)
    assert {f.handedness for f in raw_frames} == {"right"}
    assert all(f.theta is not None and f.theta.shape == (189,) for f in raw_frames)


def test_canonical_landmarks_match_the_recorded_sequence(raw_frames, filtered_frames, real_pose_sequence):
    raw = np.stack([f.canonical for f in raw_frames])
    error = np.linalg.norm(raw - real_pose_sequence, axis=-1)  # (621, 21) metres
    assert error.mean() < 0.002, f"mean per-joint error {error.mean() * 1000:.2f} mm"
    assert np.median(error.mean(axis=1)) < 0.0015
    filtered = np.stack([f.canonical for f in filtered_frames])
    error_f = np.linalg.norm(filtered - real_pose_sequence, axis=-1)
    assert error_f.mean() < 0.005, f"filtered mean per-joint error {error_f.mean() * 1000:.2f} mm"
    # the wrist-to-middle-MCP length of the recorded sequence (about 9.7 cm) is reproduced
    assert abs(np.linalg.norm(raw[:, 9], axis=-1).mean() - 0.097) < 0.005


def test_one_euro_filter_steadies_the_real_stream(raw_frames, filtered_frames):
    def jitter(frames):  # mean second difference of the fingertips: frame-to-frame shake
        tips = np.stack([f.canonical[[4, 8, 12, 16, 20]] for f in frames])
        return np.linalg.norm(np.diff(tips, n=2, axis=0), axis=-1).mean()

    assert jitter(filtered_frames) < 0.6 * jitter(raw_frames)


def test_wrist_pose_is_plausible_and_steady(filtered_frames):
    poses = [f.wrist_pose for f in filtered_frames]
    assert all(p is not None for p in poses)
    t = np.stack([p.translation for p in poses])
    assert np.all(t[:, 2] > 0.15) and np.all(t[:, 2] < 3.0), "wrist depth outside 15 cm .. 3 m"
    assert np.median([p.reprojection_error for p in poses]) < 8.0  # pixels at 640x360
    for p in poses:
        assert np.allclose(p.rotation.T @ p.rotation, np.eye(3), atol=1e-6) and np.linalg.det(p.rotation) > 0.99
    # the camera-frame wrist moves smoothly: no frame-to-frame jump above 5 cm
    assert np.linalg.norm(np.diff(t, axis=0), axis=-1).max() < 0.05


def test_blank_frames_spliced_into_the_video_hold_the_pose(hand_model, video_path):
    """15 black frames (half a second) spliced into the real video: loss flag, held pose, then reacquisition."""
    from lad_core.tracking.mediapipe_adapter import MediaPipeHandDetector
    from lad_core.tracking.sources.video import VideoFileSource

    source = VideoFileSource(video_path, width=640, height=360, max_frames=110)
    images = [frame.image for frame in source]
    blank = np.zeros_like(images[0])
    spliced = images[:80] + [blank] * 15 + images[80:]
    processor = HandProcessor(TrackingConfig())
    out = []
    with MediaPipeHandDetector(hand_model, mode="video") as detector:
        for i, image in enumerate(spliced):
            t = i / 30.0
            out.append(processor.process(detector.detect(image, t), t, i))
    before, gap, after = out[:80], out[80:95], out[95:]
    assert all(f.present for f in before)
    assert all(f.lost and not f.present for f in gap)
    held = before[-1].canonical
    for k, f in enumerate(gap):
        assert np.array_equal(f.canonical, held) and np.array_equal(f.theta, before[-1].theta)
        assert f.time_since_loss == pytest.approx((k + 1) / 30.0, abs=1e-6)
    assert all(f.present for f in after[3:]), "hand not reacquired after the gap"
    # no jump: the first reacquired pose is close to the held one (the hand barely moved in 0.5 s of real time)
    first = next(f for f in after if f.present)
    assert np.linalg.norm(first.canonical - held, axis=-1).mean() < 0.02
