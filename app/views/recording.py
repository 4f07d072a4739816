"""Recording panel: start/stop/next/re-record/discard (buttons and, through the window, Space/Right/Left/Esc),
episode counter and timer, task and embodiment, the dataset's episode list with delete and replay (the window
draws `replay_frame()` in the hand views instead of the live hands while a replay runs), and the disk-space
warning."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from PySide6 import QtCore, QtWidgets

from app.views.hands3d import DrawnHand, HandsFrame
from lad_core.errors import LadError

SHORTCUTS = (("Space", "start recording"), ("Right", "save this episode (success) and start the next"),
             ("Left", "re-record (discard this take, or redo the last episode)"), ("Esc", "stop and save"))


@dataclass
class _Replay:
    name: str
    landmarks: np.ndarray | None  # (N, 21, 3) or None
    joints: np.ndarray  # (N, J)
    embodiment: str
    geometry: object
    fps: float
    t0: float
    frame: int = -1


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
        replay = QtWidgets.QPushButton("Replay selected in the hand views")
        replay.clicked.connect(self.replay_selected)
        self.replay_label = QtWidgets.QLabel("")
        self._replay: _Replay | None = None
        rows = QtWidgets.QHBoxLayout()
        rows.addWidget(delete)
        rows.addWidget(replay)
        rows.addWidget(self.replay_label, 1)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(bar)
        lay.addWidget(self.counter)
        lay.addWidget(self.disk)
        lay.addWidget(self.episodes, 1)
        lay.addLayout(rows)
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

    # ------------------------------------------------------------------------------------------- replay
    def replay_selected(self) -> None:
        rows = sorted({i.row() for i in self.episodes.selectedIndexes()})
        if rows:
            index = int(self.episodes.item(rows[0], 0).text())
            self.start_replay(self.model.recorder.dataset.path_for(index))

    def start_replay(self, path: str | Path) -> bool:
        """Replay a recorded episode (its human landmarks and its robot's joints) at its own speed."""
        from lad_core.episodes import read_episode
        from lad_core.studio.geometry import RobotGeometry

        try:
            data = read_episode(path)
            if len(data) == 0:
                raise ValueError("the episode has no frames")
            lm = data.observations.get("human_landmarks")
            geometry = RobotGeometry(data.info.embodiment)
        except Exception as exc:  # noqa: BLE001 - named file and problem, in the window
            self.error.emit(f"recording: cannot replay {path}: {exc}")
            return False
        self._replay = _Replay(Path(path).name, None if lm is None else np.asarray(lm, float).reshape(-1, 21, 3),
                               np.asarray(data.end_effector, float), data.info.embodiment, geometry,
                               float(data.info.fps or 30.0), time.monotonic())
        self.replay_label.setText(f"replaying {Path(path).name} ({len(data)} frames, {data.info.embodiment})")
        return True

    @property
    def replaying(self) -> bool:
        return self._replay is not None

    def stop_replay(self) -> None:
        if self._replay is not None:
            self.replay_label.setText(f"replayed {self._replay.name}")
        self._replay = None

    def replay_frame(self):
        """The replay's frame for now (a StudioFrame look-alike), or None once it has ended."""
        from lad_core.studio.geometry import human_drawing

        r = self._replay
        if r is None:
            return None
        i = int((time.monotonic() - r.t0) * r.fps)
        if i >= len(r.joints):
            self.stop_replay()
            return None
        r.frame = i
        frame = HandsFrame(robots={r.embodiment: DrawnHand(r.geometry.draw(r.joints[i]))})
        if r.landmarks is not None and np.isfinite(r.landmarks[i]).all():
            frame.human = human_drawing(r.landmarks[i])
        self.replay_label.setText(f"replaying {r.name}: frame {i + 1} / {len(r.joints)}")
        return frame

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
        self._replay = None
        self._timer.stop()
        for u in self._unsub:
            u()
        self.model.close()
