"""Qt-free studio models: scale tuning, session retargeting with live scales, training runs and their history."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lad_core.errors import ConfigError
from lad_core.studio.scales import ScaleTuning
from lad_core.studio.training import RunHistory, TrainingRun
from lad_core.tracking.types import TrackedFrame


def _tracked(pose, index=0):
    return TrackedFrame(index=index, timestamp=index / 30, present=True, lost=False, time_since_loss=0.0,
                        canonical=np.asarray(pose, dtype=np.float64))


def test_scale_tuning_undo_merges_a_drag_and_round_trips_yaml(tmp_path):
    tuning = ScaleTuning({"mimic": np.ones(15)})
    seen = []
    tuning.events.subscribe("changed", lambda n, s: seen.append((n, s[2])))
    for v in (1.1, 1.2, 1.3):  # one slider drag
        tuning.set_one("mimic", 2, v)
    tuning.end_merge()
    tuning.set_one("mimic", 4, 0.5)
    assert tuning.get("mimic")[[2, 4]].tolist() == [1.3, 0.5]
    assert tuning.undo() and tuning.get("mimic")[4] == 1.0 and tuning.get("mimic")[2] == 1.3
    assert tuning.undo() and tuning.get("mimic")[2] == 1.0  # the whole drag at once
    assert not tuning.undo()
    assert tuning.redo() and tuning.get("mimic")[2] == 1.3
    assert seen[-1] == ("mimic", 1.3)
    path = tuning.save(tmp_path / "s.yaml", "mimic")
    tuning.reset("mimic")
    assert np.all(tuning.get("mimic") == 1.0)
    tuning.load(path, "mimic")
    assert tuning.get("mimic")[2] == pytest.approx(1.3)
    bad = tmp_path / "bad.yaml"
    bad.write_text("keyvector_scales: [1, 2, oops")
    with pytest.raises(ConfigError, match="bad.yaml"):
        tuning.load(bad, "mimic")
    assert tuning.get("mimic")[2] == pytest.approx(1.3)  # unchanged


def test_session_applies_new_scales_on_the_next_frame(real_pose_sequence):
    from lad_core.studio.session import TeleopSession

    session = TeleopSession(robots=["mimic", "gripper"])
    pose = real_pose_sequence[300]
    before = session.process(_tracked(pose)).robots["mimic"]
    scales = session.scales("mimic")
    scales[:5] *= 1.6  # robot palm->tip keyvectors count for more: the fingers must curl to match
    session.set_scales("mimic", scales)
    session.retargeters["mimic"].reset()
    after = session.process(_tracked(pose, 1)).robots["mimic"]
    assert np.allclose(session.retargeters["mimic"].scales, scales)
    assert np.abs(after.qpos - before.qpos).max() > 0.05
    assert before.residuals.shape == (15,) and np.all(before.residuals >= 0)
    assert session.process(_tracked(pose, 2)).robots["gripper"].residuals is None


def test_training_run_reads_only_complete_metric_lines(tmp_path):
    run = TrainingRun.create("policy", tmp_path / "c.yaml", tmp_path / "out")
    run.metrics_path.parent.mkdir(parents=True)
    with open(run.metrics_path, "w") as f:
        f.write(json.dumps({"step": 1, "loss": 2.0}) + "\n" + '{"step": 2, "lo')
    assert [r["step"] for r in run.poll()] == [1]
    with open(run.metrics_path, "a") as f:
        f.write('ss": 1.5}\n')
    assert [r["loss"] for r in run.poll()] == [1.5]
    assert run.last_step == 2 and run.last_loss == 1.5


def test_run_history_survives_restarts_and_marks_orphans(tmp_path):
    history = RunHistory(tmp_path / "h.json")
    run = TrainingRun.create("latent", tmp_path / "c.yaml", tmp_path / "o")
    run.status = "running"
    history.add(run)
    again = RunHistory(tmp_path / "h.json")
    assert [(r.kind, r.status) for r in again.runs] == [("latent", "lost")]
    (tmp_path / "h.json").write_text("{not json")
    broken = RunHistory(tmp_path / "h.json")
    assert broken.runs == [] and "h.json" in broken.load_error


def test_validation_names_the_config_file_and_field(tmp_path):
    from lad_core.studio.training import load_training_config

    cfg = tmp_path / "typo.yaml"
    cfg.write_text("policy: {type: unet}\nrun: {stepz: 3}\n")
    with pytest.raises(ConfigError) as err:
        load_training_config("policy", cfg)
    assert "typo.yaml" in str(err.value)
