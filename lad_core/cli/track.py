"""``lad track SOURCE``: track a hand from a video, camera, image folder, landmark file or the synthetic hand.

    lad track video.mp4 --out landmarks.h5            record timestamps, landmarks, canonical landmarks, theta_H
    lad track 0 --retarget mimic,faive,gripper        stream joint values to stdout, one JSON object per frame
    lad track synthetic --retarget faive --duration 5 the animated model hand (no camera needed)

SOURCE is a video file, an image folder, a ``.h5``/``.npy`` landmark file, a webcam index, ``synthetic``, or
``NAME:ARG`` for any registered frame source (see ``lad plugins``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("track", help="track a hand (video, webcam, images, landmark file, synthetic)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("source", help="video file, image folder, .h5/.npy landmarks, webcam index, 'synthetic' or NAME:ARG")
    p.add_argument("--out", help="record to this HDF5 file")
    p.add_argument("--retarget", default="", help="comma-separated embodiments to retarget to (e.g. mimic,faive,gripper)")
    p.add_argument("--hand", choices=("right", "left", "either"), default="right", help="which hand to follow")
    p.add_argument("--mirror", action="store_true", help="the input is mirrored (selfie view)")
    p.add_argument("--pace", choices=("auto", "realtime", "fast"), default="auto",
                   help="realtime: frames at their own rate; fast: as fast as possible (auto: the source's default)")
    p.add_argument("--width", type=int, help="resize/request frames to this width (with --height)")
    p.add_argument("--height", type=int, help="resize/request frames to this height (with --width)")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    p.add_argument("--duration", type=float, help="stop after this many seconds of source time")
    p.add_argument("--min-cutoff", type=float, default=1.5, help="One Euro min cutoff (Hz)")
    p.add_argument("--beta", type=float, default=8.0, help="One Euro speed coefficient")
    p.add_argument("--d-cutoff", type=float, default=1.0, help="One Euro derivative cutoff (Hz)")
    p.add_argument("--no-filter", action="store_true", help="disable One Euro smoothing")
    p.add_argument("--bone-tolerance", type=float, default=0.35, help="reject hands whose bones deviate more (<=0: off)")
    p.add_argument("--hfov", type=float, default=65.0, help="camera horizontal field of view in degrees (wrist pose)")
    p.add_argument("--model", help="hand_landmarker.task to use (default: the per-user cache)")
    p.add_argument("--quiet", action="store_true", help="no per-frame output on stdout")
    p.set_defaults(func=run)


def _source_options(args: argparse.Namespace) -> dict:
    options: dict = {}
    if args.pace != "auto":
        options["realtime"] = args.pace == "realtime"
    if (args.width is None) != (args.height is None):
        from lad_core.errors import InputError

        raise InputError("--width and --height go together")
    if args.width is not None:
        options.update(width=args.width, height=args.height)
    if args.duration is not None:
        options["duration"] = args.duration
    return options


def _round(values, ndigits: int = 5) -> list[float] | None:
    if values is None:
        return None
    return [round(float(v), ndigits) if math.isfinite(float(v)) else None for v in values]


def run(args: argparse.Namespace) -> int:
    from lad_core.tracking import OneEuroParams, TrackingConfig, TrackingPipeline, open_source

    names = [n.strip() for n in args.retarget.split(",") if n.strip()]
    retargeters = {}
    if names:
        from lad_core.retarget import build_retargeter

        retargeters = {name: build_retargeter(name) for name in names}
    config = TrackingConfig(
        hand=args.hand, mirror=args.mirror, hfov_deg=args.hfov,
        one_euro=OneEuroParams(min_cutoff=args.min_cutoff, beta=args.beta, d_cutoff=args.d_cutoff,
                               enabled=not args.no_filter),
        bone_tolerance=args.bone_tolerance if args.bone_tolerance and args.bone_tolerance > 0 else None,
    )  # fmt: skip
    source = open_source(args.source, **_source_options(args))
    writer = None
    if args.out:
        from lad_core.tracking.recording import LandmarkWriter

        writer = LandmarkWriter(args.out, source=source.describe(), hand=args.hand)
    pipeline = TrackingPipeline(source, config, model_path=args.model, lossless=True)
    count = present = 0
    start = time.monotonic()
    out = sys.stdout
    try:
        pipeline.start()
        for frame in pipeline.frames():
            if args.duration is not None and frame.timestamp > args.duration:
                break
            count += 1
            present += frame.present
            if writer is not None:
                writer.append(frame)
            record: dict = {"index": frame.index, "t": round(frame.timestamp, 4), "present": frame.present,
                            "lost": frame.lost, "time_since_loss": round(frame.time_since_loss, 4),
                            "handedness": frame.handedness}  # fmt: skip
            for name, retargeter in retargeters.items():
                if frame.canonical is None:
                    record[name] = None
                    continue
                result = retargeter.step(frame.canonical)
                record[name] = _round(result.qpos)
                record[f"{name}_converged"] = bool(result.converged)
            if not args.quiet and (retargeters or not writer):
                out.write(json.dumps(record) + "\n")
                out.flush()
            if args.max_frames is not None and count >= args.max_frames:
                break
    finally:
        pipeline.stop()
        if writer is not None:
            writer.close()
    elapsed = time.monotonic() - start
    print(f"lad track: {count} frames, hand present in {present}, {count / max(elapsed, 1e-9):.1f} fps"
          + (f", recorded to {args.out}" if writer is not None else ""), file=sys.stderr)  # fmt: skip
    return 0
