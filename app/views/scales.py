"""Scale tuning: 15 sliders with numeric fields per robot hand, residual bars and a keyvector overlay.

The panel edits a `ScaleTuning` model; the window forwards the model's "changed" events to the session, which uses
the new scales from its next frame on. The live bars/overlay are refreshed by `show_frame` from the window timer.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from lad_core.errors import LadError
from lad_core.kinematics import KEYVECTOR_NAMES

SLIDER_STEPS_PER_UNIT = 100
SCALE_RANGE = (0.2, 3.0)


class ScalePanel(QtWidgets.QWidget):
    error = QtCore.Signal(str)

    def __init__(self, tuning, parent=None):
        super().__init__(parent)
        self.tuning = tuning
        self._updating = False
        self.robot = QtWidgets.QComboBox()
        self.robot.addItems(tuning.names)
        self.robot.currentTextChanged.connect(self._load_robot)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Robot"))
        top.addWidget(self.robot)
        top.addStretch(1)
        self.buttons = {}
        for key, text, tip in (("undo", "Undo", "Ctrl+Z"), ("redo", "Redo", "Ctrl+Shift+Z"), ("reset", "Reset", ""),
                               ("load", "Load…", ""), ("save", "Save…", "")):
            b = QtWidgets.QPushButton(text)
            b.setToolTip(tip)
            b.setFocusPolicy(QtCore.Qt.NoFocus)
            top.addWidget(b)
            self.buttons[key] = b
        self.buttons["undo"].clicked.connect(self.undo)
        self.buttons["redo"].clicked.connect(self.redo)
        self.buttons["reset"].clicked.connect(lambda: self.tuning.reset(self.current))
        self.buttons["save"].clicked.connect(self._save_dialog)
        self.buttons["load"].clicked.connect(self._load_dialog)

        grid = QtWidgets.QGridLayout()
        self.sliders: list[QtWidgets.QSlider] = []
        self.fields: list[QtWidgets.QDoubleSpinBox] = []
        lo, hi = SCALE_RANGE
        for k, name in enumerate(KEYVECTOR_NAMES):
            s = QtWidgets.QSlider(QtCore.Qt.Horizontal)
            s.setRange(int(lo * SLIDER_STEPS_PER_UNIT), int(hi * SLIDER_STEPS_PER_UNIT))
            s.setFocusPolicy(QtCore.Qt.ClickFocus)
            f = QtWidgets.QDoubleSpinBox()
            f.setRange(lo, hi)
            f.setDecimals(3)
            f.setSingleStep(0.01)
            f.setKeyboardTracking(False)
            s.valueChanged.connect(lambda v, k=k: self._slider_moved(k, v))
            s.sliderReleased.connect(self.tuning.end_merge)
            f.valueChanged.connect(lambda v, k=k: self._field_changed(k, v))
            grid.addWidget(QtWidgets.QLabel(name), k, 0)
            grid.addWidget(s, k, 1)
            grid.addWidget(f, k, 2)
            self.sliders.append(s)
            self.fields.append(f)
        grid.setColumnStretch(1, 1)

        self.bars_plot = pg.PlotWidget(title="residual |v_H - s v_R| per keyvector (mm)")
        self.bars_plot.setMenuEnabled(False)
        self.bars = pg.BarGraphItem(x=np.arange(15), height=np.zeros(15), width=0.7, brush="#ff9f43")
        self.bars_plot.addItem(self.bars)
        self.bars_plot.getAxis("bottom").setTicks([[(k, str(k)) for k in range(15)]])
        self.overlay = pg.PlotWidget(title="palm→tip keyvectors: human (solid) vs scaled robot (dashed), y-z")
        self.overlay.setAspectLocked(True)
        self.overlay.setMenuEnabled(False)
        self.human_kv = self.overlay.plot(pen=pg.mkPen("#f0c8a0", width=3), connect="pairs")
        self.robot_kv = self.overlay.plot(pen=pg.mkPen("#7fb3ff", width=2, style=QtCore.Qt.DashLine), connect="pairs")
        self.overlay.setRange(xRange=(-0.1, 0.1), yRange=(-0.02, 0.2))
        self.status = QtWidgets.QLabel("")
        plots = QtWidgets.QVBoxLayout()
        plots.addWidget(self.bars_plot, 1)
        plots.addWidget(self.overlay, 1)
        body = QtWidgets.QHBoxLayout()
        body.addLayout(grid, 3)
        body.addLayout(plots, 2)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(body, 1)
        lay.addWidget(self.status)
        self._unsub = tuning.events.subscribe("changed", self._model_changed)
        QtGui.QShortcut(QtGui.QKeySequence.Undo, self, self.undo, context=QtCore.Qt.WidgetWithChildrenShortcut)
        QtGui.QShortcut(QtGui.QKeySequence("Ctrl+Shift+Z"), self, self.redo, context=QtCore.Qt.WidgetWithChildrenShortcut)
        if tuning.names:
            self._load_robot(tuning.names[0])
        else:
            self.status.setText("no robot hand with keyvector scales is registered")

    @property
    def current(self) -> str:
        return self.robot.currentText()

    # ------------------------------------------------------------------------------------------- model -> widgets
    def _load_robot(self, name: str) -> None:
        if name:
            self._show_values(self.tuning.get(name))
            self._update_buttons()

    def _show_values(self, values: np.ndarray) -> None:
        self._updating = True
        try:
            for k, v in enumerate(values):
                self.sliders[k].setValue(round(float(v) * SLIDER_STEPS_PER_UNIT))
                self.fields[k].setValue(float(v))
        finally:
            self._updating = False

    def _model_changed(self, name: str, values: np.ndarray) -> None:
        if name == self.current:
            self._show_values(values)
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.buttons["undo"].setEnabled(self.tuning.can_undo)
        self.buttons["redo"].setEnabled(self.tuning.can_redo)

    # ------------------------------------------------------------------------------------------- widgets -> model
    def _slider_moved(self, k: int, v: int) -> None:
        if not self._updating:
            self.tuning.set_one(self.current, k, v / SLIDER_STEPS_PER_UNIT, merge=self.sliders[k].isSliderDown())

    def _field_changed(self, k: int, v: float) -> None:
        if not self._updating:
            self.tuning.set_one(self.current, k, v, merge=False)

    def undo(self) -> None:
        self.tuning.undo()

    def redo(self) -> None:
        self.tuning.redo()

    def save_to(self, path: str) -> None:
        try:
            self.tuning.save(path, self.current)
            self.status.setText(f"saved {self.current} scales to {path}")
        except (LadError, OSError) as exc:
            self.error.emit(f"could not save scales: {exc}")

    def load_from(self, path: str) -> None:
        try:
            self.tuning.load(path, self.current)
            self.status.setText(f"loaded {self.current} scales from {path}")
        except (LadError, OSError) as exc:
            self.error.emit(f"could not load scales: {exc}")

    def _save_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save scales", f"{self.current}_scales.yaml", "YAML (*.yaml *.yml)")
        if path:
            self.save_to(path)

    def _load_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Load scales", "", "YAML (*.yaml *.yml)")
        if path:
            self.load_from(path)

    # ------------------------------------------------------------------------------------------- live
    def show_frame(self, frame) -> None:
        robot = frame.robots.get(self.current)
        if robot is None or robot.residuals is None or frame.human_keyvectors is None:
            return
        self.bars.setOpts(height=robot.residuals * 1e3)
        self.bars_plot.setYRange(0, max(5.0, float(robot.residuals.max() * 1e3) * 1.1), padding=0)

        def segs(kv):
            pts = np.zeros((10, 2))
            pts[1::2] = kv[:5][:, [1, 2]] * (-1, 1)
            return pts

        h, r = segs(frame.human_keyvectors), segs(robot.scaled_keyvectors)
        self.human_kv.setData(h[:, 0], h[:, 1])
        self.robot_kv.setData(r[:, 0], r[:, 1])

    def close_panel(self) -> None:
        self._unsub()
