"""ResNet-18 with GroupNorm in place of BatchNorm, written in torch.nn with torchvision's parameter names.

Names match ``torchvision.models.resnet18`` (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer2.0.downsample.0``...),
so a torchvision state dict loads through :func:`load_torchvision_weights` (BatchNorm running statistics are dropped:
GroupNorm has only the affine ``weight``/``bias``). As in Chi et al., a norm layer over C channels uses C // 16 groups.
Network block only: images arrive as float (B, 3, H, W), already scaled and normalized.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from lad_core.errors import InputError


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(max(1, channels // 16), channels)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = group_norm(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = group_norm(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), group_norm(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18GN(nn.Module):
    """(B, 3, H, W) -> (B, 512) global-average-pooled features (``fc`` is an identity; kept for name parity)."""

    feature_dim = 512

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = group_norm(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, 64, 1)
        self.layer2 = self._make_layer(64, 128, 2)
        self.layer3 = self._make_layer(128, 256, 2)
        self.layer4 = self._make_layer(256, 512, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Identity()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @staticmethod
    def _make_layer(inplanes: int, planes: int, stride: int) -> nn.Sequential:
        return nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def load_torchvision_weights(model: ResNet18GN, state_dict: dict[str, torch.Tensor] | str | Path,
                             source: str | None = None) -> None:
    """Load torchvision ResNet-18 weights (a state dict, or a .safetensors/.pth file) into ``model``.

    BatchNorm buffers (running_mean/var, num_batches_tracked) and the ImageNet ``fc`` head are skipped; any other
    missing or mismatched parameter is an InputError naming the file and the parameter.
    """
    if not isinstance(state_dict, dict):
        path = Path(state_dict)
        source = source or str(path)
        if not path.is_file():
            raise InputError(f"{path}: backbone weight file not found")
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state_dict = load_file(str(path))
        else:
            state_dict = torch.load(str(path), map_location="cpu", weights_only=True)
    where = source or "torchvision state dict"
    skip = ("running_mean", "running_var", "num_batches_tracked")
    wanted = {k: v for k, v in state_dict.items() if not k.endswith(skip) and not k.startswith("fc.")}
    own = model.state_dict()
    missing = sorted(set(own) - set(wanted))
    extra = sorted(set(wanted) - set(own))
    if missing or extra:
        raise InputError(f"{where}: not a ResNet-18 state dict (missing {missing[:5]}, unexpected {extra[:5]})")
    for key, value in wanted.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise InputError(f"{where}: parameter {key} has shape {tuple(value.shape)}, expected "
                             f"{tuple(own[key].shape)}")
    model.load_state_dict(wanted, strict=True)
