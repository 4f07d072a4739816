"""The small abstract base every diffusion policy derives from (LeRobot's shape).

A policy receives *normalized* tensors (see :mod:`lad_core.policy.processing`) and:

* ``forward(batch) -> (loss, info)``: the denoising loss for ``batch = {"obs": {key: (B,To,...)},
  "action": (B,H,Da)}``;
* ``predict_action_chunk(obs, generator) -> (B,H,Da)``: DDIM sampling from noise, conditioned on the observations.

Subclasses set ``name`` and ``config_class`` and implement ``_build_denoiser(feature_dim)`` and
``_condition(features)``; this is checked when the subclass is defined. Receding-horizon execution, normalization
and latent decoding live in :mod:`lad_core.policy.rollout`.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from lad_core.policy.configuration import PolicyConfig
from lad_core.policy.diffusion import make_inference_scheduler, make_noise_scheduler
from lad_core.policy.observation import ObservationEncoder


class DiffusionPolicy(nn.Module):
    name: ClassVar[str]
    config_class: ClassVar[type[PolicyConfig]]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for attr in ("name", "config_class"):
            if not hasattr(cls, attr):
                raise TypeError(f"{cls.__name__} must define class attribute '{attr}'")
        for meth in ("_build_denoiser", "_condition"):
            if getattr(cls, meth) is getattr(DiffusionPolicy, meth):
                raise TypeError(f"{cls.__name__} must implement {meth}()")

    def __init__(self, config: PolicyConfig):
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        self.obs_encoder = ObservationEncoder(config.observation, config.action.arm_dim)
        self.denoiser = self._build_denoiser(self.obs_encoder.feature_dim)
        self.noise_scheduler = make_noise_scheduler(config.diffusion)
        self.inference_scheduler = make_inference_scheduler(config.diffusion)
        self._ddim = None  # DdimSampler, built on first use
        self._timestep_tensors: dict = {}

    # ------------------------------------------------------------------------------------ subclass hooks
    def _build_denoiser(self, feature_dim: int) -> nn.Module:
        raise NotImplementedError

    def _condition(self, features: torch.Tensor) -> torch.Tensor:
        """(B, To, F) observation features -> the denoiser's conditioning input."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------ training
    def forward(self, batch: dict) -> tuple[torch.Tensor, dict]:
        action = batch["action"]
        cfg = self.config
        if action.ndim != 3 or action.shape[1:] != (cfg.horizon, cfg.action.dim):
            raise ValueError(f"action must be (B, {cfg.horizon}, {cfg.action.dim}), got {tuple(action.shape)}")
        cond = self._condition(self.obs_encoder(batch["obs"]))
        noise = torch.randn_like(action)
        steps = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (action.shape[0],),
                              device=action.device)
        noisy = self.noise_scheduler.add_noise(action, noise, steps)
        pred = self.denoiser(noisy, steps, cond)
        target = noise if cfg.diffusion.prediction_type == "epsilon" else action
        share, arm = cfg.action.arm_loss_share, cfg.action.arm_dim
        err = (pred - target) ** 2  # one squared error for the loss and the per-part figures
        arm_err, ee_err = err[..., :arm].mean(), err[..., arm:].mean()
        if share is None:  # every action dim weighs the same (checkpoints before arm_loss_share)
            loss = err.mean()
        else:  # each part averaged over its own dims, then weighed by its share
            loss = share * arm_err + (1.0 - share) * ee_err
        info = {"loss": float(loss.detach()), "loss_arm": float(arm_err.detach()),
                "loss_end_effector": float(ee_err.detach())}
        return loss, info

    # ------------------------------------------------------------------------------------ inference
    @torch.inference_mode()
    def predict_action_chunk(self, obs: dict[str, torch.Tensor], generator: torch.Generator | None = None,
                             num_inference_steps: int | None = None) -> torch.Tensor:
        """Normalized observations (B, To, ...) -> normalized action chunk (B, H, Da): DDIM (eta = 0) from noise with
        coefficients precomputed per step count (:mod:`lad_core.policy.ddim`, checked against diffusers)."""
        cfg = self.config
        cond = self._condition(self.obs_encoder(obs))
        batch = cond.shape[0]
        device = cond.device
        sample = torch.randn((batch, cfg.horizon, cfg.action.dim), generator=generator, device=device)
        sampler = self._ddim
        if sampler is None:
            from lad_core.policy.ddim import DdimSampler

            sampler = self._ddim = DdimSampler(self.inference_scheduler)
        timesteps = self._timestep_tensors.get(device)
        if timesteps is None:
            timesteps = self._timestep_tensors[device] = {}
        for s in sampler.schedule(num_inference_steps or cfg.diffusion.num_inference_steps):
            t = timesteps.get((s.t, batch))
            if t is None:
                t = timesteps[(s.t, batch)] = torch.full((batch,), s.t, dtype=torch.long, device=device)
            sample = sampler.step(self.denoiser(sample, t, cond), s, sample)
        return sample

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
