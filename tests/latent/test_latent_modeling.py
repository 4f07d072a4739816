"""Encoders/decoders, normalization, InfoNCE (Eq. 4) and the public encode/decode/cross API."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from lad_core.embodiments import get
from lad_core.errors import InputError
from lad_core.latent.modeling import MLP, LatentActionModel, info_nce


def _model(dims=None, latent=8, seed=0):
    torch.manual_seed(seed)
    dims = dims or {"human": 189, "mimic": 16, "gripper": 1}
    m = LatentActionModel(dims, latent, {k: [16, 12] for k in dims})
    rng = np.random.default_rng(seed)
    m.fit_normalization({k: torch.as_tensor(rng.normal(0.5, 0.2, (64, d)), dtype=torch.float32) for k, d in dims.items()})
    return m.eval()


def test_mlp_follows_the_appendix_layer_order():
    mlp = MLP(5, [16, 12, 8], 3, dropout=0.1)
    kinds = [type(x) for x in mlp.net]
    assert kinds == [nn.Linear, nn.ReLU,
                     nn.LayerNorm, nn.Linear, nn.ReLU, nn.Dropout,
                     nn.LayerNorm, nn.Linear, nn.ReLU, nn.Dropout,
                     nn.LayerNorm, nn.Linear]  # fmt: skip
    assert mlp(torch.zeros(4, 5)).shape == (4, 3)
    # a 1-d input (gripper width) still changes the output: no LayerNorm sits on the raw input
    assert not torch.allclose(mlp.eval()(torch.zeros(1, 5)), mlp(torch.ones(1, 5)))


def test_info_nce_matches_a_direct_computation_of_eq4():
    torch.manual_seed(0)
    z = {k: F.normalize(torch.randn(6, 4), dim=-1) for k in ("a", "b", "c")}
    tau = 0.3
    loss, parts = info_nce(z, tau)
    manual = []
    for i in z:
        for j in z:
            if i == j:
                continue
            sim = z[i] @ z[j].T / tau
            manual.append(-(sim.diag() - torch.logsumexp(sim, dim=1)).mean())
    assert loss.item() == pytest.approx(torch.stack(manual).mean().item(), rel=1e-5)
    assert set(parts) == {"a->b", "b->a", "a->c", "c->a", "b->c", "c->b"}


def test_info_nce_rewards_aligned_pairs_and_low_temperature_sharpens():
    torch.manual_seed(1)
    base = F.normalize(torch.randn(32, 8), dim=-1)
    aligned, _ = info_nce({"x": base, "y": base}, 0.1)
    shuffled, _ = info_nce({"x": base, "y": base[torch.randperm(32)]}, 0.1)
    assert aligned < 0.5 < np.log(32) - 1 < shuffled
    assert info_nce({"x": base, "y": base}, 0.05)[0] < aligned


def test_encode_decode_accept_numpy_and_torch_with_batch_shapes():
    m = _model()
    x = np.random.default_rng(2).normal(0.5, 0.2, (3, 5, 16)).astype(np.float32)
    z = m.encode("mimic", x)
    assert isinstance(z, np.ndarray) and z.shape == (3, 5, 8)
    np.testing.assert_allclose(np.linalg.norm(z, axis=-1), 1.0, atol=1e-5)  # unit latents
    zt = m.encode("mimic", torch.as_tensor(x))
    assert isinstance(zt, torch.Tensor) and torch.allclose(zt, torch.as_tensor(z), atol=1e-6)
    assert m.encode("mimic", torch.as_tensor(x, dtype=torch.float64)).dtype == torch.float64
    y = m.decode("human", z)
    assert y.shape == (3, 5, 189)
    assert m.cross("mimic", "gripper", x).shape == (3, 5, 1)


def test_decode_clips_to_the_robot_joint_limits():
    m = _model()
    spec = get("mimic")
    z = F.normalize(torch.randn(200, 8) * 10, dim=-1)
    with torch.no_grad():  # push the decoder output far outside the limits
        m.decoders["mimic"].net[-1].bias.fill_(50.0)
    q = m.decode("mimic", z)
    assert torch.all(q <= torch.as_tensor(spec.upper, dtype=torch.float32) + 1e-6)
    assert not torch.all(m.decode("mimic", z, clip=False) <= torch.as_tensor(spec.upper, dtype=torch.float32))


def test_normalization_uses_the_training_statistics():
    m = _model()
    x = torch.full((2, 16), 0.5)
    norm = m.normalizers["mimic"]
    torch.testing.assert_close(norm.unnormalize(norm.normalize(x)), x)
    assert norm.std.min() >= m.std_floor  # constant dims cannot blow up


def test_bad_inputs_are_named():
    m = _model()
    with pytest.raises(InputError, match="no 'faive' modality"):
        m.encode("faive", np.zeros((2, 11)))
    with pytest.raises(InputError, match="expected last dimension 16"):
        m.encode("mimic", np.zeros((2, 11)))
    with pytest.raises(InputError, match="NaN"):
        m.encode("mimic", np.full((2, 16), np.nan))
    raw = LatentActionModel({"mimic": 16, "gripper": 1}, 4, {"mimic": [8], "gripper": [8]})
    with pytest.raises(InputError, match="never fitted"):
        raw.encode("mimic", np.zeros((1, 16)))
