"""Recording panel: start/stop/next/re-record/discard (buttons and, through the window, Space/Right/Left/Esc),
episode counter and timer, task and embodiment, the dataset's episode list with delete, and the disk-space warning."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from lad_core.errors import LadError

SHORTCUTS = (("Space", "start recording"), ("Right", "save this episode (success) and start the next"),
             ("Left", "re-record (discard this take, or redo the last episode)"), ("Esc", "stop and save"))


class RecordingPanel(QtWidgets.QWidget):
    error = QtCore.Signal(str)
    _recorder_event = QtCore.Signal(object)

    def __init__(self, session, root: str, task: str = "teleop", embodiment: str | None = None, parent=None):
        super().__init__(parent)
        from lad_core.studio.recording import TeleopRecording

        self.session = session
        emb = embodiment if embodiment in session.robots else session.robots[0]
        self.model = TeleopRecording(session, root, embodiment=emb, task=task)
        self._recorder_event.connect(self._on_recorder_event)
        self._unsub = [self.model.events.subscribe("recorder", self._recorder_event.emit),
                       self.model.events.subscribe("stopped_on_loss", lambda s: self._recorder_event.emit(("lost", s)))]

        self.root = QtWidgets.QLineEdit(str(root))
        browse = QtWidgets.QPushButton("…")
        browse.clicked.connect(self._browse)
        self.task = QtWidgets.QLineEdit(task)
        self.embodiment = QtWidgets.QComboBox()
        self.embodiment.addItems(session.robots)
        self.embodiment.setCurrentText(emb)
        for w in (self.root, self.task):
            w.editingFinished.connect(self._configure)
        self.embodiment.currentTextChanged.connect(lambda _: self._configure())
        form = QtWidgets.QFormLayout()
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.root, 1)
        row.addWidget(browse)
        form.addRow("Dataset folder", row)
        form.addRow("Task", self.task)
        form.addRow("Embodiment", self.embodiment)

        self.buttons = {}
        bar = QtWidgets.QHBoxLayout()
        for key, text in (("start", "● Start (Space)"), ("next", "Next ▶ (Right)"), ("rerecord", "◀ Re-record (Left)"),
                          ("stop", "■ Stop (Esc)"), ("discard", "Discard")):
            b = QtWidgets.QPushButton(text)
            b.setFocusPolicy(QtCore.Qt.NoFocus)  # keyboard shortcuts stay with the window
            b.clicked.connect(getattr(self, key))
            bar.addWidget(b)
            self.buttons[key] = b
        self.counter = QtWidgets.QLabel()
        self.counter.setStyleSheet("font-size: 16pt; font-weight: bold")
        self.disk = QtWidgets.QLabel()
        self.episodes = QtWidgets.QTableWidget(0, 5)
        self.episodes.setHorizontalHeaderLabels(["episode", "frames", "seconds", "success", "embodiment"])
        self.episodes.horizontalHeader().setStretchLastSection(True)
        self.episodes.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.episodes.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        delete = QtWidgets.QPushButton("Delete selected")
        delete.clicked.connect(self.delete_selected)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(bar)
        lay.addWidget(self.counter)
        lay.addWidget(self.disk)
        lay.addWidget(self.episodes, 1)
        lay.addWidget(delete)
        self._timer = QtCore.QTimer(self, interval=200, timeout=self._tick)
        self._timer.start()
        self.refresh_list()
        self._tick()

    # ------------------------------------------------------------------------------------------- actions
    def _run(self, what: str, fn):
        try:
            out = fn()
        except (LadError, OSError) as exc:
            self.error.emit(f"recording: cannot {what}: {exc}")
            return None
        self.refresh_list()
        self._tick()
        return out

    def start(self) -> None:
        if not self.model.is_recording:
            self._run("start", self.model.start)

    def stop(self) -> None:
        if self.model.is_recording:
            self._run("stop", lambda: self.model.stop(success=True))

    def next(self) -> None:
        if self.model.is_recording:
            self._run("go to the next episode", lambda: self.model.next(success=True))
        else:
            self.start()

    def rerecord(self) -> None:
        self._run("re-record", self.model.rerecord)

    def discard(self) -> None:
        if self.model.is_recording:
            self._run("discard", self.model.discard)

    def delete_selected(self) -> None:
        rows = sorted({i.row() for i in self.episodes.selectedIndexes()})
        for r in rows:
            index = int(self.episodes.item(r, 0).text())
            self._run(f"delete episode {index}", lambda index=index: self.model.delete(index))

    def _configure(self) -> None:
        try:
            self.model.configure(root=self.root.text().strip() or None, task=self.task.text().strip() or None,
                                 embodiment=self.embodiment.currentText())
        except (LadError, OSError) as exc:
            self.error.emit(f"recording: {exc}")
        self.refresh_list()

    def _browse(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Dataset folder", self.root.text())
        if path:
            self.root.setText(path)
            self._configure()

    # ------------------------------------------------------------------------------------------- display
    def _on_recorder_event(self, ev) -> None:
        if isinstance(ev, tuple) and ev[0] == "lost":
            self.error.emit(f"the source stopped during episode {ev[1].index}; {ev[1].frames} frames were saved to {ev[1].path}")
        elif ev.kind in ("error", "low_disk"):
            self.error.emit(f"recording: {ev.message}")
        self.refresh_list()
        self._tick()

    def refresh_list(self) -> None:
        try:
            entries = self.model.episodes()
        except (LadError, OSError) as exc:
            self.error.emit(f"recording: cannot list {self.model.root}: {exc}")
            entries = []
        self.episodes.setRowCount(len(entries))
        for r, e in enumerate(entries):
            values = (e.index, e.length, f"{e.duration_s:.1f}", "yes" if e.success else "no", e.embodiment or (e.error or ""))
            for c, v in enumerate(values):
                self.episodes.setItem(r, c, QtWidgets.QTableWidgetItem(str(v)))

    def _tick(self) -> None:
        rec = self.model.recorder
        if self.model.is_recording:
            self.counter.setText(f"● REC episode {rec.current_index}   {self.model.elapsed:5.1f} s")
            self.counter.setStyleSheet("font-size: 16pt; font-weight: bold; color: #e03030")
        else:
            self.counter.setText(f"ready: next episode {rec.next_index}")
            self.counter.setStyleSheet("font-size: 16pt; font-weight: bold")
        for key in ("stop", "discard"):
            self.buttons[key].setEnabled(self.model.is_recording)
        try:
            disk = rec.disk_status()
        except OSError:
            return
        text = f"{disk.free_bytes / 2**30:.1f} GiB free in {Path(self.model.root)}"
        if disk.minutes_left is not None:
            text += f" (~{disk.minutes_left:.0f} min of recording)"
        self.disk.setText(("⚠ LOW DISK SPACE: " if disk.low else "") + text)
        self.disk.setStyleSheet("color: #e03030; font-weight: bold" if disk.low else "")

    def close_panel(self) -> None:
        self._timer.stop()
        for u in self._unsub:
            u()
        self.model.close()
