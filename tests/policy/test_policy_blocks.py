"""Network blocks: shapes, conditioning reaches the output, torchvision-compatible ResNet names, Chi et al.'s size."""

from __future__ import annotations

import pytest
import torch

from lad_core.errors import InputError
from lad_core.policy.blocks.resnet import ResNet18GN, load_torchvision_weights
from lad_core.policy.blocks.transformer import DiffusionTransformer
from lad_core.policy.blocks.unet1d import ConditionalUnet1D


def test_unet_shape_and_conditioning():
    net = ConditionalUnet1D(5, 12, 16, (16, 32, 64), 3, 8)
    x, t = torch.randn(3, 16, 5), torch.tensor([0, 10, 99])
    c1, c2 = torch.randn(3, 12), torch.randn(3, 12)
    y = net(x, t, c1)
    assert y.shape == x.shape
    assert not torch.allclose(y, net(x, t, c2)) and not torch.allclose(y, net(x, t + 1, c1))


def test_chi_unet_size():
    # Chi et al.: down_dims [256, 512, 1024], kernel 5, step embedding 256 -> about 65 M parameters (low-dim PushT)
    net = ConditionalUnet1D(2, 40, 256, (256, 512, 1024), 5, 8)
    n = sum(p.numel() for p in net.parameters())
    assert 60e6 < n < 70e6, n


def test_transformer_tokens():
    net = DiffusionTransformer(7, 10, n_obs_steps=2, horizon=21, d_token=32, n_heads=4, n_layers=2,
                               dim_feedforward=64, dropout=0.0)
    x, t = torch.randn(2, 21, 7), torch.tensor([5, 50])
    obs = torch.randn(2, 2, 10)
    y = net(x, t, obs)
    assert y.shape == x.shape
    assert not torch.allclose(y, net(x, t, obs + 1)) and not torch.allclose(y, net(x, t + 20, obs))


def _torchvision_like_state(model: ResNet18GN) -> dict:
    """What torchvision's resnet18().state_dict() holds: our names + BatchNorm buffers + the fc head."""
    state = {k: torch.randn_like(v) for k, v in model.state_dict().items()}
    for k in list(state):
        if ".bn" in k or k.startswith("bn1") or ".downsample.1." in k:
            if k.endswith(".weight"):
                base = k[: -len(".weight")]
                state[f"{base}.running_mean"] = torch.zeros(state[k].shape)
                state[f"{base}.running_var"] = torch.ones(state[k].shape)
                state[f"{base}.num_batches_tracked"] = torch.tensor(0)
    state["fc.weight"], state["fc.bias"] = torch.randn(1000, 512), torch.randn(1000)
    return state


def test_resnet_has_torchvision_names_and_loads_them(tmp_path):
    from safetensors.torch import save_file

    model = ResNet18GN()
    names = set(model.state_dict())
    assert {"conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
            "layer2.0.downsample.1.bias", "layer4.1.bn2.weight"} <= names
    assert len(names) == 60  # torchvision resnet18 has 62 parameters: these plus fc.weight and fc.bias
    state = _torchvision_like_state(model)
    path = tmp_path / "resnet18.safetensors"
    save_file(state, str(path))
    load_torchvision_weights(model, path)
    assert torch.equal(model.layer3[1].conv2.weight, state["layer3.1.conv2.weight"])
    assert torch.equal(model.layer2[0].downsample[1].weight, state["layer2.0.downsample.1.weight"])
    assert model(torch.randn(2, 3, 84, 84)).shape == (2, 512)
    state["layer1.0.conv1.weight"] = torch.randn(3, 3, 3, 3)
    with pytest.raises(InputError, match="layer1.0.conv1.weight has shape"):
        load_torchvision_weights(model, state, source="weights.pth")
