"""`lad demo`: live retargeting from the synthetic hand (no camera, no GPU) to every registered robot.

The synthetic source animates the human hand model (open -> pinches -> power grasp -> open) through the same
tracking pipeline a camera would feed; each frame is retargeted to every hand and gripper embodiment and a status
line shows the frame rate, the per-robot retargeting latency and how far each robot finger is curled.
"""

from __future__ import annotations

import time

_BARS = " ▁▂▃▄▅▆▇█"


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="live retargeting demo on the synthetic hand", description=__doc__)
    p.add_argument("--seconds", type=float, default=12.0, help="how long to run (default: %(default)s)")
    p.add_argument("--source", default="synthetic", help="frame source spec, e.g. synthetic, video:FILE (default: %(default)s)")
    p.set_defaults(func=run)


def _curl_bars(spec, q) -> str:
    """One bar per finger: the finger's actuated joints, normalized to their range and averaged."""
    import numpy as np

    if spec.kind == "gripper":
        return f"width {q[0]:.2f}"
    lower, upper = spec.lower, spec.upper
    norm = (q - lower) / np.maximum(upper - lower, 1e-9)
    out = []
    for finger in ("thumb", "index", "middle", "ring", "little"):
        idx = [i for i, n in enumerate(spec.joint_names) if n.startswith(finger) and not n.endswith("abd")]
        level = float(np.mean(norm[idx])) if idx else 0.0
        out.append(_BARS[min(int(level * (len(_BARS) - 1) + 0.5), len(_BARS) - 1)])
    return "".join(out)


def run(args) -> int:
    from lad_core import embodiments
    from lad_core.retarget import build_retargeter
    from lad_core.tracking.pipeline import TrackingPipeline
    from lad_core.tracking.sources.base import open_source

    robots = [n for n in embodiments.names() if embodiments.get(n).kind in ("hand", "gripper")]
    retargeters = {n: build_retargeter(n) for n in robots}
    print(f"LAD demo: {args.source} -> {', '.join(robots)} for {args.seconds:.0f} s (Ctrl+C stops)")
    source = open_source(args.source)
    frames, start, last_print = 0, time.perf_counter(), 0.0
    latency = {n: 0.0 for n in robots}
    with TrackingPipeline(source) as pipeline:
        for tracked in pipeline.frames(poll=0.05):
            if time.perf_counter() - start > args.seconds:
                break
            if not tracked.has_pose:
                continue
            frames += 1
            line = []
            for name, r in retargeters.items():
                t0 = time.perf_counter()
                q = r.step(tracked.canonical).qpos
                latency[name] = 0.9 * latency[name] + 0.1 * (time.perf_counter() - t0) * 1e3
                line.append(f"{name} {_curl_bars(r.spec, q)}")
            now = time.perf_counter() - start
            if now - last_print >= 0.5:
                last_print = now
                fps = frames / max(now, 1e-9)
                lat = " ".join(f"{n}:{latency[n]:.1f}ms" for n in robots)
                state = "LOST" if tracked.lost else "ok"
                print(f"t={now:5.1f}s {fps:5.1f} fps [{state}] | " + " | ".join(line) + f" | {lat}", flush=True)
    print(f"done: {frames} frames in {time.perf_counter() - start:.1f} s")
    return 0
