"""Tracking benchmark: the real video through decode -> MediaPipe landmarks -> canonical/theta_H -> retargeting to
mimic, faive and gripper, at 640x480 and 1280x720. Prints one JSON line.

Two runs per resolution:
- sequential, as fast as possible: per-frame latency of each stage and of the whole chain (median, p99), throughput;
- live: the video paced at its 30 fps through the threaded pipeline (latest-wins queues), the consumer retargeting
  every frame it gets: sustained fps of retargeted frames and frames dropped.

    .venv/bin/python benchmarks/bench_tracking.py [--frames 621] [--live-seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT.parent / "shared" / "data" / "video" / "human_hand_video.mp4"
ROBOTS = ("mimic", "faive", "gripper")


def _stats(values) -> dict:
    arr = np.asarray(values, dtype=float) * 1000.0
    return {"median_ms": round(float(np.median(arr)), 2), "p99_ms": round(float(np.percentile(arr, 99)), 2)}


def sequential(size, frames: int, retargeters) -> dict:
    from lad_core.tracking import TrackingConfig
    from lad_core.tracking.mediapipe_adapter import MediaPipeHandDetector
    from lad_core.tracking.processing import HandProcessor
    from lad_core.tracking.sources.video import VideoFileSource

    for r in retargeters.values():
        r.reset()
    source = VideoFileSource(VIDEO, width=size[0], height=size[1], max_frames=frames)
    processor = HandProcessor(TrackingConfig())
    detector = MediaPipeHandDetector(mode="video")
    stages: dict[str, list[float]] = {"decode": [], "landmarks": [], "theta": [], "retarget": [], "total": []}
    present = 0
    it = iter(source)
    start_all = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        try:
            frame = next(it)
        except StopIteration:
            break
        t1 = time.perf_counter()
        hands = detector.detect(frame.image, frame.timestamp)
        t2 = time.perf_counter()
        out = processor.process(hands, frame.timestamp, frame.index)
        t3 = time.perf_counter()
        if out.canonical is not None:
            for r in retargeters.values():
                r.step(out.canonical)
        t4 = time.perf_counter()
        present += out.present
        for key, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0)):
            stages[key].append(value)
    elapsed = time.perf_counter() - start_all
    detector.close()
    n = len(stages["total"])
    return {"frames": n, "present": present, "throughput_fps": round(n / elapsed, 1),
            **{f"{k}": _stats(v) for k, v in stages.items()}}  # fmt: skip


def live(size, seconds: float, retargeters) -> dict:
    from lad_core.tracking import TrackingConfig, TrackingPipeline
    from lad_core.tracking.sources.video import VideoFileSource

    for r in retargeters.values():
        r.reset()
    source = VideoFileSource(VIDEO, width=size[0], height=size[1], realtime=True, loop=True)
    pipe = TrackingPipeline(source, TrackingConfig(), lossless=False)
    latencies = []
    done = 0
    with pipe:
        deadline = None
        while True:
            frame = pipe.get(timeout=0.5)
            if frame is None:
                if pipe.error:
                    raise pipe.error
                continue
            if deadline is None:  # start the clock at the first result (model load excluded)
                deadline = time.monotonic() + seconds
                first_captured, first_processed = pipe.stats.captured, pipe.stats.processed
                start = time.monotonic()
                continue
            if frame.canonical is not None:
                for r in retargeters.values():
                    r.step(frame.canonical)
            done += 1
            latencies.append(sum(frame.timings.values()))
            if time.monotonic() >= deadline:
                break
        elapsed = time.monotonic() - start
        captured = pipe.stats.captured - first_captured
        processed = pipe.stats.processed - first_processed
    return {"seconds": round(elapsed, 1), "source_fps": 30.0, "captured": captured, "retargeted": done,
            # the window opens on a result whose frame was captured before the snapshot: +-1 at the edges
            "sustained_fps": round(done / elapsed, 1), "dropped": max(captured - done, 0),
            "dropped_before_inference": max(captured - processed, 0), "detect_plus_process": _stats(latencies)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=621)
    parser.add_argument("--live-seconds", type=float, default=10.0)
    args = parser.parse_args()
    if not VIDEO.exists():
        print(json.dumps({"error": f"video not found: {VIDEO}"}))
        return 1
    import torch

    torch.set_num_threads(1)
    from lad_core.retarget import build_retargeter

    retargeters = {name: build_retargeter(name) for name in ROBOTS}
    result: dict = {"benchmark": "tracking", "video": VIDEO.name}
    for size in ((640, 480), (1280, 720)):
        key = f"{size[0]}x{size[1]}"
        result[key] = {"sequential": sequential(size, args.frames, retargeters),
                       "live": live(size, args.live_seconds, retargeters)}  # fmt: skip
    result["machine"] = {"platform": platform.platform(), "python": platform.python_version(),
                         "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()}  # fmt: skip
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
