"""Metrics: SR/CR matrix, fingertip millimetres through kinematics, retrieval, the ablation table."""

from __future__ import annotations

import numpy as np
import pytest

from lad_core.embodiments import get
from lad_core.latent.ablation import VARIANTS, format_table, variant_config
from lad_core.latent.metrics import (
    cr_matrix,
    fingertips_m,
    gripper_sweep,
    position_error_mm,
    retrieval_top1,
    sr_cr_summary,
)
from lad_core.latent.pairs import load_pairs


def test_full_cr_matrix_with_units(trained_tiny):
    met = trained_tiny.metrics
    names, mat = cr_matrix(met)
    assert names == ["human", "faive", "mimic", "gripper"] and mat.shape == (4, 4) and np.isfinite(mat).all()
    assert set(met["mm"]) == set(met["loss"]) and set(met["top1"]) == {k for k in met["loss"] if k[: k.index("-")] != k[k.index(">") + 1 :]}
    s = sr_cr_summary(met)
    assert s["sr"] < s["cr"]  # decoding your own latent beats decoding another modality's
    assert all(0.0 <= v <= 1.0 for v in met["top1"].values())


def test_fingertip_errors_are_zero_for_truth_and_follow_kinematics(tiny_pairs):
    data = load_pairs(tiny_pairs).data
    for m in ("human", "faive", "mimic", "gripper"):
        assert position_error_mm(m, data[m][:50], data[m][:50]) == pytest.approx(0.0, abs=1e-6)
    tips = fingertips_m("mimic", data["mimic"][:5])
    assert tips.shape == (5, 5, 3) and 0.05 < np.linalg.norm(tips, axis=-1).mean() < 0.25  # a hand, in metres
    assert position_error_mm("gripper", np.zeros((3, 1)), np.full((3, 1), 0.5)) == pytest.approx(
        0.5 * get("gripper").gripper.human_width_m * 1000)


def test_retrieval_top1():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 16))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    assert retrieval_top1(z, z, block=100) == 1.0
    assert retrieval_top1(z, z[rng.permutation(300)], block=100) < 0.1


def test_gripper_sweep_reports_every_hand(trained_tiny):
    sweep = gripper_sweep(trained_tiny.model, steps=11)
    assert set(sweep) == {"human", "faive", "mimic"}
    for v in sweep.values():
        assert len(v["aperture_mm"]) == 11 and -1 <= v["spearman"] <= 1 and v["max_drop_mm"] >= 0


def test_ablation_variants_and_table(tiny_config, trained_tiny):
    assert not variant_config(tiny_config, "no_ta").temperature.anneal
    assert not variant_config(tiny_config, "no_ft").stage2.finetune_encoders
    both = variant_config(tiny_config, "no_ft_no_ta")
    assert not both.temperature.anneal and not both.stage2.finetune_encoders and tiny_config.stage2.finetune_encoders
    worse = {k: {kk: (v * 2 if isinstance(v, float) else v) for kk, v in t.items()} if isinstance(t, dict) else t
             for k, t in trained_tiny.metrics.items()}
    table = format_table({"full": trained_tiny.metrics, "no_ft": worse})
    rows = table.strip().splitlines()
    assert rows[0].startswith("| variant | SR human") and len(rows) == 4
    assert rows[2].count("**") == 2 * (rows[2].count("|") - 2)  # the better run holds every best value
    assert VARIANTS["no_ft"][0] in rows[3]
