"""The LAD Studio main window: source choice, camera + landmark view, the live hand views, the panels (scales,
recording, training, latent, rollout), an always-visible e-stop, a status bar and an error bar.

The UI thread only draws: tracking and retargeting run on the session's threads, and a timer (~30 Hz) shows the
newest `StudioFrame`. Errors from any thread reach the error bar through queued signals.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from app.bridge import SessionBridge
from app.views.camera import CameraView
from app.views.hands3d import make_hands_view
from app.views.help import ShortcutsDialog
from app.views.latent import LatentPanel
from app.views.recording import RecordingPanel
from app.views.rollout import RolloutPanel
from app.views.scales import ScalePanel
from app.views.training import TrainingPanel
from lad_core.studio.scales import ScaleTuning

log = logging.getLogger(__name__)
REFRESH_MS = 30


class ErrorBar(QtWidgets.QFrame):
    """The latest error, in the window; the full list stays in the tooltip and `messages`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setStyleSheet("QFrame { background: #5a1d1d; } QLabel { color: white; }")
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        close = QtWidgets.QPushButton("Dismiss")
        close.setFocusPolicy(QtCore.Qt.NoFocus)
        close.clicked.connect(self.hide)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.label, 1)
        lay.addWidget(close)
        self.messages: list[str] = []
        self.hide()

    def show_error(self, message: str) -> None:
        self.messages.append(message)
        self.label.setText(f"⚠ {message}")
        self.setToolTip("\n".join(self.messages[-20:]))
        self.show()


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, session, settings: QtCore.QSettings, *, data_dir: str | Path | None = None,
                 history_path: str | Path | None = None, view: str | None = None, autostart: bool = True):
        super().__init__()
        self.setWindowTitle("LAD Studio")
        self.session = session
        self.settings = settings
        self.bridge = SessionBridge(session, self)
        self.errors = ErrorBar()
        self.bridge.error.connect(self.show_error)
        self.bridge.started.connect(lambda d: self.statusBar().showMessage(f"source: {d}", 4000))
        self.bridge.finished.connect(self._source_finished)
        for name, msg in session.build_errors.items():
            QtCore.QTimer.singleShot(0, lambda n=name, m=msg: self.show_error(f"embodiment {n} skipped: {m}"))
        QtCore.QTimer.singleShot(0, self._report_plugin_failures)

        # views
        self.camera = CameraView()
        self.hands, fallback = make_hands_view(["human", *session.robots], prefer=view)
        self.view_note = fallback
        if fallback:
            QtCore.QTimer.singleShot(0, lambda: self.statusBar().showMessage(fallback, 15000))
        self.tuning = ScaleTuning(session.default_scales())
        self._unsub_tuning = self.tuning.events.subscribe("changed", session.set_scales)
        self.scales = ScalePanel(self.tuning)
        data_dir = data_dir or settings.value("recording/root", str(Path.cwd() / "data" / "episodes"))
        self.recording = RecordingPanel(session, str(data_dir), task=str(settings.value("recording/task", "teleop")),
                                        embodiment=settings.value("recording/embodiment"))
        history = history_path or Path(QtCore.QStandardPaths.writableLocation(
            QtCore.QStandardPaths.AppDataLocation) or Path.home() / ".lad-studio") / "training_runs.json"
        self.training = TrainingPanel(history)
        self.latent = LatentPanel(session)
        self.rollout = RolloutPanel(session, out_dir=Path(str(data_dir)).parent / "rollouts", settings=settings)
        self.tabs = QtWidgets.QTabWidget()
        for panel, title in ((self.scales, "Scales"), (self.recording, "Recording"), (self.training, "Training"),
                             (self.latent, "Latent"), (self.rollout, "Rollout")):
            panel.error.connect(self.show_error)
            self.tabs.addTab(panel, title)
        self.top = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        self.top.addWidget(self.camera)
        self.top.addWidget(self.hands)
        self.top.addWidget(self.rollout.scene)  # hidden until a sim rollout is loaded
        self.top.setStretchFactor(0, 1)
        self.top.setStretchFactor(1, 3)
        self.top.setStretchFactor(2, 1)
        self.split = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        self.split.addWidget(self.top)
        self.split.addWidget(self.tabs)
        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.errors)
        lay.addWidget(self.split, 1)
        self.setCentralWidget(central)
        self._build_toolbar()
        self._build_status()
        self._build_shortcuts()
        self._restore_settings()

        self._last_seq = -1
        self._frames_shown = 0
        self.max_gap_ms = 0.0
        self._last_tick = None
        self.timer = QtCore.QTimer(self, interval=REFRESH_MS, timeout=self.refresh)
        self.timer.setTimerType(QtCore.Qt.PreciseTimer)
        self.timer.start()
        if autostart:
            self.start_source(session.source_spec)

    # ------------------------------------------------------------------------------------------- chrome
    def _build_toolbar(self) -> None:
        tb = self.addToolBar("main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.addWidget(QtWidgets.QLabel(" Source "))
        self.source_box = QtWidgets.QComboBox()
        self.source_box.setEditable(True)
        self.source_box.setMinimumWidth(260)
        self.source_box.addItems(["synthetic", "camera:0"])
        self.source_box.setCurrentText(self.session.source_spec)
        self.source_box.lineEdit().returnPressed.connect(lambda: self.start_source(self.source_box.currentText()))
        self.source_box.activated.connect(lambda _i: self.start_source(self.source_box.currentText()))
        tb.addWidget(self.source_box)
        tb.addAction("Open video…", self._open_video)
        tb.addAction("Restart", lambda: self.start_source(self.source_box.currentText()))
        tb.addSeparator()
        self.estop_button = QtWidgets.QPushButton("E-STOP")
        self.estop_button.setObjectName("estop")
        self.estop_button.setFocusPolicy(QtCore.Qt.NoFocus)
        self.estop_button.setStyleSheet("QPushButton { background: #c62828; color: white; font-weight: bold; "
                                        "font-size: 14pt; padding: 4px 18px; }")
        self.estop_button.setToolTip("Emergency stop (Ctrl+E; Space/Esc in the Rollout tab)")
        self.estop_button.clicked.connect(self.estop)
        tb.addWidget(self.estop_button)
        tb.addSeparator()
        tb.addAction("Help (F1)", self.show_help)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.fps_label = QtWidgets.QLabel("tracking – fps")
        self.view_label = QtWidgets.QLabel("3D – fps")
        self.latency_label = QtWidgets.QLabel("latency – ms")
        self.error_label = QtWidgets.QLabel("no errors")
        for w in (self.fps_label, self.view_label, self.latency_label, self.error_label):
            sb.addPermanentWidget(w)

    def _build_shortcuts(self) -> None:
        def sc(key, fn):
            s = QtGui.QShortcut(QtGui.QKeySequence(key), self, fn)
            s.setContext(QtCore.Qt.WindowShortcut)
            return s

        self.shortcuts = {
            "space": sc(QtCore.Qt.Key_Space, lambda: self.key_action("space")),
            "right": sc(QtCore.Qt.Key_Right, lambda: self.key_action("right")),
            "left": sc(QtCore.Qt.Key_Left, lambda: self.key_action("left")),
            "esc": sc(QtCore.Qt.Key_Escape, lambda: self.key_action("esc")),
            "estop": sc("Ctrl+E", self.estop),
            "help": sc(QtGui.QKeySequence.HelpContents, self.show_help),
            "quit": sc("Ctrl+Q", self.close),
        }
        for i in range(self.tabs.count()):
            sc(f"Ctrl+{i + 1}", lambda i=i: self.tabs.setCurrentIndex(i))

    def key_action(self, key: str) -> None:
        """Space/Right/Left/Esc: e-stop in the Rollout context, recording control elsewhere."""
        if self.tabs.currentWidget() is self.rollout or self.rollout.active:
            if key in ("space", "esc"):
                self.estop()
            return
        {"space": self.recording.start, "right": self.recording.next, "left": self.recording.rerecord,
         "esc": self.recording.stop}[key]()

    def estop(self) -> None:
        self.rollout.estop("studio")
        self.statusBar().showMessage("EMERGENCY STOP", 5000)

    def show_help(self) -> None:
        ShortcutsDialog(self).exec()

    def show_error(self, message: str) -> None:
        log.warning("%s", message)
        self.errors.show_error(message)
        self.error_label.setText(f"{len(self.errors.messages)} error(s)")
        self.error_label.setStyleSheet("color: #e03030")

    # ------------------------------------------------------------------------------------------- source
    def _report_plugin_failures(self) -> None:
        """Plugins that failed to load (any group) are shown, never fatal: the rest of the studio keeps working."""
        from lad_core.plugins import all_failures

        for failure in all_failures():
            self.show_error(f"plugin failed to load: {failure}")

    def start_source(self, spec: str) -> bool:
        spec = spec.strip()
        if self.recording.model.is_recording:
            self.recording.stop()
        ok = self.session.start(spec)
        if ok:
            self.settings.setValue("source", spec)
            self.source_box.setCurrentText(spec)
        return ok

    def _open_video(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Video", "", "Videos (*.mp4 *.avi *.mov *.mkv)")
        if path:
            self.source_box.setCurrentText(f"video:{path}")
            self.start_source(f"video:{path}")

    def _source_finished(self) -> None:
        if self.session.error is not None:
            self.fps_label.setText("source stopped")

    # ------------------------------------------------------------------------------------------- live
    def refresh(self) -> None:
        now = time.perf_counter()
        if self._last_tick is not None:
            self.max_gap_ms = max(self.max_gap_ms, (now - self._last_tick) * 1e3)
        self._last_tick = now
        replay = self.recording.replay_frame() if self.recording.replaying else None
        if replay is not None and self.top.isVisible():
            self.hands.show_frame(replay)  # a recorded episode replaces the live hands while it plays
        frame = self.session.latest()
        if frame is None or frame.seq == self._last_seq:
            return
        self._last_seq = frame.seq
        self._frames_shown += 1
        if self.top.isVisible():
            self.camera.show_frame(frame)
            if replay is None and not self.recording.replaying:
                self.hands.show_frame(frame)
                if self.rollout.hands_frame is not None:
                    # A loaded rollout drives its embodiment's view: the robot's state, the next chunk's end as a
                    # ghost (painted views draw it; views without ghosts show the state only).
                    self.hands.show_frame(self.rollout.hands_frame)
        if self._frames_shown % 3:
            return  # panels and the status bar update at a third of the view rate
        current = self.tabs.currentWidget()
        if current is self.scales:
            self.scales.show_frame(frame)
        elif current is self.latent:
            self.latent.tick()
        self.fps_label.setText(f"tracking {frame.fps:4.1f} fps")
        self.view_label.setText(f"{self.hands.backend} {self.hands.counter.fps:4.0f} fps")
        self.latency_label.setText(f"latency {frame.latency_ms:5.1f} ms")

    # ------------------------------------------------------------------------------------------- settings
    def _restore_settings(self) -> None:
        s = self.settings
        if s.value("window/geometry") is not None:
            self.restoreGeometry(s.value("window/geometry"))
        else:
            self.resize(1500, 950)
        for key, split in (("window/top", self.top), ("window/split", self.split)):
            if s.value(key) is not None:
                split.restoreState(s.value(key))
        tab = s.value("window/tab")
        if tab is not None:
            self.tabs.setCurrentIndex(int(tab))
        camera = getattr(self.hands, "camera", None)  # the painted 3D view's orbit camera
        if camera is not None and s.value("window/hands_camera"):
            import json

            try:
                camera.set_state(json.loads(str(s.value("window/hands_camera"))))
            except ValueError as exc:  # a hand-edited or old settings file: keep the default view, say why
                log.warning("%s: window/hands_camera ignored: %s", s.fileName(), exc)

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/top", self.top.saveState())
        s.setValue("window/split", self.split.saveState())
        s.setValue("window/tab", self.tabs.currentIndex())
        camera = getattr(self.hands, "camera", None)
        if camera is not None:
            import json

            s.setValue("window/hands_camera", json.dumps(camera.state()))
        s.setValue("recording/root", str(self.recording.model.root))
        s.setValue("recording/task", self.recording.model.task)
        s.setValue("recording/embodiment", self.recording.model.embodiment)
        s.sync()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Save settings, stop the timer, the panels' workers and the session (bounded waits). Safe to call twice."""
        if getattr(self, "_shut", False):
            return
        self._shut = True
        self.save_settings()
        self.timer.stop()
        for panel in (self.recording, self.training, self.rollout, self.scales, self.latent):
            panel.close_panel()
        self._unsub_tuning()
        getattr(self.session, "close", self.session.stop)()  # close() also ends a retarget process
        self.bridge.close()
        self.hands.close_view()
