"""Rollout console: replay a recorded episode (policies plug in here once they land) on a robot backend through
the safety layer, with start/pause/step/reset, the controller's state and event log, and an e-stop that the
window keeps visible in its toolbar (Space/Esc while this console is the active context)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

NEEDS = ("No command source. Load a recorded episode to replay it on the fake kinematic robot "
         "(policy rollouts appear here once a trained policy checkpoint is loaded).")


def _episode_source(path: str):
    from scipy.spatial.transform import Rotation

    from lad_core.episodes import read_episode
    from lad_core.rollout import ReplaySource

    data = read_episode(path)
    arm, ee = np.asarray(data.arm, dtype=float), np.asarray(data.end_effector, dtype=float)
    if len(arm) == 0:
        raise ValueError("the episode has no frames")
    quat = Rotation.from_rotvec(arm[:, 3:6]).as_quat(scalar_first=True)
    pos = arm[:, :3] - arm[:1, :3] + np.array([0.0, 0.0, 0.4])  # relative to the start, in front of the robot
    return ReplaySource.from_arrays(pos, quat, ee, chunk_size=8), data.info.embodiment


class RolloutPanel(QtWidgets.QWidget):
    error = QtCore.Signal(str)
    _event = QtCore.Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.controller = None
        self._unsub = None
        self.info = QtWidgets.QLabel(NEEDS)
        self.info.setWordWrap(True)
        load = QtWidgets.QPushButton("Load episode…")
        load.clicked.connect(self._load_dialog)
        self.buttons = {}
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(load)
        for key in ("start", "pause", "step", "reset"):
            b = QtWidgets.QPushButton(key.capitalize())
            b.setFocusPolicy(QtCore.Qt.NoFocus)
            b.clicked.connect(lambda _=False, key=key: self._call(key))
            b.setEnabled(False)
            bar.addWidget(b)
            self.buttons[key] = b
        self.state = QtWidgets.QLabel("state: no rollout")
        self.state.setStyleSheet("font-size: 14pt; font-weight: bold")
        self.log = QtWidgets.QListWidget()
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.info)
        lay.addLayout(bar)
        lay.addWidget(self.state)
        lay.addWidget(self.log, 1)
        self._event.connect(self._on_event)

    def _load_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Episode", "", "Episodes (*.h5)")
        if path:
            self.load_episode(path)

    def load_episode(self, path: str) -> bool:
        from lad_core.robots.factory import robot_info_for_embodiment
        from lad_core.robots.kinematic import FakeKinematicBackend
        from lad_core.rollout import RolloutController
        from lad_core.safety import SafetyLayer, SafetyLimits

        try:
            source, embodiment = _episode_source(path)
            info = robot_info_for_embodiment(embodiment)
            self.close_panel()
            self.controller = RolloutController(FakeKinematicBackend(info), source,
                                                SafetyLayer(SafetyLimits.for_robot(info)), rate_hz=30.0).open()
        except Exception as exc:  # noqa: BLE001 - a bad episode is reported in the window
            self.error.emit(f"rollout: cannot load {path}: {exc}")
            return False
        self._unsub = self.controller.subscribe(self._event.emit)
        self.info.setText(f"replaying {Path(path).name} ({embodiment}) on the fake kinematic robot")
        for b in self.buttons.values():
            b.setEnabled(True)
        self._show_state()
        return True

    def _call(self, key: str) -> None:
        if self.controller is None:
            return
        try:
            getattr(self.controller, key)()
        except Exception as exc:  # noqa: BLE001
            self.error.emit(f"rollout {key}: {exc}")
        self._show_state()

    def estop(self, source: str = "operator") -> None:
        if self.controller is not None:
            self.controller.estop(source, "e-stop pressed in the studio")
        self._show_state()

    def _on_event(self, ev) -> None:
        self.log.addItem(f"{ev.kind} {ev.data}" if ev.data else ev.kind)
        while self.log.count() > 300:
            self.log.takeItem(0)
        self.log.scrollToBottom()
        self._show_state()

    def _show_state(self) -> None:
        state = self.controller.state if self.controller is not None else "no rollout"
        self.state.setText(f"state: {state}")
        self.state.setStyleSheet("font-size: 14pt; font-weight: bold" + ("; color: #e03030" if state == "estopped" else ""))

    @property
    def active(self) -> bool:
        return self.controller is not None and self.controller.state in ("running", "paused")

    def close_panel(self) -> None:
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        if self.controller is not None:
            self.controller.close()
            self.controller = None
