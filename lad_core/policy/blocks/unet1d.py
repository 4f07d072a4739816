"""Chi et al.'s ConditionalUnet1D: a 1D temporal U-Net over the action chunk with FiLM conditioning.

Shape legend: B batch, H horizon (time), Da action dim, C global condition dim. Network block only: no policy
logic, no normalization of data, no scheduler.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SinusoidalPosEmb(nn.Module):
    """(B,) integer or float positions -> (B, dim) sin/cos features."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, device=x.device, dtype=torch.float32) * (-math.log(10000.0) / (half - 1)))
        args = x.float()[:, None] * freqs[None, :]
        return torch.cat([args.sin(), args.cos()], dim=-1)


class Conv1dBlock(nn.Sequential):
    """Conv1d -> GroupNorm -> Mish."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, n_groups: int = 8):
        super().__init__(
            nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
            nn.GroupNorm(n_groups, out_channels),
            nn.Mish(),
        )


class ConditionalResidualBlock1D(nn.Module):
    """Two conv blocks; the condition predicts a per-channel scale and bias (FiLM) applied after the first."""

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, kernel_size: int = 5, n_groups: int = 8):
        super().__init__()
        self.blocks = nn.ModuleList([
            Conv1dBlock(in_channels, out_channels, kernel_size, n_groups),
            Conv1dBlock(out_channels, out_channels, kernel_size, n_groups),
        ])
        self.out_channels = out_channels
        self.cond_encoder = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, out_channels * 2))
        self.residual_conv = (nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels
                              else nn.Identity())

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """x: (B, C_in, H), cond: (B, cond_dim) -> (B, C_out, H)."""
        out = self.blocks[0](x)
        scale, bias = self.cond_encoder(cond).unsqueeze(-1).chunk(2, dim=1)
        out = scale * out + bias
        out = self.blocks[1](out)
        return out + self.residual_conv(x)


class ConditionalUnet1D(nn.Module):
    """Denoiser ``(sample (B,H,Da), timestep (B,), global_cond (B,C)) -> (B,H,Da)``.

    ``down_dims`` sets the channels per level; every level but the last halves the time axis, so H must be divisible
    by 2 ** (len(down_dims) - 1).
    """

    def __init__(self, input_dim: int, global_cond_dim: int, diffusion_step_embed_dim: int = 128,
                 down_dims: tuple[int, ...] = (256, 512, 1024), kernel_size: int = 5, n_groups: int = 8):
        super().__init__()
        dims = [input_dim, *down_dims]
        self.diffusion_step_encoder = nn.Sequential(
            SinusoidalPosEmb(diffusion_step_embed_dim),
            nn.Linear(diffusion_step_embed_dim, diffusion_step_embed_dim * 4),
            nn.Mish(),
            nn.Linear(diffusion_step_embed_dim * 4, diffusion_step_embed_dim),
        )
        cond_dim = diffusion_step_embed_dim + global_cond_dim
        block = lambda i, o: ConditionalResidualBlock1D(i, o, cond_dim, kernel_size, n_groups)  # noqa: E731
        mid = down_dims[-1]
        self.mid_modules = nn.ModuleList([block(mid, mid), block(mid, mid)])
        self.down_modules = nn.ModuleList()
        pairs = list(zip(dims[:-1], dims[1:]))
        for i, (c_in, c_out) in enumerate(pairs):
            last = i == len(pairs) - 1
            self.down_modules.append(nn.ModuleList([
                block(c_in, c_out), block(c_out, c_out),
                nn.Conv1d(c_out, c_out, 3, 2, 1) if not last else nn.Identity(),
            ]))
        self.up_modules = nn.ModuleList()
        for i, (c_in, c_out) in enumerate(reversed(pairs[1:])):
            self.up_modules.append(nn.ModuleList([
                block(c_out * 2, c_in), block(c_in, c_in),
                nn.ConvTranspose1d(c_in, c_in, 4, 2, 1),
            ]))
        start = down_dims[0]
        self.final_conv = nn.Sequential(Conv1dBlock(start, start, kernel_size, n_groups), nn.Conv1d(start, input_dim, 1))

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, global_cond: torch.Tensor) -> torch.Tensor:
        x = sample.transpose(1, 2)  # (B, Da, H)
        if timestep.ndim == 0:
            timestep = timestep.expand(x.shape[0])
        cond = torch.cat([self.diffusion_step_encoder(timestep), global_cond], dim=-1)
        skips = []
        for res1, res2, down in self.down_modules:
            x = res2(res1(x, cond), cond)
            skips.append(x)
            x = down(x)
        for mid in self.mid_modules:
            x = mid(x, cond)
        for res1, res2, up in self.up_modules:
            x = torch.cat([x, skips.pop()], dim=1)
            x = up(res2(res1(x, cond), cond))
        x = self.final_conv(x)
        return x.transpose(1, 2)
