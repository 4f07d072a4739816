"""The opt-in fingertip-space terms of stage 2 (fingertip_terms.py): they measure what the metrics measure, and the
sweep term makes hands decoded from gripper widths open with the width."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lad_core.errors import ConfigError
from lad_core.latent.configuration import config_from_mapping
from lad_core.latent.fingertip_terms import FingertipTerms
from lad_core.latent.metrics import fingertips_m, gripper_sweep
from lad_core.latent.modeling import LatentActionModel
from lad_core.latent.pairs import load_pairs
from lad_core.latent.training import train
from latent_helpers import tiny_mapping


@pytest.fixture(scope="module")
def terms(tiny_pairs):
    cfg = config_from_mapping(tiny_mapping(tiny_pairs))
    data = load_pairs(tiny_pairs).data
    model = LatentActionModel.from_config(cfg.model)
    model.fit_normalization({m: torch.as_tensor(v) for m, v in data.items()})
    train_n = {m: model.normalizers[m].normalize(torch.as_tensor(v)) for m, v in data.items()}
    return FingertipTerms(model, train_n, cfg.model.modalities), train_n, data


def test_fingertip_loss_is_the_squared_fingertip_distance_of_the_metrics(terms):
    t, train_n, data = terms
    idx = torch.arange(100)
    for m in ("human", "faive", "mimic"):
        assert float(t.tip_loss(m, train_n[m][idx], idx)) == pytest.approx(0.0, abs=1e-6)
        noisy = (train_n[m][idx] + 0.3 * torch.randn(100, train_n[m].shape[1], generator=torch.Generator().manual_seed(1)))
        noisy.requires_grad_(True)
        loss = t.tip_loss(m, noisy, idx)
        loss.backward()
        raw = t.model.normalizers[m].unnormalize(noisy.detach()).numpy()
        expected = ((fingertips_m(m, raw) - fingertips_m(m, data[m][:100])) ** 2).sum(-1).mean() * 1e4  # m^2 -> cm^2
        assert loss.item() == pytest.approx(expected, rel=1e-3) and loss.item() > 0.01
        assert torch.isfinite(noisy.grad).all() and noisy.grad.abs().sum() > 0


def test_aperture_curves_follow_the_data_and_never_fall(terms):
    t, _, data = terms
    width = data["gripper"][:, 0]
    idx = np.clip((width * 20).astype(int), 0, 19)
    assert set(t.curves) == {"human", "faive", "mimic"}
    for hand, curve in t.curves.items():
        ap_cm = np.linalg.norm(fingertips_m(hand, data[hand])[:, 1:] - fingertips_m(hand, data[hand])[:, :1],
                               axis=-1).min(-1) * 100
        assert np.all(np.diff(curve) >= -1e-9), hand
        # a monotone fit of the bin means: the data's mean aperture is kept, and the curve stays near each bin's mean
        assert curve[idx].mean() == pytest.approx(ap_cm.mean(), rel=1e-3), hand
        bin_means = np.array([ap_cm[idx == b].mean() for b in range(20) if (idx == b).any()])
        fitted = np.array([curve[b] for b in range(20) if (idx == b).any()])
        assert np.median(np.abs(fitted - bin_means)) < 0.3, hand  # cm
        assert curve[-1] - curve[0] > 3.0 and len(np.unique(curve.round(4))) >= 8, hand  # opens, not flattened


def test_sweep_term_makes_decoded_hands_open_with_the_width(tiny_pairs, tmp_path):
    """Same seed and data; only sweep_weight differs. Without it, the tiny model's sweep is not monotone."""
    base = tiny_mapping(tiny_pairs, stage2={"epochs": 6})
    plain = train(config_from_mapping(base), tmp_path / "plain", resume=False).model
    swept = train(config_from_mapping(tiny_mapping(tiny_pairs, stage2={"epochs": 6, "sweep_weight": 1.0})),
                  tmp_path / "sweep", resume=False).model
    rho_plain = {k: v["spearman"] for k, v in gripper_sweep(plain).items()}
    rho_swept = {k: v["spearman"] for k, v in gripper_sweep(swept).items()}
    assert min(rho_swept.values()) > 0.9, rho_swept
    assert min(rho_plain.values()) < 0.9, rho_plain  # the term, not the data or the seed, makes the difference


def test_fingertip_and_sweep_weights_are_validated(tiny_pairs):
    with pytest.raises(ConfigError, match="sweep_weight"):
        config_from_mapping(tiny_mapping(tiny_pairs, model={"modalities": ["human", "faive"]},
                                         stage2={"sweep_weight": 0.5}))
    with pytest.raises(ConfigError, match="fingertip_weight"):
        config_from_mapping(tiny_mapping(tiny_pairs, stage2={"fingertip_weight": -1.0}))
