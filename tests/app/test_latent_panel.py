"""Latent inspector: says what it needs until a model is loaded; the input slider changes the decoded hands."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def test_latent_panel_needs_a_model_then_slider_changes_decoded_hand(qtbot, tmp_path):
    modeling = pytest.importorskip("lad_core.latent.modeling")
    import torch

    from app.views.latent import LatentPanel

    panel = LatentPanel()
    qtbot.addWidget(panel)
    errors = []
    panel.error.connect(errors.append)
    assert "load a model" in panel.info.text().lower() or "no latent model" in panel.info.text().lower()
    assert not panel.source.isEnabled() and panel.view is None  # no invented data before a model
    assert not panel.load(tmp_path / "missing")
    assert errors and "missing" in errors[-1]

    torch.manual_seed(0)  # an untrained model: the wiring, not the quality, is under test
    model = modeling.LatentActionModel({"gripper": 1, "mimic": 16}, 4, {"gripper": [16], "mimic": [32]})
    model.fit_normalization({"gripper": torch.rand(64, 1), "mimic": torch.rand(64, 16)})
    model.save(tmp_path / "model")
    assert panel.load(tmp_path / "model"), errors
    panel.source.setCurrentText("gripper")
    slider = panel.input_sliders[0][0]
    slider.setValue(0)
    closed = panel.decoded["mimic"].copy()
    slider.setValue(1000)
    opened = panel.decoded["mimic"].copy()
    assert closed.shape == (16,) and np.abs(opened - closed).max() > 1e-4
    panel.latent_sliders[0].setValue(0)
    assert np.abs(panel.decoded["mimic"] - opened).max() > 1e-6
    panel.close_panel()  # waits for the projection worker


def test_committed_model_readouts_projection_and_recording_scrubber(qtbot, tmp_path, shared_data):
    pytest.importorskip("lad_core.latent.modeling")
    import json
    from pathlib import Path

    from app.views.latent import LatentPanel

    ckpt = Path(__file__).resolve().parents[1] / "latent" / "data" / "latent_cpu_all"
    stored = json.loads((ckpt / "config.json").read_text())["meta"]["metrics"]
    panel = LatentPanel()
    qtbot.addWidget(panel)
    errors = []
    panel.error.connect(errors.append)
    assert panel.load(ckpt), errors
    # SR/CR from the checkpoint's stored validation metrics, and the encoded -> decoded table.
    assert f"SR {stored['summary']['sr']:.4g}" in panel.readout.text()
    assert f"CR {stored['summary']['cr']:.4g}" in panel.readout.text()
    names = panel.readouts["names"]
    assert panel.metrics_table.rowCount() == len(names) == 4
    i, j = names.index("gripper"), names.index("mimic")
    assert float(panel.metrics_table.item(i, j).text()) == pytest.approx(stored["val"]["loss"]["gripper->mimic"],
                                                                         rel=1e-2)
    # The PCA of encoded pairs, one colour per modality, with the current latent marked.
    qtbot.waitUntil(lambda: panel.projection is not None or bool(errors), timeout=60000)
    assert not errors, errors
    assert set(panel.pca_items) == {"human", "faive", "mimic", "gripper"}
    assert all(len(item.data) == 300 for item in panel.pca_items.values())
    panel.source.setCurrentText("gripper")
    panel.input_sliders[0][0].setValue(900)
    assert np.allclose(panel.current.data["x"][0], panel.projection.project(panel.z)[0])
    # A recording drives the human modality frame by frame.
    assert not panel.load_recording(tmp_path / "none.npy")
    assert "none.npy" in errors[-1]
    joints = shared_data / "poses" / "right_hand_video_sequence" / "joints.npy"
    assert panel.load_recording(joints), errors
    assert panel.source.currentText() == "human" and not panel.live.isChecked()
    assert panel.scrubber.maximum() == 620 and "frame 1 / 621" in panel.frame_label.text()
    panel.scrubber.setValue(300)
    z300, mark300, faive300 = panel.z.copy(), panel.current_xy.copy(), panel.decoded["faive"].copy()
    panel.scrubber.setValue(20)
    assert "frame 21 / 621" in panel.frame_label.text()
    assert np.abs(panel.z - z300).max() > 1e-3 and np.abs(panel.current_xy - mark300).max() > 1e-4
    assert np.abs(panel.decoded["faive"] - faive300).max() > 1e-3
    # The recording's frames as a path in the PCA plot, broken where no hand was seen; the star lies on it.
    qtbot.waitUntil(lambda: panel.recording_z is not None or len(errors) > 2, timeout=30000)
    x, y = panel.recording_path.getData()
    seen = np.isfinite(np.load(joints)).all(axis=(1, 2))
    assert len(x) == 621 and np.array_equal(np.isfinite(x), seen)
    assert np.allclose((x[20], y[20]), panel.current_xy, atol=1e-5)
    assert np.allclose((x[300], y[300]), mark300, atol=1e-5)
    assert np.ptp(x[seen]) > 0.05 * np.ptp(panel.pca_items["human"].data["x"])  # a path, not one point
    panel.close_panel()
