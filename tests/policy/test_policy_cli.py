"""`lad policy train` runs a YAML config end to end; `lad policy eval` refuses what it cannot do (the sim rollout is in test_policy_sim.py)."""

from __future__ import annotations

import json

import yaml
from policy_helpers import tiny_config_dict

from lad_core.cli.main import main


def test_train_from_yaml_then_resume(tmp_path, capsys):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_config_dict(steps=4, checkpoint_every=2)))
    out = tmp_path / "run"
    assert main(["policy", "train", str(path), "--out", str(out), "--no-progress"]) == 0
    assert (out / "checkpoints" / "LATEST").read_text() == "step_0000004"
    assert main(["policy", "train", str(path), "--out", str(out), "--steps", "6", "--resume", "--no-progress"]) == 0
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [4, 5, 6]
    assert "trained to step 6" in capsys.readouterr().out
    meta = json.loads((out / "checkpoints" / "step_0000006" / "config.json").read_text())
    assert meta["embodiments"] == ["gripper", "mimic"] and meta["latent"]["latent_dim"] == 16


def test_bad_config_is_reported_with_file_and_field(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    data = tiny_config_dict()
    data["run"]["stepz"] = 3
    path.write_text(yaml.safe_dump(data))
    assert main(["policy", "train", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "run.stepz" in err


def test_eval_refuses_an_embodiment_the_policy_lacks(tmp_path, capsys):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_config_dict(steps=1)))
    assert main(["policy", "train", str(path), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    ckpt = tmp_path / "run" / "checkpoints" / "step_0000001"
    assert main(["policy", "eval", str(ckpt), "--embodiment", "faive"]) == 2
    assert "trained on ['gripper', 'mimic'], not 'faive'" in capsys.readouterr().err


def test_seed_override_is_recorded_and_changes_the_initialisation(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_config_dict(steps=1)))
    losses = {}
    for seed in ("0", "0", "7"):
        out = tmp_path / f"run_{seed}_{len(losses)}"
        assert main(["policy", "train", str(path), "--out", str(out), "--seed", seed, "--no-progress"]) == 0
        meta = json.loads((out / "checkpoints" / "step_0000001" / "config.json").read_text())
        assert meta["train_config"]["run"]["seed"] == int(seed)
        losses.setdefault(seed, []).append(json.loads((out / "metrics.jsonl").read_text().splitlines()[0])["loss"])
    assert losses["0"][0] == losses["0"][1]  # same seed, same first step
    assert losses["7"][0] != losses["0"][0]
