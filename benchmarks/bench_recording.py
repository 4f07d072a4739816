"""Recording benchmark: a 30 Hz control loop recording two 128x128 cameras through `Recorder`.

Prints one JSON line: dropped frames (target 0), add_frame latency (the control loop's cost), write MB/s, file
size per minute, the time to finish an episode, and the LeRobot video round-trip error on the recorded images.
Camera images are frames of the real hand video (`../shared/data/video/human_hand_video.mp4`, resized), which
compress like real camera images; without that file, synthetic moving gradients are used (and said so).

    .venv/bin/python benchmarks/bench_recording.py [--seconds 120] [--fps 30] [--size 128]

SIM FIGURES (sim engineer: fill in): `--sim EMBODIMENT` is reserved for "sim step + render time per control tick
for each embodiment" (issue 4's benchmark). `sim_step_render_ms` in the output stays null until lad_core.sim exists;
put the per-embodiment timing in `_sim_figures()` below.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lad_core.episodes import EpisodeSchema, Frame, Recorder, read_episode

VIDEO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "video" / "human_hand_video.mp4"


def _camera_frames(size: int, n: int) -> tuple[np.ndarray, str]:
    if VIDEO.exists():
        import av

        frames = []
        with av.open(str(VIDEO)) as c:
            for fr in c.decode(video=0):
                frames.append(fr.to_ndarray(format="rgb24", width=size, height=size))
                if len(frames) == n:
                    break
        return np.stack(frames), f"real video {VIDEO.name}"
    yy, xx = np.mgrid[0:size, 0:size]
    frames = [np.stack([(xx + 3 * t) % 256, (yy + 2 * t) % 256, (xx + yy + t) % 256], -1).astype(np.uint8)
              for t in range(n)]
    return np.stack(frames), "synthetic gradients (real video missing)"


def _sim_figures(embodiment: str | None) -> dict | None:
    """SIM FIGURES: per-embodiment sim step + render ms per control tick (to be filled in with lad_core.sim)."""
    if embodiment is None:
        return None
    from lad_core.sim.env import SimConfig, SimEnv

    names = ["gripper", "mimic", "faive"] if embodiment == "all" else [embodiment]
    out = {}
    for name in names:
        with SimEnv(SimConfig(name, cameras=("external", "wrist"), image_size=(128, 128))) as env:
            obs = env.reset(0)
            step, render = [], []
            for k in range(40):
                target = obs.arm_pose + np.array([0.0, 0.002 * k, -0.001 * k, 0.0, 0.0, 0.0])
                t0 = time.perf_counter()
                env.step(target, env.open_command(), render=False)
                t1 = time.perf_counter()
                obs = env.observe(render=True)
                render.append(time.perf_counter() - t1)
                step.append(t1 - t0)
        out[name] = {"step_ms": round(1e3 * float(np.median(step)), 2),
                     "render_2x128_ms": round(1e3 * float(np.median(render)), 2)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--sim", metavar="EMBODIMENT", default=None, help="reserved: sim step + render figures")
    args = ap.parse_args()
    sim = _sim_figures(args.sim)

    cams, source = _camera_frames(args.size, 600)
    schema = EpisodeSchema(cameras={"external": (args.size, args.size), "wrist": (args.size, args.size)},
                           observations={"arm_pose": 9, "joints": 16}, arm_dim=6, end_effector_dim=16)
    n = int(round(args.seconds * args.fps))
    with tempfile.TemporaryDirectory(prefix="bench_recording_") as tmp:
        rec = Recorder(tmp, schema, embodiment="mimic", task="cube_in_box", fps=args.fps)
        rng = np.random.default_rng(0)
        lat = np.zeros(n)
        late = 0
        rec.start()
        t0 = time.perf_counter()
        for t in range(n):
            frame = Frame(t / args.fps, {"external": cams[t % len(cams)], "wrist": cams[(t * 7 + 100) % len(cams)]},
                          {"arm_pose": rng.normal(size=9), "joints": rng.normal(size=16)}, rng.normal(size=6),
                          rng.normal(size=16))
            a = time.perf_counter()
            rec.add_frame(frame)
            lat[t] = time.perf_counter() - a
            wait = t0 + (t + 1) / args.fps - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            else:
                late += 1
        loop_s = time.perf_counter() - t0
        dropped = rec.dropped_frames
        a = time.perf_counter()
        summary = rec.stop(success=True)
        finish_s = time.perf_counter() - a
        size = summary.path.stat().st_size
        data = read_episode(summary.path)
        assert len(data) == summary.frames

        # LeRobot export round trip on the first 10 s of the recording: codec error on these images
        from lad_core.episodes.lerobot import export_lerobot, import_lerobot
        from lad_core.episodes import trim_episode

        trim_episode(summary.path, 0, int(10 * args.fps))
        a = time.perf_counter()
        export_lerobot([summary.path], Path(tmp) / "lerobot")
        export_s = time.perf_counter() - a
        [back] = import_lerobot(Path(tmp) / "lerobot", Path(tmp) / "back")
        orig, new = read_episode(summary.path), read_episode(back)
        err = np.concatenate([np.abs(orig.images[c].astype(np.int16) - new.images[c]).ravel() for c in orig.images])
        psnr = 10 * np.log10(255.0**2 / np.mean(err.astype(np.float64) ** 2))

    raw_bytes = summary.frames * 2 * args.size * args.size * 3
    print(json.dumps({
        "benchmark": "recording", "seconds": args.seconds, "fps": args.fps, "cameras": f"2 x {args.size}x{args.size}",
        "images": source, "frames": summary.frames, "dropped_frames": dropped, "late_ticks": late,
        "add_frame_ms": {"median": round(float(np.median(lat)) * 1e3, 3), "p99": round(float(np.quantile(lat, 0.99))
                         * 1e3, 3), "max": round(float(lat.max()) * 1e3, 3)},
        "write_MB_per_s": round(size / 1e6 / loop_s, 3), "raw_image_MB_per_s": round(raw_bytes / 1e6 / loop_s, 3),
        "file_MB_per_minute": round(size / 1e6 / (summary.frames / args.fps / 60), 2),
        "compression_ratio": round(raw_bytes / size, 2), "stop_s": round(finish_s, 3),
        "lerobot_export_s_per_10s_episode": round(export_s, 2),
        "lerobot_video_roundtrip": {"codec": "libsvtav1 crf30 yuv420p", "mean_abs_error": round(float(err.mean()), 2),
                                    "p99_abs_error": int(np.quantile(err, 0.99)), "psnr_db": round(float(psnr), 1)},
        "sim_step_render_ms": sim,  # SIM FIGURES: filled in by the sim engineer
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count(),
                    "load_avg_1m": round(os.getloadavg()[0], 2)},
    }))


if __name__ == "__main__":
    main()
