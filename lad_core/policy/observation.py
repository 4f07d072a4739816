"""Observation encoder: low-dim keys concatenated, each camera through its own ResNet-18 (GroupNorm).

Shape legend: B batch, To observation steps, F features per step. Input: low-dim keys already normalized
(B, To, d); images ``images/<camera>`` uint8 (B, To, H, W, 3); with ``embodiment_cue`` configured, the key
``embodiment_cue`` (B, To, n): the one-hot of :func:`embodiment_one_hot`, appended after the low-dim keys. Images are random-cropped to ``crop_size`` in training
mode and centre-cropped in eval mode, scaled to [0, 1] and ImageNet-normalized.
"""

from __future__ import annotations

import torch
from torch import nn

from lad_core.errors import InputError

CUE_KEY = "embodiment_cue"


def embodiment_one_hot(cue: tuple[str, ...] | list[str], embodiment: str, batch: int, n_obs_steps: int) -> torch.Tensor:
    """(batch, n_obs_steps, len(cue)) one-hot of ``embodiment`` over the policy's cue embodiments."""
    if embodiment not in cue:
        raise InputError(f"the policy's embodiment cue covers {list(cue)}, not '{embodiment}'; it was not trained "
                         f"for that embodiment")
    out = torch.zeros(batch, n_obs_steps, len(cue))
    out[..., list(cue).index(embodiment)] = 1.0
    return out
from lad_core.policy.blocks.resnet import ResNet18GN, load_torchvision_weights
from lad_core.policy.configuration import ObservationConfig

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def crop_images(x: torch.Tensor, size: tuple[int, int], random: bool) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, h, w): an independent random crop per image, or the centre crop."""
    n, _, height, width = x.shape
    h, w = size
    if (h, w) == (height, width):
        return x
    if not random:
        top, left = (height - h) // 2, (width - w) // 2
        return x[:, :, top:top + h, left:left + w]
    tops = torch.randint(0, height - h + 1, (n,)).tolist()
    lefts = torch.randint(0, width - w + 1, (n,)).tolist()
    return torch.stack([x[i, :, t:t + h, l:l + w] for i, (t, l) in enumerate(zip(tops, lefts))])


class ObservationEncoder(nn.Module):
    def __init__(self, config: ObservationConfig, arm_dim: int):
        super().__init__()
        self.config = config
        self.lowdim = config.lowdim_keys(arm_dim)
        self.cameras = [c.name for c in config.cameras]
        self.backbones = nn.ModuleDict({name: ResNet18GN() for name in self.cameras})
        if config.pretrained_backbone:
            for backbone in self.backbones.values():
                load_torchvision_weights(backbone, config.pretrained_backbone)
        self.register_buffer("img_mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("img_std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def feature_dim(self) -> int:
        return sum(self.lowdim.values()) + len(self.config.embodiment_cue) + ResNet18GN.feature_dim * len(self.cameras)

    @property
    def expected_keys(self) -> list[str]:
        cue = [CUE_KEY] if self.config.embodiment_cue else []
        return [*self.lowdim, *cue, *(f"images/{c}" for c in self.cameras)]

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        missing = [k for k in self.expected_keys if k not in obs]
        if missing:
            raise InputError(f"observation is missing {missing} (the policy expects {self.expected_keys}, got "
                             f"{sorted(obs)})")
        parts = []
        for key, dim in self.lowdim.items():
            x = obs[key]
            if x.ndim != 3 or x.shape[-1] != dim:
                raise InputError(f"observation '{key}' must be (B, To, {dim}), got {tuple(x.shape)}")
            parts.append(x.float())
        if self.config.embodiment_cue:
            x = obs[CUE_KEY]
            n = len(self.config.embodiment_cue)
            if x.ndim != 3 or x.shape[-1] != n:
                raise InputError(f"observation '{CUE_KEY}' must be (B, To, {n}), got {tuple(x.shape)}")
            parts.append(x.float())
        for cam in self.cameras:
            img = obs[f"images/{cam}"]
            if img.ndim != 5 or img.shape[-1] != 3:
                raise InputError(f"observation 'images/{cam}' must be (B, To, H, W, 3) uint8, got {tuple(img.shape)}")
            b, to = img.shape[:2]
            x = img.reshape(b * to, *img.shape[2:]).permute(0, 3, 1, 2).float() / 255.0
            x = crop_images(x, tuple(self.config.crop_size), random=self.training)
            x = (x - self.img_mean) / self.img_std
            parts.append(self.backbones[cam](x).reshape(b, to, -1))
        return torch.cat(parts, dim=-1)
