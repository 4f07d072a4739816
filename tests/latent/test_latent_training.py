"""Two-stage training on a tiny config: losses fall, logs and checkpoints are written, resume is exact."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lad_core.errors import ConfigError, InputError
from lad_core.latent.checkpoint import load_model
from lad_core.latent.configuration import config_from_mapping
from lad_core.latent.pairs import load_pairs
from lad_core.latent.training import iter_training, train
from latent_helpers import tiny_mapping


def test_stage1_contrastive_and_stage2_reconstruction_losses_fall(trained_tiny):
    hist = trained_tiny.history
    s1 = [h["train"]["contrastive"] for h in hist if h["stage"] == 1]
    s2 = [h["train"]["recon"] for h in hist if h["stage"] == 2]
    assert len(s1) == 3 and len(s2) == 3
    assert s1[-1] < s1[0] - 0.2
    assert s2[-1] < 0.7 * s2[0]
    # validation: encoding a modality and decoding it (SR) beats predicting the mean (normalized MSE ~ 1)
    sr = [v for k, v in trained_tiny.metrics["loss"].items() if k.split("->")[0] == k.split("->")[1]]
    assert max(sr) < 0.9


def test_outputs_jsonl_tensorboard_and_final_model(trained_tiny):
    out = trained_tiny.out_dir
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [(r["stage"], r["epoch"]) for r in lines] == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    temps = [r["temperature"] for r in lines]
    assert temps[0] > temps[1] > temps[2] == pytest.approx(0.2) and temps[3:] == [0.2] * 3  # annealed, then end
    assert all(r["val"]["loss"]["human->mimic"] > 0 for r in lines)
    assert list((out / "tb").glob("events.out.tfevents.*"))
    model = load_model(out / "model")
    assert model.meta["provenance"]["n_train"] + model.meta["provenance"]["n_val"] == 1500
    assert model.meta["config"]["name"] == "tiny" and "summary" in model.meta["metrics"]


def test_frozen_encoders_do_not_change_in_stage2(tiny_pairs, tmp_path):
    cfg = config_from_mapping(tiny_mapping(tiny_pairs, stage1={"epochs": 1}, stage2={"epochs": 1, "finetune_encoders": False}))
    snapshots = []
    for p in iter_training(cfg, tmp_path, resume=False):
        snapshots.append({k: v.clone() for k, v in load_model(tmp_path / "last").encoders.state_dict().items()})
    assert all(torch.equal(snapshots[0][k], snapshots[1][k]) for k in snapshots[0])
    cfg_ft = config_from_mapping(tiny_mapping(tiny_pairs, stage1={"epochs": 1}, stage2={"epochs": 1}))
    snaps = []
    for p in iter_training(cfg_ft, tmp_path / "ft", resume=False):
        snaps.append({k: v.clone() for k, v in load_model(tmp_path / "ft" / "last").encoders.state_dict().items()})
    assert not all(torch.equal(snaps[0][k], snaps[1][k]) for k in snaps[0])


def test_cancel_then_resume_matches_an_uninterrupted_run(tiny_pairs, tmp_path):
    cfg = config_from_mapping(tiny_mapping(tiny_pairs, stage1={"epochs": 2}, stage2={"epochs": 2}))
    full = train(cfg, tmp_path / "full", resume=False).model
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] == 3  # stop after the first stage-2 epoch

    done = list(iter_training(cfg, tmp_path / "cut", resume=False, cancel=cancel))
    assert [(p.stage, p.epoch) for p in done] == [(1, 0), (1, 1), (2, 0)]
    assert not (tmp_path / "cut" / "model").exists()
    rest = list(iter_training(cfg, tmp_path / "cut", resume=True))
    assert [(p.stage, p.epoch) for p in rest] == [(2, 1)]
    resumed = load_model(tmp_path / "cut" / "model")
    for k, v in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[k], v, rtol=0, atol=1e-6)


def test_resuming_with_a_different_config_is_refused(tiny_pairs, tmp_path):
    cfg = config_from_mapping(tiny_mapping(tiny_pairs, stage1={"epochs": 1}, stage2={"epochs": 1}))
    train(cfg, tmp_path, resume=False)
    other = cfg.with_changes(model={"latent_dim": 8})
    with pytest.raises(ConfigError, match="different config"):
        list(iter_training(other, tmp_path, resume=True))


def test_training_data_with_nan_or_a_missing_modality_is_refused(tiny_pairs, tmp_path):
    cfg = config_from_mapping(tiny_mapping(tiny_pairs))
    data = {k: v.copy() for k, v in load_pairs(tiny_pairs).data.items()}
    data["faive"][5, 0] = np.nan
    with pytest.raises(InputError, match="modality 'faive' has 1 NaN"):
        list(iter_training(cfg, tmp_path, data=data))
    del data["faive"]
    with pytest.raises(InputError, match=r"missing modality \['faive'\]"):
        list(iter_training(cfg, tmp_path, data=data))
