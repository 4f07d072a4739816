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


class EmaWeights:
    """Exponential moving average of a model's parameters (diffusers EMAModel with Chi et al.'s warm-up:
    decay = 1 - (1 + step / inv_gamma) ** -power, capped at ``max_decay``). Saved as a plain state dict."""

    def __init__(self, model: torch.nn.Module, max_decay: float = 0.9999, power: float = 0.75,
                 inv_gamma: float = 1.0):
        from diffusers.training_utils import EMAModel

        self.names = [n for n, _ in model.named_parameters()]
        self._ema = EMAModel(model.parameters(), decay=max_decay, min_decay=0.0, use_ema_warmup=True,
                             inv_gamma=inv_gamma, power=power)

    def step(self, model: torch.nn.Module) -> None:
        self._ema.step(model.parameters())

    @property
    def optimization_step(self) -> int:
        return int(self._ema.optimization_step)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Parameter name -> EMA tensor (the model's naming, so it loads into a fresh model)."""
        return {n: p.detach().clone().contiguous() for n, p in zip(self.names, self._ema.shadow_params)}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], optimization_step: int) -> None:
        missing = [n for n in self.names if n not in tensors]
        if missing:
            raise KeyError(f"EMA weights lack {missing[:5]}")
        with torch.no_grad():
            for n, p in zip(self.names, self._ema.shadow_params):
                p.copy_(tensors[n])
        self._ema.optimization_step = optimization_step
