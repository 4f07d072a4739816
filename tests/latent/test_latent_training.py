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


def test_cosine_schedule_sets_the_learning_rates_of_both_parameter_groups(tiny_pairs, tmp_path):
    cfg = config_from_mapping(tiny_mapping(tiny_pairs, stage1={"epochs": 1}, stage2={
        "epochs": 2, "lr_schedule": "cosine", "min_lr_scale": 0.2, "encoder_lr_scale": 0.5}))
    lrs, per_epoch = [], None
    for p in iter_training(cfg, tmp_path, resume=False):
        if p.stage == 1:
            per_epoch = p.step  # one stage-1 epoch: as many batches as a stage-2 epoch (same batch size)
        else:
            groups = json.loads((tmp_path / "last" / "train_state.json").read_text())["optimizer"]["param_groups"]
            lrs.append([g["lr"] for g in groups])
    stage_steps = 2 * per_epoch
    # the rates of each epoch's last step, (decoders, encoders at encoder_lr_scale)
    expect = [cfg.stage2.lr_factor((k * per_epoch - 1) / stage_steps) for k in (1, 2)]
    for (dec, enc), f in zip(lrs, expect):
        assert dec == pytest.approx(3e-3 * f) and enc == pytest.approx(0.5 * 3e-3 * f)
    assert lrs[1][0] < lrs[0][0] < 3e-3 and lrs[1][0] < 3e-3 * 0.3  # close to the floor 0.2 at the end


def test_cross_term_without_the_gripper_as_source_leaves_the_gripper_encoder_alone(tiny_pairs):
    from lad_core.latent.modeling import LatentActionModel
    from lad_core.latent.training import _cross_term

    cfg = config_from_mapping(tiny_mapping(tiny_pairs))
    model = LatentActionModel.from_config(cfg.model)
    data = load_pairs(tiny_pairs).data
    model.fit_normalization({m: torch.as_tensor(v) for m, v in data.items()})
    train_n = {m: model.normalizers[m].normalize(torch.as_tensor(v)) for m, v in data.items()}
    idx = torch.arange(64)
    mods = cfg.model.modalities
    for sources, gripper_grad in ((None, True), (["human", "faive", "mimic"], False)):
        model.zero_grad(set_to_none=True)
        z = {m: model.embed(m, train_n[m][idx]) for m in mods}
        # over 3 steps every target has used each of its allowed sources once (round-robin)
        sum(_cross_term(model, z, train_n, idx, mods, step, sources)[0] for step in range(3)).backward()
        grads = [p.grad for p in model.encoders["gripper"].parameters()]
        assert any(g is not None and g.abs().sum() > 0 for g in grads) == gripper_grad, sources
        # the gripper is still a target: its decoder learns from the hands' latents
        assert all(p.grad is not None for p in model.decoders["gripper"].parameters())


def test_input_noise_changes_training_and_stays_reproducible(tiny_pairs, tmp_path):
    base = config_from_mapping(tiny_mapping(tiny_pairs, stage1={"epochs": 1}, stage2={"epochs": 1}))
    noisy = base.with_changes(data={"input_noise": {"human": 0.3}})
    a = train(noisy, tmp_path / "a", resume=False).model.state_dict()
    b = train(noisy, tmp_path / "b", resume=False).model.state_dict()
    c = train(base, tmp_path / "c", resume=False).model.state_dict()
    key = "encoders.human.net.0.weight"
    torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert not torch.allclose(a[key], c[key])
    assert load_model(tmp_path / "a" / "model").meta["config"]["data"]["input_noise"] == {"human": 0.3}


