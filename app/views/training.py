"""Training panel: choose a latent-model or policy config, validate it (off the UI thread), launch `lad KIND train`
as a subprocess (or copy the torchrun command), follow its loss curve and ETA, cancel it, browse the run history."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from lad_core.errors import LadError
from lad_core.studio.training import KINDS, RunHistory, TrainingRun


class TrainingPanel(QtWidgets.QWidget):
    error = QtCore.Signal(str)
    _validated = QtCore.Signal(object, object)  # run, error message or None

    def __init__(self, history_path: str | Path, runs_root: str | Path = "runs", parent=None):
        super().__init__(parent)
        self.history = RunHistory(history_path)
        self.runs_root = Path(runs_root)
        self.run: TrainingRun | None = None
        self.kind = QtWidgets.QComboBox()
        self.kind.addItems(KINDS)
        self.config = QtWidgets.QLineEdit()
        self.config.setPlaceholderText("training config YAML (resources/configs/...)")
        browse = QtWidgets.QPushButton("…")
        browse.clicked.connect(self._browse)
        self.out = QtWidgets.QLineEdit()
        self.out.setPlaceholderText("output folder (default: runs/KIND/CONFIG-NAME)")
        self.steps = QtWidgets.QSpinBox()
        self.steps.setRange(0, 10_000_000)
        self.steps.setSpecialValueText("from config")
        form = QtWidgets.QFormLayout()
        form.addRow("Kind", self.kind)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.config, 1)
        row.addWidget(browse)
        form.addRow("Config", row)
        form.addRow("Output", self.out)
        form.addRow("Steps (policy)", self.steps)
        self.launch_btn = QtWidgets.QPushButton("Validate && launch")
        self.launch_btn.clicked.connect(self.launch)
        self.cancel_btn = QtWidgets.QPushButton("Cancel run")
        self.cancel_btn.clicked.connect(self.cancel)
        self.cancel_btn.setEnabled(False)
        cmd_btn = QtWidgets.QPushButton("Show torchrun command")
        cmd_btn.clicked.connect(self._show_torchrun)
        bar = QtWidgets.QHBoxLayout()
        for b in (self.launch_btn, self.cancel_btn, cmd_btn):
            bar.addWidget(b)
        self.command = QtWidgets.QLineEdit()
        self.command.setReadOnly(True)
        self.progress = QtWidgets.QProgressBar()
        self.state = QtWidgets.QLabel("no run yet")
        self.curve_plot = pg.PlotWidget(title="training loss")
        self.curve_plot.setLabel("bottom", "step")
        self.curve_plot.setLogMode(y=True)
        self.curve = self.curve_plot.plot(pen=pg.mkPen("#ff9f43", width=2))
        self.table = QtWidgets.QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["kind", "config", "status", "step", "loss"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        left = QtWidgets.QVBoxLayout()
        left.addLayout(form)
        left.addLayout(bar)
        left.addWidget(self.command)
        left.addWidget(self.progress)
        left.addWidget(self.state)
        left.addWidget(QtWidgets.QLabel("Run history"))
        left.addWidget(self.table, 1)
        lay = QtWidgets.QHBoxLayout(self)
        lay.addLayout(left, 1)
        lay.addWidget(self.curve_plot, 1)
        self._validated.connect(self._after_validation)
        self._poll = QtCore.QTimer(self, interval=500, timeout=self.poll)
        self._refresh_table()
        if self.history.load_error:
            QtCore.QTimer.singleShot(0, lambda: self.error.emit(self.history.load_error))

    # ------------------------------------------------------------------------------------------- launch
    def _make_run(self) -> TrainingRun:
        config = self.config.text().strip()
        if not config:
            raise LadError("choose a training config YAML first")
        kind = self.kind.currentText()
        out = self.out.text().strip() or str(self.runs_root / kind / Path(config).stem)
        extra = ["--steps", str(self.steps.value())] if self.steps.value() and kind == "policy" else []
        if kind == "policy":
            extra.append("--no-progress")
        return TrainingRun.create(kind, config, out, extra)

    def launch(self) -> None:
        if self.run is not None and self.run.status == "running":
            self.error.emit("a training run is already running; cancel it first")
            return
        try:
            run = self._make_run()
        except LadError as exc:
            self.error.emit(f"training: {exc}")
            return
        self.launch_btn.setEnabled(False)
        self.state.setText(f"validating {run.config}…")

        def work():
            try:
                run.validate()
                self._validated.emit(run, None)
            except Exception as exc:  # noqa: BLE001 - any config problem goes to the window
                self._validated.emit(run, f"{type(exc).__name__}: {exc}")

        threading.Thread(target=work, name="lad-studio-validate", daemon=True).start()

    def _after_validation(self, run: TrainingRun, message: str | None) -> None:
        self.launch_btn.setEnabled(True)
        if message is not None:
            self.state.setText("config rejected")
            self.error.emit(f"training config rejected: {message}")
            return
        try:
            run.start()
        except OSError as exc:
            self.error.emit(f"training: cannot launch {run.command[0]}: {exc}")
            return
        self.run = run
        self.history.add(run)
        self.command.setText(" ".join(run.command))
        self.curve.setData([], [])
        self.cancel_btn.setEnabled(True)
        self.progress.setRange(0, run.total or 0)
        self._poll.start()
        self._refresh_table()
        self.state.setText(f"running (pid {run.pid}), metrics in {run.metrics_path}")

    def _show_torchrun(self) -> None:
        try:
            self.command.setText(self._make_run().torchrun_command())
        except LadError as exc:
            self.error.emit(f"training: {exc}")

    def cancel(self) -> None:
        if self.run is not None:
            self.run.cancel()
            self.poll()

    # ------------------------------------------------------------------------------------------- follow
    def poll(self) -> None:
        run = self.run
        if run is None:
            return
        new = run.poll()
        if new:
            steps = [r["step"] for r in run.rows if "loss" in r]
            losses = [max(float(r["loss"]), 1e-12) for r in run.rows if "loss" in r]
            self.curve.setData(steps, losses)
            if run.total:
                self.progress.setValue(min(run.last_step, run.total))
        eta = run.eta_seconds()
        loss = f", loss {run.last_loss:.4g}" if run.last_loss is not None else ""
        self.state.setText(f"{run.status}: step {run.last_step}/{run.total or '?'}{loss}"
                           + (f", ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}" if eta is not None else ""))
        if run.status != "running":
            self._poll.stop()
            self.cancel_btn.setEnabled(False)
            if run.status == "failed":
                self.error.emit(f"training run failed (exit {run.returncode}); log {run.log_path}:\n{run.tail_log(600)}")
            self.history.save()
            self._refresh_table()
        elif new:
            self._refresh_table()

    def _refresh_table(self) -> None:
        runs = self.history.runs[::-1]
        self.table.setRowCount(len(runs))
        for r, run in enumerate(runs):
            loss = f"{run.last_loss:.4g}" if run.last_loss is not None else ""
            for c, v in enumerate((run.kind, Path(run.config).name, run.status, run.last_step, loss)):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(str(v)))

    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Training config", "resources/configs", "YAML (*.yaml *.yml)")
        if path:
            self.config.setText(path)

    def close_panel(self) -> None:
        self._poll.stop()
        if self.run is not None and self.run.status == "running":
            self.run.cancel()
            self.run.poll()
        self.history.save()
