"""Latent-space benchmark (one JSON line): make-pairs throughput and the CPU config's training time.

    .venv/bin/python benchmarks/bench_latent.py [--pairs 16384] [--train CONFIG] [--out runs/latent/bench]

make-pairs: N synthetic poses -> (human, faive, mimic, gripper) tuples written to HDF5, with the time split into
sampling + theta_H and each retargeter, and the projected time for 1M tuples (target: <= 10 min). --train trains
CONFIG from scratch (default: none; resources/configs/latent/cpu_all.yaml is the CPU config, target <= 15 min) and
reports the wall time and final SR/CR.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path


def _machine() -> dict:
    import torch

    return {"machine": platform.machine(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def bench_pairs(n: int) -> dict:
    from lad_core.embodiments.human import encode_pose
    from lad_core.latent.pairs import make_pairs, synthetic_source
    from lad_core.latent.sampler import SyntheticPoseSampler
    from lad_core.retarget import RetargetConfig, build_retargeter

    sampler = SyntheticPoseSampler()
    sampler.sample(10, seed=0)  # solve the pinch poses once
    t = time.perf_counter()
    lm = sampler.sample(n, seed=1).landmarks
    sample_s = time.perf_counter() - t
    t = time.perf_counter()
    encode_pose(lm)
    theta_s = time.perf_counter() - t
    per = {}
    for name in ("faive", "mimic", "gripper"):
        r = build_retargeter(name, config=RetargetConfig.converged())  # the mode make-pairs uses
        r.retarget_batch(lm[:8])  # the codebook is built once per retargeter, outside the timing
        t = time.perf_counter()
        r.retarget_batch(lm)
        per[name] = n / (time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        res = make_pairs(synthetic_source(n, seed=2), Path(tmp) / "p.h5", chunk=min(4096, n))
    return {"pairs": n, "make_pairs_per_s": round(res.rate, 1),
            "projected_1m_minutes": round(1e6 / res.rate / 60, 1),
            "sampler_poses_per_s": round(n / sample_s), "theta_h_per_s": round(n / theta_s),
            "retarget_per_s": {k: round(v, 1) for k, v in per.items()}}


def bench_train(config: str, out: str) -> dict:
    from lad_core.latent.configuration import load_config
    from lad_core.latent.metrics import sr_cr_summary
    from lad_core.latent.training import train

    cfg = load_config(config)
    t = time.perf_counter()
    res = train(cfg, out, resume=False)
    return {"config": config, "train_minutes": round((time.perf_counter() - t) / 60, 2),
            "val_loss": sr_cr_summary(res.metrics), "val_mm": sr_cr_summary(res.metrics, "mm")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=16384)
    ap.add_argument("--train", help="config YAML to train from scratch and time")
    ap.add_argument("--out", default="runs/latent/bench")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    result = {"bench": "latent", **_machine(), **bench_pairs(args.pairs)}
    if args.train:
        result.update(bench_train(args.train, args.out))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
