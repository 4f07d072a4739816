"""The diffusion transformer of the paper's Fig. 4.

Input tokens: one per observation step (the encoded observation features projected to ``d_token``), one for the
diffusion step, one per step of the noisy action chunk. Sinusoidal positional embeddings are added to the whole
sequence, which passes through ``n_layers`` transformer encoder layers; the action tokens are read out as the noise
prediction. Shape legend: B batch, To observation steps, F observation features, H horizon, Da action dim.
Network block only: no policy logic.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_table(length: int, dim: int) -> torch.Tensor:
    """(length, dim) fixed sinusoidal positional embeddings (Vaswani et al.)."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(pos * div)
    table[:, 1::2] = torch.cos(pos * div)
    return table


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """(B,) diffusion steps -> (B, dim) sinusoidal features."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, device=t.device, dtype=torch.float32) * (-math.log(10000.0) / half))
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([args.sin(), args.cos()], dim=-1)


class DiffusionTransformer(nn.Module):
    """Denoiser ``(sample (B,H,Da), timestep (B,), obs_tokens (B,To,F)) -> (B,H,Da)``."""

    def __init__(self, action_dim: int, obs_feature_dim: int, n_obs_steps: int, horizon: int, d_token: int = 256,
                 n_heads: int = 4, n_layers: int = 6, dim_feedforward: int = 1024, dropout: float = 0.1):
        super().__init__()
        self.d_token = d_token
        self.obs_proj = nn.Linear(obs_feature_dim, d_token)
        self.time_proj = nn.Sequential(nn.Linear(d_token, d_token), nn.Mish(), nn.Linear(d_token, d_token))
        self.action_proj = nn.Linear(action_dim, d_token)
        self.register_buffer("pos_embedding", sinusoidal_table(n_obs_steps + 1 + horizon, d_token), persistent=False)
        layer = nn.TransformerEncoderLayer(d_token, n_heads, dim_feedforward, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_token)
        self.head = nn.Linear(d_token, action_dim)
        self.n_obs_steps = n_obs_steps
        self.horizon = horizon

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, obs_tokens: torch.Tensor) -> torch.Tensor:
        batch = sample.shape[0]
        if timestep.ndim == 0:
            timestep = timestep.expand(batch)
        tokens = torch.cat([
            self.obs_proj(obs_tokens),
            self.time_proj(timestep_embedding(timestep, self.d_token))[:, None, :],
            self.action_proj(sample),
        ], dim=1)
        tokens = tokens + self.pos_embedding[None, : tokens.shape[1]]
        out = self.norm(self.encoder(tokens))
        return self.head(out[:, -sample.shape[1]:])