def test_a_run_saved_before_newer_config_fields_existed_still_resumes(tiny_pairs, tmp_path):
    """Fields added later (e.g. stage2.lr_schedule) read as their defaults in an older run's saved config."""
    cfg = config_from_mapping(tiny_mapping(tiny_pairs, stage1={"epochs": 1}, stage2={"epochs": 1}))
    train(cfg, tmp_path, resume=False)
    state_file = tmp_path / "last" / "train_state.json"
    state = json.loads(state_file.read_text())
    for section, key in (("data", "input_noise"), ("stage2", "lr_schedule"), ("stage2", "cross_sources")):
        del state["config"][section][key]
    state_file.write_text(json.dumps(state))
    assert list(iter_training(cfg, tmp_path, resume=True)) == []  # finished: nothing left to train
    assert (tmp_path / "model").exists()
    with pytest.raises(ConfigError, match="different config"):  # a real difference is still refused
        list(iter_training(cfg.with_changes(stage2={"lr_schedule": "cosine"}), tmp_path, resume=True))


def test_weight_average_ships_the_average_and_resumes_exactly(tiny_pairs, tmp_path, monkeypatch):
    """stage2.ema_decay: the saved model is the moving average of the stage-2 weights (not the last step's), and
    an interrupted run resumes to the same average."""
    import lad_core.latent.training as training

    cfg = config_from_mapping(tiny_mapping(tiny_pairs, stage1={"epochs": 1}, stage2={"epochs": 2, "ema_decay": 0.9}))
    built, live = [], {}
    original = training.LatentActionModel.from_config
    monkeypatch.setattr(training.LatentActionModel, "from_config", lambda c: built.append(original(c)) or built[-1])

    def cancel():  # asked after every epoch: keep the live weights of the last one
        live.update({k: v.clone() for k, v in built[-1].state_dict().items()})
        return False

    list(iter_training(cfg, tmp_path / "full", resume=False, cancel=cancel))
    full = load_model(tmp_path / "full" / "model").state_dict()
    weights = [k for k in full if "decoders" in k and k.endswith("weight")]
    assert weights and all(not torch.equal(full[k], live[k]) for k in weights)  # the average, not the last step
    assert max(float((full[k] - live[k]).norm() / live[k].norm()) for k in weights) < 0.5  # of nearby weights
    last_val = json.loads((tmp_path / "full" / "metrics.jsonl").read_text().splitlines()[-1])["val"]
    final = json.loads((tmp_path / "full" / "final_metrics.json").read_text())["val"]
    assert last_val["loss"]["human->mimic"] == pytest.approx(final["loss"]["human->mimic"], rel=1e-4)

    calls = {"n": 0}

    def cancel_after_first_stage2_epoch():
        calls["n"] += 1
        return calls["n"] == 2

    cut = list(iter_training(cfg, tmp_path / "cut", resume=False, cancel=cancel_after_first_stage2_epoch))
    assert [(p.stage, p.epoch) for p in cut] == [(1, 0), (2, 0)]
    list(iter_training(cfg, tmp_path / "cut", resume=True))
    resumed = load_model(tmp_path / "cut" / "model").state_dict()
    for k, v in full.items():
        torch.testing.assert_close(resumed[k], v, rtol=0, atol=1e-6)


def test_training_leaves_subnormal_floats_representable(trained_tiny):
    """Training flushes denormals only around its own steps (a global CPU flag: left on, it broke hypothesis in a
    later test of the same process)."""
    assert torch.tensor([1e-40], dtype=torch.float32).item() != 0.0
    assert np.nextafter(np.float32(0), np.float32(1)) > 0


def test_training_keeps_a_callers_own_denormal_flush(tiny_pairs, tmp_path):
    """A caller who flushes denormals themselves still has the flush on after an epoch (torch has no getter; the
    trainer probes it)."""
    cfg = config_from_mapping(tiny_mapping(tiny_pairs, stage1={"epochs": 1}, stage2={"epochs": 1}))
    torch.set_flush_denormal(True)
    try:
        next(iter_training(cfg, tmp_path / "run"))
        assert torch.tensor([1e-40], dtype=torch.float32).mul(1.0).item() == 0.0
    finally:
        torch.set_flush_denormal(False)
