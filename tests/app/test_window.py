"""The studio window on the synthetic default: live views, scale sliders, recording shortcuts, training, bad input."""

from __future__ import annotations

import time

import numpy as np
import pytest
import yaml
from PySide6 import QtCore

pytestmark = pytest.mark.gui


def test_window_opens_on_the_synthetic_default_and_updates_live(make_window, qtbot):
    w = make_window()
    qtbot.waitUntil(lambda: w._frames_shown >= 5, timeout=15000)
    assert w.session.robots == sorted(w.session.robots) or set(w.session.robots) >= {"faive", "mimic", "gripper"}
    assert {"faive", "mimic", "gripper"} <= set(w.session.robots)
    assert w.hands.names[0] == "human"
    assert w.camera.state.text().startswith("tracking")
    assert "fps" in w.fps_label.text() and float(w.fps_label.text().split()[1]) > 5
    assert "latency" in w.latency_label.text()
    assert not w.errors.isVisible()
    frame = w.session.latest()
    assert set(frame.robots) == set(w.session.robots)


def test_moving_a_scale_slider_changes_the_retargeted_joints(make_window, qtbot, real_pose_sequence):
    from lad_core.tracking.types import TrackedFrame

    w = make_window(autostart=False)
    w.scales.robot.setCurrentText("mimic")
    pose = real_pose_sequence[300].astype(np.float64)
    tracked = TrackedFrame(index=0, timestamp=0.0, present=True, lost=False, time_since_loss=0.0, canonical=pose)
    before = w.session.process(tracked).robots["mimic"].qpos
    slider = w.scales.sliders[1]  # palm->index
    slider.setValue(slider.value() + 60)
    assert w.scales.fields[1].value() == pytest.approx(slider.value() / 100)
    w.session.retargeters["mimic"].reset()
    after = w.session.process(tracked).robots["mimic"].qpos
    assert w.session.retargeters["mimic"].scales[1] == pytest.approx(slider.value() / 100)
    index = [i for i, n in enumerate(w.session.retargeters["mimic"].spec.joint_names) if n.startswith("index")]
    assert np.abs(after[index] - before[index]).max() > 0.02
    w.scales.undo()
    assert w.session.scales("mimic")[1] == pytest.approx(w.tuning.default("mimic")[1])


def test_recording_shortcuts_write_episode_files(make_window, qtbot, tmp_path):
    from PySide6.QtTest import QTest

    from lad_core.episodes import read_episode

    w = make_window()
    w.recording.embodiment.setCurrentText("mimic")
    w.tabs.setCurrentWidget(w.recording)
    w.raise_()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=5000)  # window shortcuts need the active window
    qtbot.waitUntil(lambda: w._frames_shown >= 3, timeout=15000)
    QTest.keyClick(w, QtCore.Qt.Key_Space)
    assert w.recording.model.is_recording
    qtbot.wait(1000)
    QTest.keyClick(w, QtCore.Qt.Key_Right)  # save episode 0, start episode 1
    qtbot.wait(500)
    QTest.keyClick(w, QtCore.Qt.Key_Escape)
    assert not w.recording.model.is_recording
    files = sorted((tmp_path / "episodes").glob("episode_*.h5"))
    assert [f.name for f in files] == ["episode_000000.h5", "episode_000001.h5"]
    ep = read_episode(files[0])
    assert ep.info.embodiment == "mimic" and len(ep) >= 5
    assert ep.observations["human_landmarks"].shape[1] == 63 and ep.end_effector.shape[1] == 16
    assert len(ep.info.retarget_scales) == 15
    assert w.recording.episodes.rowCount() == 2
    # In the rollout context Space is the e-stop, never a recording start.
    w.tabs.setCurrentWidget(w.rollout)
    QTest.keyClick(w, QtCore.Qt.Key_Space)
    assert not w.recording.model.is_recording
    # A studio recording replays its wrist motion from the robot's pose; Esc there is the e-stop too.
    assert w.rollout.load(str(files[0]), backend="kinematic", embodiment="mimic")
    qtbot.waitUntil(lambda: w.rollout.controller is not None, timeout=15000)
    w.rollout.command("start")
    qtbot.waitUntil(lambda: len(w.rollout.controller.steps) > 0, timeout=5000)
    QTest.keyClick(w, QtCore.Qt.Key_Escape)
    qtbot.waitUntil(lambda: w.rollout.controller.state == "estopped", timeout=3000)
    assert w.rollout.controller.last_estop_latency[0] <= 1


def test_bad_source_and_bad_yaml_are_shown_in_the_window(make_window, qtbot, tmp_path):
    w = make_window()
    assert not w.start_source("video:/no/such/clip.mp4")
    assert w.errors.isVisible() and "clip.mp4" in w.errors.label.text()
    bad = tmp_path / "bad.yaml"
    bad.write_text("keyvector_scales: [1, 2")
    w.scales.load_from(str(bad))
    assert "bad.yaml" in w.errors.label.text()
    assert w.start_source("synthetic")  # the app keeps running on another source
    seq = w._last_seq
    qtbot.waitUntil(lambda: w._last_seq > seq + 3, timeout=15000)


def test_training_panel_launches_a_tiny_run_and_draws_its_curve(make_window, qtbot, tmp_path):
    from lad_core.paths import resource

    w = make_window(autostart=False)
    cfg = yaml.safe_load(resource("configs", "policy", "unet_lowdim_cpu.yaml").read_text())
    cfg["policy"].update(down_dims=[16, 32], diffusion_step_embed_dim=16, n_groups=4)
    for d in cfg["datasets"]:
        d["synthetic"].update(episodes=4, length=30)
    cfg["run"].update(steps=5, batch_size=8, log_every=1, checkpoint_every=5, num_threads=1)
    cfg["optim"]["warmup_steps"] = 1
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_path / "typo.yaml").write_text(yaml.safe_dump({**cfg, "run": {**cfg["run"], "stepz": 3}}))
    panel = w.training
    panel.kind.setCurrentText("policy")
    panel.config.setText(str(tmp_path / "typo.yaml"))
    panel.launch()
    qtbot.waitUntil(lambda: "typo.yaml" in w.errors.label.text(), timeout=30000)
    assert panel.run is None
    panel.config.setText(str(tmp_path / "tiny.yaml"))
    panel.out.setText(str(tmp_path / "run"))
    panel.launch()
    qtbot.waitUntil(lambda: panel.run is not None and panel.run.status != "running", timeout=120000)
    assert panel.run.status == "finished", panel.run.tail_log()
    xs, ys = panel.curve.getData()
    assert list(xs) == [1, 2, 3, 4, 5] and np.all(np.isfinite(ys))
    assert panel.progress.value() == 5
    from lad_core.studio.training import RunHistory

    assert [r.status for r in RunHistory(tmp_path / "runs.json").runs] == ["finished"]


def test_a_plugin_that_failed_to_load_is_shown_and_the_studio_keeps_running(make_window, qtbot, monkeypatch):
    from lad_core import plugins

    broken = plugins.PluginFailure("lad.robot_backends", "acme_arm", "acme.driver:create", "acme-robots",
                                   "ModuleNotFoundError: No module named 'acme'", "")  # fmt: skip
    monkeypatch.setattr(plugins, "all_failures", lambda: [broken])
    w = make_window()
    qtbot.waitUntil(lambda: "acme_arm" in w.errors.label.text(), timeout=5000)
    assert "No module named 'acme'" in w.errors.label.text()
    qtbot.waitUntil(lambda: w._frames_shown >= 2, timeout=15000)  # live view still updates
