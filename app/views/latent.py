"""Latent inspector: load a latent model, drive one modality's input with sliders (gripper width, joint values, or
the live hand for the human modality), edit the latent dimensions, and see the decoded cross-reconstructions in
every embodiment side by side (paper Fig. 3). SR/CR figures come from the checkpoint's stored metrics.

Until a model is loaded the panel says what it needs and shows no data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

from lad_core.studio.geometry import HandDrawing, RobotGeometry, human_drawing

NEEDS = ("No latent model loaded. Load a model folder written by <code>lad latent train CONFIG</code> "
         "(OUT/model) to drive one embodiment and see its cross-reconstructions in the others.")


@dataclass
class _Decoded:
    """Duck-typed like a StudioFrame for the hands view."""

    human: HandDrawing | None = None
    robots: dict = field(default_factory=dict)


@dataclass
class _Robot:
    drawing: HandDrawing


class LatentPanel(QtWidgets.QWidget):
    error = QtCore.Signal(str)

    def __init__(self, session=None, parent=None):
        super().__init__(parent)
        self.session = session
        self.model = None
        self.z: np.ndarray | None = None
        self.decoded: dict[str, np.ndarray] = {}
        self.load_btn = QtWidgets.QPushButton("Load latent model…")
        self.load_btn.clicked.connect(self._load_dialog)
        self.info = QtWidgets.QLabel(NEEDS)
        self.info.setWordWrap(True)
        self.source = QtWidgets.QComboBox()
        self.source.currentTextChanged.connect(self._build_inputs)
        self.live = QtWidgets.QCheckBox("follow the live hand")
        self.live.toggled.connect(lambda on: self._encode())
        self.inputs_box = QtWidgets.QGroupBox("input")
        self.inputs_lay = QtWidgets.QFormLayout(self.inputs_box)
        self.latent_box = QtWidgets.QGroupBox("latent dimensions")
        self.latent_lay = QtWidgets.QFormLayout(self.latent_box)
        self.input_sliders: list[tuple[QtWidgets.QSlider, float, float]] = []
        self.latent_sliders: list[QtWidgets.QSlider] = []
        self.view = None
        self.view_holder = QtWidgets.QVBoxLayout()
        controls = QtWidgets.QVBoxLayout()
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.load_btn)
        top.addWidget(QtWidgets.QLabel("drive"))
        top.addWidget(self.source, 1)
        controls.addLayout(top)
        controls.addWidget(self.live)
        controls.addWidget(self.inputs_box)
        controls.addWidget(self.latent_box)
        controls.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        inner = QtWidgets.QWidget()
        inner.setLayout(controls)
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        body = QtWidgets.QHBoxLayout()
        body.addWidget(scroll, 1)
        body.addLayout(self.view_holder, 2)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.info)
        lay.addLayout(body, 1)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for w in (self.source, self.live, self.inputs_box, self.latent_box):
            w.setEnabled(on)

    # ------------------------------------------------------------------------------------------- loading
    def _load_dialog(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Latent model folder")
        if path:
            self.load(path)

    def load(self, path: str | Path) -> bool:
        try:
            from lad_core.latent.modeling import LatentActionModel

            model = LatentActionModel.load(path)
        except Exception as exc:  # noqa: BLE001 - wrong folder, other embodiments, missing module: say so
            self.error.emit(f"cannot load latent model {path}: {exc}")
            return False
        self.model = model
        self._geometry = {m: RobotGeometry(m) for m in model.embodiments if m != "human"}
        metrics = (model.meta or {}).get("metrics") or (model.meta or {}).get("final_metrics")
        text = f"<b>{Path(path).name}</b>: embodiments {', '.join(model.embodiments)}, latent dim {model.latent_dim}"
        text += f"<br>metrics: {_metrics_text(metrics)}" if metrics else "<br>no SR/CR metrics stored in this checkpoint"
        self.info.setText(text)
        if self.view is not None:
            self.view_holder.removeWidget(self.view)
            self.view.deleteLater()
        from app.views.hands3d import HandsView2D

        self.view = HandsView2D(list(model.embodiments))
        self.view_holder.addWidget(self.view)
        self._build_latent_sliders()
        self.source.blockSignals(True)
        self.source.clear()
        self.source.addItems(list(model.embodiments))
        self.source.blockSignals(False)
        self._set_enabled(True)
        self._build_inputs(self.source.currentText())
        return True

    # ------------------------------------------------------------------------------------------- inputs
    def _clear(self, layout: QtWidgets.QFormLayout) -> None:
        while layout.rowCount():
            layout.removeRow(0)

    def _slider(self, value01: float, slot) -> QtWidgets.QSlider:
        s = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        s.setRange(0, 1000)
        s.setValue(int(round(value01 * 1000)))
        s.valueChanged.connect(slot)
        return s

    def _build_inputs(self, name: str) -> None:
        if self.model is None or not name:
            return
        self._clear(self.inputs_lay)
        self.input_sliders = []
        self.live.setVisible(name == "human")
        if name == "human":
            self.inputs_lay.addRow(QtWidgets.QLabel("the human modality is driven by the live hand"))
            self.live.setChecked(True)
        else:
            spec = self._geometry[name].kin.spec
            lower, upper = spec.lower, spec.upper
            if spec.kind == "gripper":
                labels, lower, upper = ["width"], np.zeros(1), np.ones(1)
            else:
                labels = list(spec.joint_names)
            for label, lo, hi in zip(labels, lower, upper):
                s = self._slider(0.5 if spec.kind == "gripper" else 0.0, lambda _v: self._encode())
                self.inputs_lay.addRow(label, s)
                self.input_sliders.append((s, float(lo), float(hi)))
        self._encode()

    def _build_latent_sliders(self) -> None:
        self._clear(self.latent_lay)
        self.latent_sliders = []
        for i in range(self.model.latent_dim):
            s = self._slider(0.5, lambda _v: self._latent_moved())
            self.latent_lay.addRow(f"z{i}", s)
            self.latent_sliders.append(s)

    def input_values(self) -> np.ndarray:
        return np.array([lo + (hi - lo) * s.value() / 1000 for s, lo, hi in self.input_sliders])

    def _encode(self) -> None:
        if self.model is None:
            return
        name = self.source.currentText()
        if name == "human":
            frame = self.session.latest() if self.session is not None else None
            if frame is None or frame.tracked.theta is None:
                return
            x = np.asarray(frame.tracked.theta, dtype=np.float32)
        else:
            x = self.input_values().astype(np.float32)
        try:
            self.z = np.asarray(self.model.encode(name, x), dtype=np.float32)
        except Exception as exc:  # noqa: BLE001
            self.error.emit(f"latent encode failed: {exc}")
            return
        self._show_z()
        self._decode()

    def _show_z(self) -> None:
        for s, v in zip(self.latent_sliders, self.z):
            s.blockSignals(True)
            s.setValue(int(round((np.clip(v, -1, 1) + 1) * 500)))  # unit latents: components in [-1, 1]
            s.blockSignals(False)

    def _latent_moved(self) -> None:
        if self.model is None:
            return
        z = np.array([s.value() / 500 - 1 for s in self.latent_sliders], dtype=np.float32)
        self.z = z / max(float(np.linalg.norm(z)), 1e-6)  # the model's latents lie on the unit sphere
        self._decode()

    def _decode(self) -> None:
        from lad_core.embodiments.human import decode_pose

        out = _Decoded()
        for m in self.model.embodiments:
            try:
                q = np.asarray(self.model.decode(m, self.z))
            except Exception as exc:  # noqa: BLE001
                self.error.emit(f"latent decode to {m} failed: {exc}")
                return
            self.decoded[m] = q
            if m == "human":
                out.human = human_drawing(decode_pose(q))
            else:
                out.robots[m] = _Robot(self._geometry[m].draw(q))
        self.view.show_frame(out)

    def tick(self) -> None:
        """Called by the window timer while the panel is visible."""
        if self.model is not None and self.live.isChecked() and self.source.currentText() == "human":
            self._encode()

    def close_panel(self) -> None:
        pass


def _metrics_text(metrics) -> str:
    try:
        from lad_core.latent.metrics import sr_cr_summary

        summary = sr_cr_summary(metrics)
        return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items())
    except Exception:  # noqa: BLE001 - older/other metric layouts: show them raw
        return json.dumps(metrics)[:300]
