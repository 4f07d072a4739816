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
