"""Diffusion schedulers, EMA weights, optimizer and learning-rate schedule: thin factories over diffusers/torch."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from lad_core.policy.configuration import DiffusionConfig


def make_noise_scheduler(config: DiffusionConfig):
    """The training scheduler: diffusers DDPMScheduler (paper: squared cosine, 100 steps, epsilon prediction)."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(num_train_timesteps=config.num_train_timesteps, beta_start=config.beta_start,
                         beta_end=config.beta_end, beta_schedule=config.beta_schedule,
                         prediction_type=config.prediction_type, clip_sample=config.clip_sample,
                         clip_sample_range=config.clip_sample_range)


def make_inference_scheduler(config: DiffusionConfig):
    """DDIMScheduler on the same noise schedule (deterministic, eta = 0); steps set per call."""
    from diffusers import DDIMScheduler

    return DDIMScheduler(num_train_timesteps=config.num_train_timesteps, beta_start=config.beta_start,
                         beta_end=config.beta_end, beta_schedule=config.beta_schedule,
                         prediction_type=config.prediction_type, clip_sample=config.clip_sample,
                         clip_sample_range=config.clip_sample_range, set_alpha_to_one=True, steps_offset=0)


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float,
                   betas: tuple[float, float]) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, betas=betas)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=betas)
    raise ValueError(f"unknown optimizer {name!r}")


def make_lr_scheduler(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int):
    """Linear warm-up to the peak learning rate, then cosine decay to zero (diffusers.optimization)."""
    from diffusers.optimization import get_cosine_schedule_with_warmup

    return get_cosine_schedule_with_warmup(optimizer, num_warmup_steps=warmup_steps, num_training_steps=total_steps)


