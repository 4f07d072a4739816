"""The threaded pipeline: latest-wins queues, a consumer that never blocks, bounded stop, errors mid-stream."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from lad_core.errors import InputError
from lad_core.tracking import TrackingConfig, TrackingPipeline
from lad_core.tracking.pipeline import BoundedQueue
from lad_core.tracking.sources.base import FrameSource
from lad_core.tracking.sources.synthetic import SyntheticHandSource
from lad_core.tracking.types import SourceFrame


class _DisappearingCamera(FrameSource):
    """Real video frames that stop with the error a camera raises when it is unplugged."""

    name = "disappearing"
    live = True

    def __init__(self, images, fail_after):
        self.images, self.fail_after = images, fail_after

    def _frames(self) -> Iterator[SourceFrame]:
        for i, image in enumerate(self.images):
            if i == self.fail_after:
                raise InputError("webcam 0: no frames for 2.0 s (disconnected?)")
            time.sleep(1 / 30)
            yield SourceFrame(index=i, timestamp=i / 30, image=image)


def test_latest_wins_queue_drops_oldest():
    q = BoundedQueue(2, latest_wins=True)
    for i in range(5):
        assert q.put(i)
    assert q.dropped == 3 and q.get(0) == 3 and q.get(0) == 4
    with pytest.raises(TimeoutError):
        q.get(0)


def test_live_synthetic_pipeline_consumer_never_blocks():
    pipe = TrackingPipeline(SyntheticHandSource(realtime=True, loop=True), TrackingConfig())
    assert pipe.lossless is False
    seen = []
    pipe.on_frame(lambda f: seen.append(threading.current_thread().name))
    pipe.on_frame(lambda f: 1 / 0)  # a broken listener is logged, not fatal
    with pipe:
        start = time.monotonic()
        assert pipe.get(timeout=0.0) is None or True  # returns at once either way
        assert time.monotonic() - start < 0.05
        deadline = time.monotonic() + 5.0
        while pipe.latest() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)
        frame = pipe.latest()
        assert frame is not None and frame.present and frame.theta.shape == (189,) and frame.wrist_pose is not None
        start = time.monotonic()
        for _ in range(1000):
            pipe.latest()
        assert time.monotonic() - start < 0.05
    assert not pipe.error and pipe.stats.processed >= 10
    assert set(seen) == {"lad-inference"}  # events fire on the inference thread, not the caller's


def test_stop_is_bounded_even_with_mediapipe(hand_model, video_path):
    from lad_core.tracking.sources.video import VideoFileSource

    pipe = TrackingPipeline(VideoFileSource(video_path, width=320, height=180, realtime=True), model_path=hand_model)
    pipe.start()
    deadline = time.monotonic() + 15.0
    while pipe.stats.processed < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pipe.stats.processed >= 5
    start = time.monotonic()
    assert pipe.stop(timeout=2.0)  # the detector's close runs in a daemon thread and is not waited for
    assert time.monotonic() - start < 2.5


def test_slow_consumer_of_live_source_sees_only_recent_frames(hand_model, video_path):
    """A live source faster than the detector drops stale frames instead of queueing them."""
    from lad_core.tracking.sources.video import VideoFileSource

    source = VideoFileSource(video_path, width=640, height=360, realtime=True, max_frames=60)
    source.fps = 240.0  # deliver the real frames 8x faster than real time: more than the detector can take
    pipe = TrackingPipeline(source, model_path=hand_model)
    with pipe:
        assert pipe.finished.wait(20.0)
    assert pipe.stats.captured == 60
    assert pipe.stats.dropped_capture > 0 and pipe.stats.processed + pipe.stats.dropped_capture == 60
    assert pipe.latest() is not None


def test_camera_disappearing_mid_stream_is_reported(hand_model, video_path):
    from lad_core.tracking.sources.video import VideoFileSource

    images = [f.image for f in VideoFileSource(video_path, width=320, height=180, max_frames=12)]
    errors = []
    pipe = TrackingPipeline(_DisappearingCamera(images, fail_after=10), model_path=hand_model, lossless=True)
    pipe.on_error(errors.append)
    pipe.start()
    got = []
    with pytest.raises(InputError, match="disconnected"):
        for frame in pipe.frames():
            got.append(frame)
    assert len(got) == 10 and isinstance(errors[0], InputError)
    assert pipe.latest() is got[-1]  # the consumer still has the last frame; nothing raised from latest()
    assert pipe.stop(timeout=1.0)


def test_offline_pipeline_is_lossless_and_matches_synchronous_tracking(real_pose_sequence, shared_data):
    from lad_core.tracking import open_source, track

    path = str(shared_data / "poses" / "right_hand_video_sequence" / "joints.npy")
    pipe = TrackingPipeline(open_source(path), TrackingConfig())
    with pipe:
        threaded = list(pipe.frames())
    sync = list(track(open_source(path), TrackingConfig()))
    assert len(threaded) == len(sync) == 621
    assert np.allclose(np.stack([f.canonical for f in threaded]), np.stack([f.canonical for f in sync]))


def test_synthetic_wrist_pose_is_recovered_exactly():
    from lad_core.tracking import CameraIntrinsics, track

    src = SyntheticHandSource(realtime=False, loop=False, duration=1.0)
    config = TrackingConfig(intrinsics=CameraIntrinsics.from_fov(640, 480, 60.0))
    frames = list(track(src, config))
    truth = src.hand_at(frames[-1].timestamp)
    pose = frames[-1].wrist_pose
    assert pose.reprojection_error < 0.01
    # camera-frame wrist = world wrist + the offset the synthetic source removed (its landmark mean)
    assert 0.45 < pose.translation[2] < 0.55
    assert np.allclose(pose.rotation @ frames[-1].canonical[9], truth.world_landmarks[9] - truth.world_landmarks[0],
                       atol=5e-3)  # fmt: skip
