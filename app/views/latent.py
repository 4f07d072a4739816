"""Latent inspector: load a latent model, drive one modality's input with sliders (gripper width, joint values, the
live hand, or a frame scrubber over a recording: an episode or a `lad track --out` file), edit the latent
dimensions, and see the decoded cross-reconstructions in every embodiment side by side (paper Fig. 3). A 2-D PCA
projection of encoded paired data, coloured by modality, marks the current latent; the SR/CR readouts and the
encoded -> decoded loss table come from the checkpoint's stored metrics.

Until a model is loaded the panel says what it needs and shows no data.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

from app.views.hands3d import DrawnHand, HandsFrame
from lad_core.studio.geometry import RobotGeometry, human_drawing

MODALITY_COLORS = {"human": "#f0c8a0", "faive": "#7fb3ff", "mimic": "#9be28f", "gripper": "#d0a0ff"}

NEEDS = ("No latent model loaded. Load a model folder written by <code>lad latent train CONFIG</code> "
         "(OUT/model) to drive one embodiment and see its cross-reconstructions in the others.")


class LatentPanel(QtWidgets.QWidget):
    error = QtCore.Signal(str)
    _projected = QtCore.Signal(object)
    _recording_encoded = QtCore.Signal(object)

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
        # frame scrubber over a recording (drives the human modality)
        self.sequence: np.ndarray | None = None
        self._recording_name = ""
        self.readouts: dict | None = None
        self.current_xy: np.ndarray | None = None
        self.scrub_box = QtWidgets.QGroupBox("recording (human input)")
        self.rec_btn = QtWidgets.QPushButton("Load recording…")
        self.rec_btn.clicked.connect(self._recording_dialog)
        self.scrubber = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.scrubber.setEnabled(False)
        self.scrubber.valueChanged.connect(lambda _v: self._scrubbed())
        self.frame_label = QtWidgets.QLabel("no recording")
        slay = QtWidgets.QVBoxLayout(self.scrub_box)
        slay.addWidget(self.rec_btn)
        slay.addWidget(self.scrubber)
        slay.addWidget(self.frame_label)
        # PCA projection and metric readouts
        import pyqtgraph as pg

        self.pca_plot = pg.PlotWidget(title="latent PCA (encoded pairs)")
        self.pca_plot.setMenuEnabled(False)
        self.pca_plot.addLegend(offset=(5, 5))
        self.pca_items: dict = {}
        self.current = pg.ScatterPlotItem(size=18, symbol="star", brush=pg.mkBrush("#ff3030"), pen=pg.mkPen("w"))
        self.current.setZValue(10)
        self.pca_plot.addItem(self.current)
        # A loaded recording's frames, encoded (worker thread) and projected: its path through the latent space.
        self.recording_path = pg.PlotDataItem(pen=pg.mkPen((255, 255, 255, 120), width=1), connect="finite")
        self.recording_path.setZValue(5)
        self.pca_plot.addItem(self.recording_path)
        self.recording_z: np.ndarray | None = None  # (N, Z), NaN rows where the recording has no hand
        self._path_thread: threading.Thread | None = None
        self._recording_encoded.connect(self._on_recording_encoded)
        self.projection = None
        self.projection_note = QtWidgets.QLabel("projection: load a model")
        self._pca_thread: threading.Thread | None = None
        self._projected.connect(self._on_projected)
        self.readout = QtWidgets.QLabel("SR/CR: load a model")
        self.readout.setStyleSheet("font-weight: bold")
        self.metrics_table = QtWidgets.QTableWidget(0, 0)
        self.metrics_table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.metrics_table.setToolTip("validation loss, rows encoded -> columns decoded (diagonal: SR)")
        controls = QtWidgets.QVBoxLayout()
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.load_btn)
        top.addWidget(QtWidgets.QLabel("drive"))
        top.addWidget(self.source, 1)
        controls.addLayout(top)
        controls.addWidget(self.live)
        controls.addWidget(self.scrub_box)
        controls.addWidget(self.inputs_box)
        controls.addWidget(self.latent_box)
        controls.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        inner = QtWidgets.QWidget()
        inner.setLayout(controls)
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(320)
        right = QtWidgets.QVBoxLayout()
        right.addLayout(self.view_holder, 3)
        bottom = QtWidgets.QHBoxLayout()
        pca_col = QtWidgets.QVBoxLayout()
        pca_col.addWidget(self.pca_plot, 1)
        pca_col.addWidget(self.projection_note)
        metrics_col = QtWidgets.QVBoxLayout()
        metrics_col.addWidget(self.readout)
        metrics_col.addWidget(self.metrics_table, 1)
        bottom.addLayout(pca_col, 3)
        bottom.addLayout(metrics_col, 2)
        right.addLayout(bottom, 2)
        body = QtWidgets.QHBoxLayout()
        body.addWidget(scroll, 1)
        body.addLayout(right, 2)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.info)
        lay.addLayout(body, 1)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for w in (self.source, self.live, self.inputs_box, self.latent_box, self.scrub_box):
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
        text = f"<b>{Path(path).name}</b>: embodiments {', '.join(model.embodiments)}, latent dim {model.latent_dim}"
        self.info.setText(text)
        self._show_metrics(model.meta)
        self._start_projection(model)
        self._encode_recording()  # a recording already loaded: its path in the new model's latent space
        if self.view is not None:
            self.view_holder.removeWidget(self.view)
            self.view.deleteLater()
        from app.views.orbit3d import OrbitHandsView

        self.view = OrbitHandsView(list(model.embodiments))  # 3D, painted: no OpenGL needed
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
            self.inputs_lay.addRow(QtWidgets.QLabel("the human modality follows the live hand, or a recording's scrubbed frame"))
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
        if name == "human" and self.sequence is not None and not self.live.isChecked():
            from lad_core.embodiments.human import encode_pose

            pose = self.sequence[self.scrubber.value()]
            if not np.isfinite(pose).all():
                self.frame_label.setText(self.frame_label.text() + " (no hand in this frame)")
                return
            x = encode_pose(pose).astype(np.float32)
        elif name == "human":
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

        out = HandsFrame()
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
                out.robots[m] = DrawnHand(self._geometry[m].draw(q))
        self.view.show_frame(out)
        self._mark_current()

    # ------------------------------------------------------------------------------------------- recording
    def _recording_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Recording", "",
                                                        "Recordings (*.h5 *.hdf5 *.npy)")
        if path:
            self.load_recording(path)

    def load_recording(self, path: str | Path) -> bool:
        """Scrub the frames of an episode / landmark file; the scrubbed frame drives the human modality."""
        if self.model is None or "human" not in self.model.embodiments:
            self.error.emit("latent: load a model with the human modality before a recording")
            return False
        try:
            from lad_core.studio.latent import read_human_sequence

            seq = read_human_sequence(path)
        except Exception as exc:  # noqa: BLE001 - named file and problem
            self.error.emit(f"latent: cannot read recording {path}: {exc}")
            return False
        if len(seq) == 0:
            self.error.emit(f"latent: recording {path} has no frames")
            return False
        self.sequence = seq
        self._recording_name = Path(path).name
        self.live.setChecked(False)
        self.source.setCurrentText("human")
        self.scrubber.blockSignals(True)
        self.scrubber.setRange(0, len(seq) - 1)
        self.scrubber.setValue(0)
        self.scrubber.blockSignals(False)
        self.scrubber.setEnabled(True)
        self._scrubbed()
        self._encode_recording()
        return True

    def _encode_recording(self) -> None:
        """Encodes every frame of the recording in a worker; the result is drawn as a path in the PCA plot."""
        self.recording_z = None
        self.recording_path.setData([], [])
        model, seq = self.model, self.sequence
        if model is None or seq is None or "human" not in model.embodiments:
            return

        def work():
            from lad_core.embodiments.human import encode_pose

            try:
                seen = np.isfinite(seq).all(axis=(1, 2))
                z = np.full((len(seq), model.latent_dim), np.nan)
                if seen.any():
                    z[seen] = np.asarray(model.encode("human", encode_pose(seq[seen]).astype(np.float32)))
                result = (model, seq, z)
            except Exception as exc:  # noqa: BLE001 - shown in the window
                result = (model, seq, exc)
            try:
                self._recording_encoded.emit(result)
            except RuntimeError:  # the panel was deleted meanwhile
                pass

        if self._path_thread is not None:
            self._path_thread.join(10.0)
        self._path_thread = threading.Thread(target=work, name="lad-studio-latent-path", daemon=True)
        self._path_thread.start()

    def _on_recording_encoded(self, result) -> None:
        model, seq, z = result
        if model is not self.model or seq is not self.sequence:
            return  # another model or recording was loaded meanwhile
        if isinstance(z, Exception):
            self.error.emit(f"latent: encoding recording {self._recording_name} failed: {z}")
            return
        self.recording_z = z
        self._draw_recording_path()

    def _draw_recording_path(self) -> None:
        if self.projection is None or self.recording_z is None:
            return
        xy = self.projection.project(self.recording_z)  # NaN rows stay NaN: the path breaks where no hand was seen
        self.recording_path.setData(xy[:, 0], xy[:, 1], connect="finite")

    def _scrubbed(self) -> None:
        if self.sequence is None:
            return
        self.frame_label.setText(f"{self._recording_name}: frame {self.scrubber.value() + 1} / {len(self.sequence)}")
        if self.source.currentText() == "human":
            self.live.setChecked(False)
            self._encode()

    # ------------------------------------------------------------------------------------------- projection
    def _start_projection(self, model) -> None:
        self.projection = None
        for item in self.pca_items.values():
            self.pca_plot.removeItem(item)
        self.pca_items = {}
        self.pca_plot.plotItem.legend.clear()
        self.current.setData(pos=np.zeros((0, 2)))
        self.projection_note.setText("projection: encoding paired data…")

        def work():
            from lad_core.studio.latent import LatentProjection, projection_data

            try:
                data, where = projection_data(model)
                result = (model, LatentProjection.fit(model, data), where)
            except Exception as exc:  # noqa: BLE001 - shown in the window
                result = (model, exc, "")
            try:
                self._projected.emit(result)
            except RuntimeError:  # the panel was deleted meanwhile
                pass

        self._pca_thread = threading.Thread(target=work, name="lad-studio-latent-pca", daemon=True)
        self._pca_thread.start()

    @property
    def projecting(self) -> bool:
        return self._pca_thread is not None and self._pca_thread.is_alive()

    def _on_projected(self, result) -> None:
        import pyqtgraph as pg

        model, proj, where = result
        if model is not self.model:
            return  # another model was loaded meanwhile
        if isinstance(proj, Exception):
            self.projection_note.setText("projection unavailable")
            self.error.emit(f"latent projection: {proj}")
            return
        self.projection = proj
        for m, pts in proj.points.items():
            item = pg.ScatterPlotItem(pos=pts, size=5, pen=None, name=m,
                                      brush=pg.mkBrush(MODALITY_COLORS.get(m, "#e0e0e0") + "a0"))
            self.pca_plot.addItem(item)
            self.pca_items[m] = item
        self.projection_note.setText(f"PCA of {where}: PC1 {proj.explained[0]:.0%}, PC2 {proj.explained[1]:.0%} "
                                     "of the variance; ★ current latent; white line: a loaded recording's frames")
        self._mark_current()
        self._draw_recording_path()

    def _mark_current(self) -> None:
        if self.projection is None or self.z is None:
            return
        self.current_xy = self.projection.project(self.z)
        self.current.setData(pos=self.current_xy[None, :])

    # ------------------------------------------------------------------------------------------- metrics
    def _show_metrics(self, meta) -> None:
        from lad_core.studio.latent import metric_readouts

        try:
            r = metric_readouts(meta)
        except Exception as exc:  # noqa: BLE001 - another metric layout: show it raw
            r = None
            self.readout.setText(f"metrics in an unknown layout: {json.dumps((meta or {}).get('metrics'))[:200]} "
                                 f"({exc})")
        if r is None:
            self.metrics_table.setRowCount(0)
            self.metrics_table.setColumnCount(0)
            if not self.readout.text().startswith("metrics in"):
                self.readout.setText("no SR/CR metrics stored in this checkpoint")
            self.readouts = None
            return
        self.readouts = r
        n = f" on {r['n']} validation tuples" if r.get("n") else ""
        self.readout.setText(f"SR {r['sr']:.4g} · CR {r['cr']:.4g} (mean validation loss{n})")
        names, mat = r["names"], r["matrix"]
        self.metrics_table.setRowCount(len(names))
        self.metrics_table.setColumnCount(len(names))
        self.metrics_table.setHorizontalHeaderLabels([f"→{m}" for m in names])
        self.metrics_table.setVerticalHeaderLabels(names)
        for i in range(len(names)):
            for j in range(len(names)):
                self.metrics_table.setItem(i, j, QtWidgets.QTableWidgetItem(f"{mat[i, j]:.3g}"))
        self.metrics_table.resizeColumnsToContents()

    def tick(self) -> None:
        """Called by the window timer while the panel is visible."""
        if self.model is not None and self.live.isChecked() and self.source.currentText() == "human":
            self._encode()

    def close_panel(self) -> None:
        if self._path_thread is not None:
            self._path_thread.join(10.0)
        if self._pca_thread is not None:
            self._pca_thread.join(10.0)
