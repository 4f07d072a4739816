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
