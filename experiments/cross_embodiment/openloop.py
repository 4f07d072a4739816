"""Open-loop check of trained policies on recorded demos (no simulator): for windows anchored every few frames, predict
a chunk from the recorded observations and compare its executed steps with what the demonstrator commanded.

    python openloop.py runs/a runs/b_linear --data data/heldout_gripper --embodiment gripper

Prints one JSON line per run: arm translation error (m) and end-effector error (mean absolute, in the embodiment's
command units) per executed chunk step, the spread (std) of the end-effector command over ``samples`` DDIM noise
draws for the same window, and the same end-effector error of the codec round trip alone (encode the
recorded commands -> normalize -> unnormalize -> decode), which must be ~0 for an exact codec.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch


def openloop(run: Path, data: Path, embodiment: str, *, stride: int = 8, seed: int = 0, samples: int = 8,
             checkpoint: str = "step_0004000", project_latent: bool | None = None) -> dict:
    from lad_core.policy.checkpoint import load_policy
    from lad_core.policy.dataset import WindowDataset
    from lad_core.policy.evaluation import codec_for
    from lad_core.policy.rollout import PolicyRunner
    from lad_core.policy.sampling import action_chunk
    from lad_core.policy.sources import recorded_episodes

    loaded = load_policy(run / "checkpoints" / checkpoint)
    cfg = loaded.config.policy
    codec = codec_for(loaded)
    episodes = recorded_episodes(data)
    ds = WindowDataset(episodes, name=data.name, observation=cfg.observation, arm_dim=cfg.action.arm_dim,
                       arm_mode=cfg.action.arm_mode, n_obs_steps=cfg.n_obs_steps, horizon=cfg.horizon)
    starts = np.cumsum([0] + [len(ep) for ep in episodes])[:-1]
    idx = np.concatenate([s + np.arange(0, len(ep) - cfg.n_action_steps, stride) for s, ep in zip(starts, episodes)])
    batch = ds.get_batch(idx)
    sel = slice(cfg.n_obs_steps - 1, cfg.n_obs_steps - 1 + cfg.n_action_steps)
    runner = PolicyRunner(loaded, embodiment, codec, seed=seed, project_latent=project_latent)
    norm = loaded.normalizer
    obs = norm.normalize_obs({k: torch.from_numpy(v) for k, v in batch["obs"].items()})
    if cfg.observation.embodiment_cue:  # the one-hot the runner feeds at rollout
        from lad_core.policy.observation import CUE_KEY, embodiment_one_hot

        obs[CUE_KEY] = embodiment_one_hot(cfg.observation.embodiment_cue, embodiment, len(idx), cfg.n_obs_steps)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        chunk = loaded.policy.predict_action_chunk(obs, gen)
    arm, ee = runner.decode_chunk(chunk)
    true_arm, true_ee = batch["arm"], batch["end_effector"]
    # the codec path alone: encode the recorded commands, normalize, unnormalize, decode
    raw = action_chunk(batch, embodiment, runner.codec)  # in the policy's latent basis, when it has one
    _, rt_ee = runner.decode_chunk(norm.normalize_action(raw, embodiment))
    per_step = lambda e: [round(float(v), 4) for v in e[:, sel].mean(0)]  # noqa: E731
    arm_err = np.linalg.norm(arm[..., :3] - true_arm[..., :3], axis=-1)
    ee_err = np.abs(ee - true_ee).mean(-1)
    rt_err = np.abs(rt_ee - true_ee).mean(-1)
    # chatter: mean absolute step-to-step change of the end-effector command within the executed steps
    chatter = float(np.abs(np.diff(ee[:, sel], axis=1)).mean())
    chatter_true = float(np.abs(np.diff(true_ee[:, sel], axis=1)).mean())
    # spread over DDIM noise: the same windows sampled ``samples`` times (what varies from chunk to chunk at rollout)
    reps = {k: v.repeat_interleave(samples, 0) for k, v in obs.items()}
    with torch.no_grad():
        many = loaded.policy.predict_action_chunk(reps, torch.Generator().manual_seed(seed + 1))
    _, ee_many = runner.decode_chunk(many)
    ee_many = ee_many.reshape(len(idx), samples, *ee_many.shape[1:])[:, :, sel]
    spread = float(ee_many.std(1).mean())
    return {"run": str(run), "data": str(data), "embodiment": embodiment, "project_latent": runner.project_latent,
            "ee_sample_std": round(spread, 4),
            "windows": int(len(idx)),
            "arm_err_m": per_step(arm_err), "arm_err_mean_m": round(float(arm_err[:, sel].mean()), 4),
            "ee_err": per_step(ee_err), "ee_err_mean": round(float(ee_err[:, sel].mean()), 4),
            "codec_roundtrip_ee_err": round(float(rt_err[:, sel].mean()), 5),
            "ee_chatter": round(chatter, 4), "ee_chatter_demo": round(chatter_true, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--embodiment", required=True)
    parser.add_argument("--checkpoint", default="step_0004000")
    parser.add_argument("--project", action=argparse.BooleanOptionalAction, default=None,
                        help="override the checkpoint's project_latent")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for run in args.runs:
        print(json.dumps(openloop(run, args.data, args.embodiment, checkpoint=args.checkpoint,
                                  project_latent=args.project)), flush=True)


if __name__ == "__main__":
    main()
