"""Configuration of the U-Net diffusion policy (Chi et al.; paper Sec. 7.1.1)."""

from __future__ import annotations

from dataclasses import dataclass

from lad_core.policy.configuration import PolicyConfig, _check, _positive


@dataclass(frozen=True)
class UnetPolicyConfig(PolicyConfig):
    """ConditionalUnet1D over the action chunk, FiLM-conditioned on the flattened observation features and the
    diffusion step. Paper: 48-step chunks. The horizon must be divisible by 2 ** (len(down_dims) - 1)."""

    horizon: int = 48
    n_action_steps: int = 16
    down_dims: tuple[int, ...] = (256, 512, 1024)
    kernel_size: int = 5
    n_groups: int = 8
    diffusion_step_embed_dim: int = 128

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(len(self.down_dims) >= 1, "down_dims", self.down_dims, "needs at least one level")
        for i, d in enumerate(self.down_dims):
            _positive(f"down_dims[{i}]", d)
            _check(d % self.n_groups == 0, f"down_dims[{i}]", d, f"must be divisible by n_groups={self.n_groups}")
        _positive("kernel_size", self.kernel_size)
        _check(self.kernel_size % 2 == 1, "kernel_size", self.kernel_size, "must be odd")
        _positive("n_groups", self.n_groups)
        _positive("diffusion_step_embed_dim", self.diffusion_step_embed_dim)
        factor = 2 ** (len(self.down_dims) - 1)
        _check(self.horizon % factor == 0, "horizon", self.horizon,
               f"must be divisible by {factor} for {len(self.down_dims)} U-Net levels")
