"""The transformer latent diffusion policy (paper Fig. 4): observation tokens per step + diffusion-step token +
noisy action tokens through a transformer encoder."""

from __future__ import annotations

import torch
from torch import nn

from lad_core.policy.base import DiffusionPolicy
from lad_core.policy.blocks.transformer import DiffusionTransformer
from lad_core.policy.transformer.configuration import TransformerPolicyConfig


class TransformerDiffusionPolicy(DiffusionPolicy):
    name = "transformer"
    config_class = TransformerPolicyConfig
    config: TransformerPolicyConfig

    def _build_denoiser(self, feature_dim: int) -> nn.Module:
        c = self.config
        return DiffusionTransformer(c.action.dim, feature_dim, c.n_obs_steps, c.horizon, d_token=c.d_token,
                                    n_heads=c.n_heads, n_layers=c.n_layers, dim_feedforward=c.dim_feedforward,
                                    dropout=c.dropout)

    def _condition(self, features: torch.Tensor) -> torch.Tensor:
        return features  # one token per observation step
