"""Policy benchmark (one JSON line): inference latency of one action chunk (DDIM, batch 1, CPU) for each denoiser
in the low-dim config, training samples/s, and Chi et al.'s U-Net (down_dims [256, 512, 1024], horizon 16) for
scale, all in the same run.

    .venv/bin/python benchmarks/bench_policy.py [--threads 2] [--repeats 50] [--train-steps 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch

from lad_core.policy.configuration import ActionConfig, ObservationConfig
from lad_core.policy.factory import config_class, make_policy



def _configs():
    from lad_core.policy.train_config import load_train_config
    from lad_core.policy.unet.configuration import UnetPolicyConfig

    root = os.path.join(os.path.dirname(__file__), "..", "resources", "configs", "policy")
    out = {}
    for name in ("transformer_lowdim_cpu", "unet_lowdim_cpu"):
        cfg = load_train_config(os.path.join(root, f"{name}.yaml"))
        out[name] = (cfg.policy_type, cfg.policy)
    # Chi et al.'s PushT low-dim U-Net: 2-D actions, horizon 16, 2 obs steps of 20 features, step embedding 256
    chi = UnetPolicyConfig(n_obs_steps=2, horizon=16, n_action_steps=8, down_dims=(256, 512, 1024), kernel_size=5,
                           n_groups=8, diffusion_step_embed_dim=256,
                           observation=ObservationConfig(lowdim={"state": 20}, arm_pose="none"),
                           action=ActionConfig(arm_dim=3, end_effector="explicit", end_effector_dim=1))
    out["chi_unet_256_512_1024"] = ("unet", chi)
    return out


def _obs(cfg, batch):
    obs = {k: torch.randn(batch, cfg.n_obs_steps, d) for k, d in cfg.observation.lowdim_keys(cfg.action.arm_dim).items()}
    return obs


def bench(policy_type, cfg, repeats, train_steps, batch):
    torch.manual_seed(0)
    policy = make_policy(policy_type, cfg).eval()
    obs = _obs(cfg, 1)
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        policy.predict_action_chunk(obs, gen, 10)
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        policy.predict_action_chunk(obs, gen, 10)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    with torch.no_grad():
        x = torch.randn(1, cfg.horizon, cfg.action.dim)
        cond = policy._condition(policy.obs_encoder(obs))
        fwd = []
        for _ in range(max(5, repeats // 5)):
            t0 = time.perf_counter()
            policy.denoiser(x, torch.tensor([50]), cond)
            fwd.append(time.perf_counter() - t0)
    policy.train()
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-4)
    tb = {"obs": _obs(cfg, batch), "action": torch.randn(batch, cfg.horizon, cfg.action.dim)}
    for _ in range(2):
        loss, _ = policy(tb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    t0 = time.perf_counter()
    for _ in range(train_steps):
        loss, _ = policy(tb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    rate = batch * train_steps / (time.perf_counter() - t0)
    ms = np.asarray(times) * 1e3
    return {"params_M": round(policy.num_parameters() / 1e6, 2), "horizon": cfg.horizon,
            "chunk_ddim10_ms_median": round(float(np.median(ms)), 2),
            "chunk_ddim10_ms_p99": round(float(np.percentile(ms, 99)), 2),
            "chunk_ddim10_cpu_ms_median": round(float(np.median(cpu)) * 1e3 / max(1, torch.get_num_threads()), 2),
            "forward_ms_median": round(float(np.median(fwd)) * 1e3, 2),
            "train_samples_per_s": round(rate, 1), "train_batch": batch}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--train-steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = {}
    for name, (t, c) in _configs().items():
        results[name] = bench(t, c, args.repeats, args.train_steps, args.batch)
        print(name, results[name], file=sys.stderr, flush=True)
    print(json.dumps({"bench": "policy", "results": results, "target_lowdim_chunk_ms": 30,
                      "machine": {"platform": platform.platform(), "python": platform.python_version(),
                                  "cpu_count": os.cpu_count(), "torch_threads": args.threads,
                                  "torch": torch.__version__, "load_avg_1min": os.getloadavg()[0]}}))


if __name__ == "__main__":
    main()
