"""The U-Net latent diffusion policy: Chi et al.'s ConditionalUnet1D, FiLM-conditioned on the flattened
observation features of all observation steps (global conditioning)."""

from __future__ import annotations

import torch
from torch import nn

from lad_core.policy.base import DiffusionPolicy
from lad_core.policy.blocks.unet1d import ConditionalUnet1D
from lad_core.policy.unet.configuration import UnetPolicyConfig


class UnetDiffusionPolicy(DiffusionPolicy):
    name = "unet"
    config_class = UnetPolicyConfig
    config: UnetPolicyConfig

    def _build_denoiser(self, feature_dim: int) -> nn.Module:
        c = self.config
        return ConditionalUnet1D(c.action.dim, feature_dim * c.n_obs_steps, c.diffusion_step_embed_dim,
                                 tuple(c.down_dims), c.kernel_size, c.n_groups)

    def _condition(self, features: torch.Tensor) -> torch.Tensor:
        return features.flatten(1)  # (B, To * F)
