"""Helpers for the policy tests: tiny configs and synthetic two-embodiment data that train in seconds on CPU.

The episodes come from ``synthetic_episodes``; switching to recorded episodes is the one line in ``episodes_for``.
"""

from __future__ import annotations

TINY_UNET = {"type": "unet", "n_obs_steps": 2, "horizon": 8, "n_action_steps": 4, "down_dims": [32, 64],
             "kernel_size": 3, "diffusion_step_embed_dim": 32}
TINY_TRANSFORMER = {"type": "transformer", "n_obs_steps": 2, "horizon": 8, "n_action_steps": 4, "d_token": 32,
                    "n_heads": 2, "n_layers": 2, "dim_feedforward": 64, "dropout": 0.0}
LOWDIM_OBS = {"lowdim": {"state": 8}, "arm_pose": "absolute"}
EMBODIMENTS = {"gripper": 1, "mimic": 16}


def tiny_config_dict(policy: dict | None = None, *, steps: int = 60, embodiments: dict[str, int] | None = None,
                     latent: bool = True, batch_size: int = 32, episodes: int = 6, lr: float = 3e-3, **run) -> dict:
    embodiments = embodiments or EMBODIMENTS
    policy = dict(policy or TINY_TRANSFORMER)
    policy.setdefault("observation", LOWDIM_OBS)
    latent_dim = 16
    policy.setdefault("action", {"arm_dim": 6, "arm_mode": "relative",
                                 "end_effector": "latent" if latent else "explicit",
                                 "end_effector_dim": latent_dim if latent else next(iter(embodiments.values()))})
    datasets = [{"name": emb, "embodiment": emb, "weight": 1.0,
                 "synthetic": {"episodes": episodes, "length": 40, "end_effector_dim": dim, "seed": i}}
                for i, (emb, dim) in enumerate(embodiments.items())]
    out = {"policy": policy, "datasets": datasets,
           "optim": {"name": "adamw", "lr": lr, "warmup_steps": 5},
           "ema": {"enabled": True, "max_decay": 0.99},
           "run": {"steps": steps, "batch_size": batch_size, "seed": 0, "log_every": 5, "checkpoint_every": 1000,
                   "num_threads": 1, "tensorboard": False, **run}}
    if latent:
        out["latent"] = {"kind": "linear", "dim": latent_dim, "seed": 0}
    return out


def episodes_for(config):
    """Episodes for every dataset of ``config``. Swap this line for ``recorded_episodes(path)`` on real data."""
    from lad_core.policy.training import load_episodes

    return load_episodes(config)
