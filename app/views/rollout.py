"""Rollout console: run a policy checkpoint (or replay a recorded episode) on a robot backend (the kinematic fake or
the pybullet sim) through the safety layer, supervised: start / pause / step one chunk / reset, an always-visible
E-STOP (also the window's toolbar button, Ctrl+E, and Space/Esc while this tab is the context), the state lamp,
the control-tick latency, the next chunk's ghost trajectory before it runs, takeover by the live hand and hand
back, success/failure marks, saving the rollout as an episode, and the safety event log.

The model is `lad_core.studio.rollout.RolloutConsole` around `lad_core.rollout.RolloutController`; building it
(torch, pybullet) runs on a worker thread, controller and safety events reach the UI through queued signals, and
a 10 Hz timer polls `controller.status()` for the lamp, the latency and the preview.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

from app.views.hands3d import DrawnHand, HandsFrame

NEEDS = ("No rollout loaded. Choose a policy checkpoint folder (<code>lad policy train</code>) or a recorded "
         "episode (.h5) to replay, a backend and the embodiment, then <b>Load</b>.")
LAMP = {"idle": "#9e9e9e", "running": "#2e7d32", "paused": "#f9a825", "estopped": "#d50000",
        "finished": "#1565c0", "fault": "#8e24aa", "loading": "#607d8b", "no rollout": "#424242"}
POLL_MS = 100
TRAIL = 400


class ArmView(QtWidgets.QWidget):
    """The wrist in the robot base frame, seen from above (x-y) and from the side (x-z): the executed path, the
    current wrist and the next chunk's ghost trajectory (dashed) before it runs."""

    def __init__(self, parent=None):
        super().__init__(parent)
        import pyqtgraph as pg

        self.widget = pg.GraphicsLayoutWidget()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.widget)
        self.items = {}
        for key, title, axes in (("top", "wrist, top view (x-y)", (0, 1)), ("side", "side view (x-z)", (0, 2))):
            p = self.widget.addPlot(title=title)
            p.setAspectLocked(True)
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setMenuEnabled(False)
            trail = p.plot(pen=pg.mkPen("#7fb3ff", width=2))
            ghost = p.plot(pen=pg.mkPen("#ffd24d", width=2, style=QtCore.Qt.DashLine), symbol="o", symbolSize=4,
                           symbolBrush="#ffd24d", symbolPen=None)
            now = pg.ScatterPlotItem(size=11, brush=pg.mkBrush("#ff6060"), pen=None)
            p.addItem(now)
            self.items[key] = (p, axes, trail, ghost, now)
        self.trail: list[np.ndarray] = []
        self.ghost = np.zeros((0, 3))

    def clear(self) -> None:
        self.trail = []
        self.ghost = np.zeros((0, 3))
        for _, _, trail, ghost, now in self.items.values():
            trail.setData([], [])
            ghost.setData([], [])
            now.setData(pos=np.zeros((0, 2)))

    def update_view(self, position: np.ndarray | None, preview: np.ndarray | None) -> None:
        if position is not None and np.all(np.isfinite(position)):
            if not self.trail or np.abs(self.trail[-1] - position).max() > 1e-6:
                self.trail.append(np.asarray(position, float).copy())
                del self.trail[:-TRAIL]
        ghost = np.zeros((0, 3)) if preview is None else np.asarray(preview, float)
        self.ghost = ghost[np.all(np.isfinite(ghost), axis=1)] if len(ghost) else ghost
        trail = np.array(self.trail) if self.trail else np.zeros((0, 3))
        for _, (a, b), trail_item, ghost_item, now in self.items.values():
            trail_item.setData(trail[:, a], trail[:, b])
            if len(self.ghost) and len(trail):  # the ghost starts where the wrist is
                g = np.vstack([trail[-1:], self.ghost])
                ghost_item.setData(g[:, a], g[:, b])
            else:
                ghost_item.setData(self.ghost[:, a], self.ghost[:, b])
            now.setData(pos=trail[-1:, [a, b]] if len(trail) else np.zeros((0, 2)))


