"""`lad latent make-pairs | train | eval | ablate` end to end on tiny inputs; errors exit 2 with a message."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from lad_core.cli.main import main
from latent_helpers import tiny_mapping


def _json_lines(text: str) -> list[dict]:
    return [json.loads(x) for x in text.splitlines() if x.startswith("{")]


def test_make_pairs_train_eval_from_real_landmarks(tmp_path, real_pose_sequence, tiny_pairs, capsys):
    lm = tmp_path / "held_out.npy"
    np.save(lm, real_pose_sequence[::25])  # 25 real frames
    assert main(["latent", "make-pairs", "--landmarks", str(lm), "--out", str(tmp_path / "real.h5"),
                 "--modalities", "human,mimic,gripper"]) == 0
    made = _json_lines(capsys.readouterr().out)[-1]
    assert made["count"] == 25 and made["modalities"] == ["human", "mimic", "gripper"] and made["pairs_per_s"] > 0

    cfg = tmp_path / "tiny.yaml"
    data = tiny_mapping(tiny_pairs, model={"modalities": ["human", "mimic", "gripper"]},
                        stage1={"epochs": 1}, stage2={"epochs": 1})
    cfg.write_text(yaml.safe_dump(data))
    out = tmp_path / "run"
    assert main(["latent", "train", str(cfg), "--out", str(out)]) == 0
    done = _json_lines(capsys.readouterr().out)[-1]
    assert done["event"] == "done" and done["sr"] > 0 and (out / "model" / "model.safetensors").exists()

    assert main(["latent", "eval", str(out / "model"), "--pairs", str(tmp_path / "real.h5"), "--landmarks", str(lm),
                 "--sweep"]) == 0
    events = {e["event"]: e for e in _json_lines(capsys.readouterr().out)}
    assert events["pairs_metrics"]["n"] == 25 and "mimic->gripper" in events["pairs_metrics"]["loss"]
    assert events["real_poses"]["human->mimic_mm"] > 0 and "human->faive_mm" not in events["real_poses"]
    assert set(events["gripper_sweep"]) == {"event", "human", "mimic"}


def test_errors_exit_2_with_the_problem(tmp_path, tiny_pairs, capsys):
    cfg = tmp_path / "typo.yaml"
    data = tiny_mapping(tiny_pairs)
    data["stage1"]["learning_rate"] = 0.1
    cfg.write_text(yaml.safe_dump(data))
    assert main(["latent", "train", str(cfg)]) == 2
    assert "stage1.learning_rate" in capsys.readouterr().err
    missing = tmp_path / "nopairs.yaml"
    missing.write_text(yaml.safe_dump(tiny_mapping(tmp_path / "absent.h5")))
    assert main(["latent", "train", str(missing)]) == 2
    assert "lad latent make-pairs" in capsys.readouterr().err
    assert main(["latent", "eval", str(tmp_path / "nothing")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["latent", "--help"], ["latent", "ablate", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0 and "latent" in capsys.readouterr().out


def test_export_half_halves_the_weights_and_keeps_the_outputs(tmp_path, trained_tiny, capsys):
    """`lad latent export --half`: float16 weights (float32 statistics), same decoded hands to well under 1 mm."""
    from lad_core.latent.checkpoint import load_model
    from lad_core.latent.metrics import fingertips_m

    source, out = trained_tiny.out_dir / "model", tmp_path / "half"
    assert main(["latent", "export", str(source), str(out), "--half"]) == 0
    event = _json_lines(capsys.readouterr().out)[-1]
    assert event["event"] == "exported" and max(event["max_change_at_mean_pose"].values()) < 1.0, event
    full, half = (p / "model.safetensors" for p in (source, out))
    assert half.stat().st_size < 0.6 * full.stat().st_size  # the float32 statistics do not shrink
    original, copy = load_model(source), load_model(out)
    assert copy.meta == original.meta
    widths = np.linspace(0, 1, 21, dtype=np.float32)[:, None]
    for hand in ("human", "faive", "mimic"):
        a, b = original.cross("gripper", hand, widths), copy.cross("gripper", hand, widths)
        assert np.linalg.norm(fingertips_m(hand, a) - fingertips_m(hand, b), axis=-1).max() < 1e-3, hand


def test_train_seed_overrides_the_configs_seed(tmp_path, tiny_pairs, capsys):
    """`--seed S` for seed repeats of one config: the run records S, and its weights differ from seed 0's."""
    from lad_core.latent.checkpoint import load_model

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_mapping(tiny_pairs, stage1={"epochs": 1}, stage2={"epochs": 1})))
    models = {}
    for seed in (None, 5):
        out = tmp_path / f"run_{seed}"
        assert main(["latent", "train", str(cfg), "--out", str(out)] + ([] if seed is None else ["--seed", str(seed)])) == 0
        models[seed] = load_model(out / "model")
    capsys.readouterr()
    assert models[None].meta["config"]["run"]["seed"] == 0 and models[5].meta["config"]["run"]["seed"] == 5
    widths = np.linspace(0, 1, 5, dtype=np.float32)[:, None]
    assert not np.allclose(models[None].encode("gripper", widths), models[5].encode("gripper", widths))