class RolloutPanel(QtWidgets.QWidget):
    error = QtCore.Signal(str)
    _event = QtCore.Signal(object)
    _safety = QtCore.Signal(object)
    _loaded = QtCore.Signal(object)

    def __init__(self, session=None, out_dir: str | Path | None = None, settings: QtCore.QSettings | None = None,
                 parent=None):
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.console = None
        # The robot's state with the next chunk's end as a ghost, for the main window's hand views (UI thread).
        self.hands_frame: HandsFrame | None = None
        from app.views.scene import SimSceneView

        self.scene = SimSceneView()  # the main window shows it in the teleop area while a sim rollout is loaded
        self._unsubs: list = []
        self._loader: threading.Thread | None = None
        self._closing = False
        self.last_saved: Path | None = None
        self.sim_process = True  # the sim backend steps in a child process (False: in the studio's, for comparison)
        s = settings.value if settings is not None else (lambda _k, d=None: d)

        self.info = QtWidgets.QLabel(NEEDS)
        self.info.setWordWrap(True)
        self.path = QtWidgets.QLineEdit(str(s("rollout/path", "") or ""))
        self.path.setPlaceholderText("policy checkpoint folder or episode .h5")
        policy_btn = QtWidgets.QPushButton("Policy…")
        policy_btn.clicked.connect(self._choose_policy)
        episode_btn = QtWidgets.QPushButton("Episode…")
        episode_btn.clicked.connect(self._choose_episode)
        self.backend = QtWidgets.QComboBox()
        from lad_core.studio.rollout import BACKENDS

        self.backend.addItems(list(BACKENDS))
        self.backend.setEditable(True)  # remote:tcp://… or a plugin backend
        self.backend.setCurrentText(str(s("rollout/backend", "kinematic")))
        self.embodiment = QtWidgets.QComboBox()
        self.embodiment.addItems(list(session.robots) if session is not None else ["gripper", "mimic", "faive"])
        emb = s("rollout/embodiment", None)
        if emb:
            self.embodiment.setCurrentText(str(emb))
        self.task = QtWidgets.QComboBox()
        self.task.addItems(["cube_in_box", "toy_in_bowl"])
        self.task.setEditable(True)
        self.rate = QtWidgets.QDoubleSpinBox(minimum=1.0, maximum=200.0, value=20.0, suffix=" Hz")
        self.load_btn = QtWidgets.QPushButton("Load")
        self.load_btn.clicked.connect(lambda: self.load())
        row1 = QtWidgets.QHBoxLayout()
        row1.addWidget(self.path, 1)
        for w in (policy_btn, episode_btn, QtWidgets.QLabel("backend"), self.backend, QtWidgets.QLabel("embodiment"),
                  self.embodiment, QtWidgets.QLabel("task"), self.task, self.rate, self.load_btn):
            row1.addWidget(w)

        self.buttons: dict[str, QtWidgets.QPushButton] = {}
        row2 = QtWidgets.QHBoxLayout()
        for key, text in (("start", "▶ Run"), ("pause", "❚❚ Pause"), ("step", "Step 1 chunk"), ("reset", "Reset"),
                          ("takeover", "Take over (live hand)"), ("hand_back", "Hand back"),
                          ("success", "✓ Success"), ("failure", "✗ Failure"), ("save", "Save episode")):
            b = QtWidgets.QPushButton(text)
            b.setFocusPolicy(QtCore.Qt.NoFocus)  # Space/Esc stay with the window (e-stop)
            b.clicked.connect(lambda _=False, key=key: self.command(key))
            b.setEnabled(False)
            row2.addWidget(b)
            self.buttons[key] = b
        row2.addStretch(1)
        self.estop_button = QtWidgets.QPushButton("E-STOP")
        self.estop_button.setFocusPolicy(QtCore.Qt.NoFocus)
        self.estop_button.setStyleSheet("QPushButton { background: #c62828; color: white; font-weight: bold; "
                                        "font-size: 14pt; padding: 6px 22px; }")
        self.estop_button.setToolTip("Emergency stop: the robot halts within one control tick (Space/Esc here)")
        self.estop_button.clicked.connect(lambda: self.estop("studio button"))
        row2.addWidget(self.estop_button)

        self.lamp = QtWidgets.QLabel()
        self.lamp.setFixedSize(22, 22)
        self.state = QtWidgets.QLabel("no rollout")
        self.state.setStyleSheet("font-size: 14pt; font-weight: bold")
        self.latency = QtWidgets.QLabel("latency –")
        self.detail = QtWidgets.QLabel("")
        row3 = QtWidgets.QHBoxLayout()
        for w in (self.lamp, self.state, self.latency, self.detail):
            row3.addWidget(w)
        row3.addStretch(1)

        self.arm = ArmView()
        from app.views.orbit3d import OrbitHandsView

        self.hand_holder = QtWidgets.QVBoxLayout()
        self.hand = None
        self._hand_geometry = None
        self.log = QtWidgets.QListWidget()
        self.safety_log = QtWidgets.QListWidget()
        self.safety_log.setStyleSheet("QListWidget { color: #ff8a80; }")
        for lst in (self.log, self.safety_log):
            lst.setWordWrap(True)
        logs = QtWidgets.QTabWidget()
        logs.addTab(self.safety_log, "safety events")
        logs.addTab(self.log, "rollout events")
        self.logs = logs
        views = QtWidgets.QWidget()
        vlay = QtWidgets.QHBoxLayout(views)
        vlay.setContentsMargins(0, 0, 0, 0)
        vlay.addWidget(self.arm, 2)
        vlay.addLayout(self.hand_holder, 1)
        body = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        body.addWidget(views)
        body.addWidget(logs)
        body.setStretchFactor(0, 2)
        body.setStretchFactor(1, 1)
        self._HandView = OrbitHandsView

        self.out_dir = QtWidgets.QLineEdit(str(s("rollout/out", "") or out_dir or Path.cwd() / "data" / "rollouts"))
        row4 = QtWidgets.QHBoxLayout()
        row4.addWidget(QtWidgets.QLabel("save rollouts to"))
        row4.addWidget(self.out_dir, 1)

        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.info)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addLayout(row3)
        lay.addWidget(body, 1)
        lay.addLayout(row4)
        self._event.connect(self._on_event)
        self._safety.connect(self._on_safety)
        self._loaded.connect(self._on_loaded)
        self.timer = QtCore.QTimer(self, interval=POLL_MS, timeout=self.poll)
        self._show_state("no rollout")

    # ------------------------------------------------------------------------------------------- loading
    def _choose_policy(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Policy checkpoint folder", self.path.text())
        if path:
            self.path.setText(path)

    def _choose_episode(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Episode to replay", self.path.text(),
                                                        "Episodes (*.h5 *.hdf5)")
        if path:
            self.path.setText(path)
            try:
                from lad_core.studio.rollout import episode_embodiment

                self.embodiment.setCurrentText(episode_embodiment(path))
            except Exception as exc:  # noqa: BLE001 - reported when loading
                self.error.emit(f"rollout: cannot read {path}: {exc}")

    def setup(self):
        from lad_core.studio.rollout import RolloutSetup

        return RolloutSetup(self.path.text().strip(), backend=self.backend.currentText().strip(),
                            embodiment=self.embodiment.currentText(), task=self.task.currentText().strip(),
                            rate_hz=float(self.rate.value()), sim_process=self.sim_process)

    @property
    def loading(self) -> bool:
        return self._loader is not None and self._loader.is_alive()

    def load(self, path: str | None = None, backend: str | None = None, embodiment: str | None = None) -> bool:
        """Build the rollout on a worker thread (the result arrives on the UI thread). False if refused now."""
        if path is not None:
            self.path.setText(str(path))
        if backend is not None:
            self.backend.setCurrentText(backend)
        if embodiment is not None:
            self.embodiment.setCurrentText(embodiment)
        if self.loading:
            return False
        setup = self.setup()
        try:
            setup.validate()
        except Exception as exc:  # noqa: BLE001 - LadError naming the file/field
            self.error.emit(f"rollout: {exc}")
            return False
        self.close_rollout()
        self.load_btn.setEnabled(False)
        self._show_state("loading")
        self.info.setText(f"loading {Path(setup.path).name} on {setup.backend}…")

        def work():
            from lad_core.studio.rollout import build_console

            try:
                result = build_console(setup)
            except Exception as exc:  # noqa: BLE001 - shown in the window
                result = exc
            if self._closing and not isinstance(result, Exception):
                result.close()  # the window went away meanwhile
                return
            self._loaded.emit(result)

        self._loader = threading.Thread(target=work, name="lad-studio-rollout-load", daemon=True)
        self._loader.start()
        return True

    def _on_loaded(self, result) -> None:
        self.load_btn.setEnabled(True)
        if self._closing:
            if not isinstance(result, Exception):
                result.close()
            return
        if isinstance(result, Exception):
            self._show_state("no rollout")
            self.info.setText(NEEDS)
            self.error.emit(f"rollout: cannot load {self.path.text()}: {result}")
            return
        self.console = console = result
        ctrl = console.controller
        self._unsubs = [ctrl.subscribe(self._forward_event), ctrl.safety.log.subscribe(self._safety.emit)]
        if self.session is not None:
            self._unsubs.append(self.session.events.subscribe("frame", console.feed))
        text = f"<b>{console.description}</b>"
        if console.warmup_s is not None:
            text += f" · policy warm-up {console.warmup_s:.2f} s"
        self.info.setText(text)
        self.log.clear()
        self.safety_log.clear()
        self.arm.clear()
        self._make_hand_view(console.setup.embodiment)
        self.scene.attach(console.backend, version=lambda: len(ctrl.steps))  # a new image after each command
        for b in self.buttons.values():
            b.setEnabled(True)
        self._save_settings()
        self.timer.start()
        self.poll()

    def _make_hand_view(self, name: str) -> None:
        if self.hand is not None:
            self.hand_holder.removeWidget(self.hand)
            self.hand.deleteLater()
            self.hand = None
        try:
            from lad_core.studio.geometry import RobotGeometry

            self._hand_geometry = RobotGeometry(name)
        except Exception:  # noqa: BLE001 - a backend robot without a drawable embodiment: arm view only
            self._hand_geometry = None
            return
        self.hand = self._HandView([name])
        self.hand_holder.addWidget(self.hand)

    def _save_settings(self) -> None:
        if self.settings is None:
            return
        for key, value in (("path", self.path.text()), ("backend", self.backend.currentText()),
                           ("embodiment", self.embodiment.currentText()), ("out", self.out_dir.text())):
            self.settings.setValue(f"rollout/{key}", value)

    # ------------------------------------------------------------------------------------------- commands
    @property
    def controller(self):
        return self.console.controller if self.console is not None else None

    def command(self, key: str) -> None:
        console = self.console
        if console is None:
            return
        ctrl = console.controller
        try:
            if key == "step":
                ctrl.step(1)
            elif key in ("start", "pause", "reset"):
                getattr(ctrl, key)()
            elif key == "takeover":
                if self.session is None or self.session.latest() is None:
                    self.error.emit("rollout: takeover needs the live hand (no teleop frames are coming in)")
                    return
                console.takeover()
            elif key == "hand_back":
                console.hand_back()
            elif key in ("success", "failure"):
                ctrl.mark_outcome(key == "success")
            elif key == "save":
                self.save()
        except Exception as exc:  # noqa: BLE001 - shown in the window
            self.error.emit(f"rollout {key}: {exc}")
        self.poll()

    def save(self) -> Path | None:
        if self.console is None:
            return None
        try:
            path = self.console.save(self.out_dir.text().strip())
        except Exception as exc:  # noqa: BLE001 - e.g. "the rollout sent no command"
            self.error.emit(f"rollout: cannot save to {self.out_dir.text()}: {exc}")
            return None
        self.last_saved = path
        self.log.addItem(f"saved {path}")
        self._save_settings()
        return path

    def estop(self, source: str = "studio") -> None:
        """Latch the e-stop (the control loop halts the robot within one tick). Safe with no rollout loaded."""
        if self.console is not None:
            self.console.controller.estop(source, f"e-stop pressed in the studio ({source})")
        self.poll()

    # ------------------------------------------------------------------------------------------- display
    def _forward_event(self, ev) -> None:
        if ev.kind != "tick":  # every control tick: the poll timer shows those
            self._event.emit(ev)

    def _on_event(self, ev) -> None:
        d = dict(ev.data)
        if ev.kind in ("chunk_preview", "chunk_started"):
            d = {"steps": len(d["chunk"])}
        elif ev.kind == "estop":
            d = {"halted after": f"{d['latency_ticks']} tick(s), {d['latency_ms']:.1f} ms"}
        text = f"{ev.kind} " + ", ".join(f"{k}: {v}" for k, v in d.items()) if d else ev.kind
        self.log.addItem(text)
        while self.log.count() > 500:
            self.log.takeItem(0)
        self.log.scrollToBottom()
        if ev.kind == "finished" and self.console is not None and (ok := self.console.sim_success()) is not None:
            self.log.addItem(f"sim success check: {'success' if ok else 'failure'} (mark the outcome to keep it)")
        if ev.kind == "fault":  # e.g. the simulation's child process died or hung: say so in the window
            self.error.emit(f"rollout fault: {ev.data.get('error', '')}")
        if ev.kind in ("fault", "estop", "watchdog", "state"):
            self.poll()

    def _on_safety(self, event) -> None:
        self.safety_log.addItem(f"{event.kind} ({event.source}): {event.message}")
        while self.safety_log.count() > 500:
            self.safety_log.takeItem(0)
        self.safety_log.scrollToBottom()

    def _show_state(self, state: str) -> None:
        self.lamp.setStyleSheet(f"background: {LAMP.get(state, '#424242')}; border-radius: 11px")
        self.lamp.setToolTip(state)
        self.state.setText(state.upper() if state == "estopped" else state)
        self.state.setStyleSheet("font-size: 14pt; font-weight: bold" + ("; color: #e03030" if state == "estopped"
                                                                         else ""))

    def poll(self) -> None:
        """Lamp, latency, who drives, and the ghost of the next chunk (UI thread, 10 Hz)."""
        ctrl = self.controller
        if ctrl is None:
            return
        st = ctrl.status()
        self.scene.tick()
        self._show_state(st.state)
        text = f"tick {st.tick_ms:.1f} ms / {st.period_ms:.0f} ms" if st.tick_ms is not None else "tick –"
        if st.last_estop_latency is not None:
            text += f" · last e-stop halted in {st.last_estop_latency[0]} tick(s), {st.last_estop_latency[1]:.1f} ms"
        self.latency.setText(text)
        outcome = "unmarked" if st.outcome is None else ("success" if st.outcome else "failure")
        self.detail.setText(f"· {'OPERATOR: ' if st.intervening else ''}{st.source} · {st.steps} steps · {outcome}")
        self.buttons["hand_back"].setEnabled(st.intervening)
        self.buttons["takeover"].setEnabled(not st.intervening and st.state not in ("estopped", "fault"))
        state = ctrl.latest_state()
        self.arm.update_view(None if state is None else np.asarray(state.ee_position, float), st.preview)
        if self.hand is not None and self._hand_geometry is not None and state is not None:
            name = self.console.setup.embodiment
            frame = HandsFrame(robots={name: DrawnHand(self._hand_geometry.draw(state.joints))})
            chunk = ctrl.preview()
            last = chunk.steps[-1] if chunk is not None and len(chunk) else None
            joints = getattr(last, "joints", None) if last is not None else None
            if joints is not None and len(np.atleast_1d(joints)) == len(state.joints):
                frame.ghosts[name] = DrawnHand(self._hand_geometry.draw(joints))
            self.hands_frame = frame
            self.hand.show_frame(frame)  # the robot, and over it the next chunk's end as a ghost

    # ------------------------------------------------------------------------------------------- teardown
    @property
    def active(self) -> bool:
        return self.controller is not None and self.controller.state in ("running", "paused")

    def close_rollout(self) -> None:
        self.timer.stop()
        for unsub in self._unsubs:
            unsub()
        self._unsubs = []
        self.scene.detach()  # its render thread uses the backend's pybullet client: stop it first
        if self.console is not None:
            self.console.close()
            self.console = None
        self.hands_frame = None
        for b in self.buttons.values():
            b.setEnabled(False)
        self._show_state("no rollout")

    def close_panel(self) -> None:
        self._closing = True
        if self._loader is not None:
            self._loader.join(10.0)  # a build in flight closes its own result (see load)
        self.close_rollout()
