"""Everyday quality: replay of a recorded episode in the hand views, the low-disk warning, settings that survive a
restart, the shortcuts help dialog, and a camera that vanishes mid-recording (error shown, frames kept)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

pytestmark = pytest.mark.gui


def test_low_disk_warning_then_replay_in_the_hand_views(make_window, qtbot, tmp_path):
    from lad_core.episodes import read_episode

    w = make_window()
    w.recording.embodiment.setCurrentText("mimic")
    qtbot.waitUntil(lambda: w._frames_shown >= 3, timeout=15000)
    w.recording.model.recorder.low_disk_bytes = 1 << 62  # every real disk is "low" now
    w.recording.start()
    assert w.recording.model.is_recording
    qtbot.waitUntil(lambda: "MiB free" in w.errors.label.text(), timeout=3000)
    assert w.errors.isVisible() and str(tmp_path / "episodes") in w.errors.label.text()
    w.recording._tick()
    assert w.recording.disk.text().startswith("⚠ LOW DISK SPACE") and "GiB free" in w.recording.disk.text()
    qtbot.wait(800)
    w.recording.stop()
    path = tmp_path / "episodes" / "episode_000000.h5"
    ep = read_episode(path)
    assert len(ep) >= 5
    # Replay: the live hands stop, the recorded frames play at the episode's own speed.
    w.session.stop()
    w.recording.episodes.selectRow(0)
    w.recording.replay_selected()
    assert w.recording.replaying
    qtbot.waitUntil(lambda: w.recording._replay is not None and w.recording._replay.frame >= 3, timeout=5000)
    r = w.recording._replay
    qtbot.wait(2 * 30)
    i = r.frame
    yz = r.geometry.draw(ep.end_effector[i])
    if w.hands.backend == "pyqtgraph":
        x, y = w.hands._items["mimic"][1].getData()
        shown, project = np.c_[x, y], lambda pts: pts[:, [1, 2]] * (-1, 1)
    elif w.hands.backend == "qpainter-3d":
        shown, project = w.hands._drawings["mimic"].points, lambda pts: pts
    if w.hands.backend in ("pyqtgraph", "qpainter-3d"):
        near = [np.allclose(shown, project(r.geometry.draw(ep.end_effector[k]).points), atol=1e-9)
                for k in range(max(0, i - 3), min(len(ep), i + 2))]
        assert any(near) and yz.points.shape[0] == len(shown)
    qtbot.waitUntil(lambda: not w.recording.replaying, timeout=len(ep) / ep.info.fps * 1000 + 3000)
    assert w.recording.replay_label.text() == "replayed episode_000000.h5"
    bad = tmp_path / "not_an_episode.h5"
    bad.write_bytes(b"nope")
    assert not w.recording.start_replay(bad)
    assert "not_an_episode.h5" in w.errors.label.text()


def test_settings_survive_a_window_restart(make_window, qtbot):
    w = make_window(autostart=False)
    w.resize(1234, 876)
    w.tabs.setCurrentWidget(w.latent)
    w.recording.task.setText("pour_water")
    w.recording._configure()
    w.recording.embodiment.setCurrentText("gripper")
    w.rollout.backend.setCurrentText("sim")
    w.rollout.path.setText("/data/policies/gripper_v3")
    w.rollout.out_dir.setText("/data/rollouts")
    w.rollout._save_settings()
    orbit = getattr(w.hands, "camera", None)  # the painted 3D view's camera
    if orbit is not None:
        orbit.orbit(80, -30)
        orbit.zoom(1.5)
        pose = orbit.state()
    w.close()
    assert not w.isVisible()
    w2 = make_window(autostart=False)
    if orbit is not None:
        restored = w2.hands.camera.state()
        assert np.allclose([restored[k] for k in ("azimuth", "elevation", "distance")],
                           [pose[k] for k in ("azimuth", "elevation", "distance")])
        assert np.allclose(restored["target"], pose["target"]) and restored != type(orbit)().state()
    assert w2.tabs.currentWidget() is w2.latent
    assert (w2.width(), w2.height()) == (1234, 876)
    assert w2.recording.model.task == "pour_water" and w2.recording.task.text() == "pour_water"
    assert w2.recording.embodiment.currentText() == "gripper"
    assert w2.rollout.backend.currentText() == "sim"
    assert w2.rollout.path.text() == "/data/policies/gripper_v3" and w2.rollout.out_dir.text() == "/data/rollouts"


def test_help_dialog_lists_the_window_shortcuts(make_window, qtbot):
    from PySide6.QtTest import QTest

    from app.views.help import ShortcutsDialog

    w = make_window(autostart=False)
    seen = {}

    def inspect():
        dialog = QtWidgets.QApplication.activeModalWidget()
        seen["dialog"] = dialog
        if isinstance(dialog, ShortcutsDialog):
            t = dialog.table
            seen["rows"] = [tuple(t.item(r, c).text() for c in range(3)) for r in range(t.rowCount())]
            dialog.accept()

    w.raise_()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=5000)
    QtCore.QTimer.singleShot(300, inspect)
    QTest.keyClick(w, QtCore.Qt.Key_F1)  # exec() returns once inspect() accepted the dialog
    assert isinstance(seen.get("dialog"), ShortcutsDialog)
    keys = {key: action for _, key, action in seen["rows"]}
    assert keys["Space / Esc"] == "EMERGENCY STOP" and keys["Right"].startswith("save this episode")
    # What the dialog lists is what the window binds.
    bound = {name: s.key().toString() for name, s in w.shortcuts.items()}
    assert bound["estop"] == "Ctrl+E" and "Ctrl+E" in keys
    assert bound["quit"] == "Ctrl+Q" and "Ctrl+Q" in keys
    assert bound["help"] == "F1" and "F1" in keys
    assert {bound["space"], bound["right"], bound["left"], bound["esc"]} == {"Space", "Right", "Left", "Esc"}
    assert keys["wheel"] == "zoom" and keys["double-click"] == "reset the camera"  # the 3D views' gestures


def test_a_camera_vanishing_mid_recording_is_shown_and_the_frames_are_kept(make_window, qtbot, tmp_path,
                                                                           monkeypatch):
    from lad_core.episodes import read_episode
    from lad_core.tracking.sources import base
    from lad_core.tracking.sources.base import FrameSource

    class VanishingCamera(FrameSource):
        """A live camera that is unplugged after `n` frames (the read raises, as cv2 capture wrappers do)."""

        name = "camera"
        live = True
        needs_detector = False

        def __init__(self, inner, n):
            self.inner, self.n = inner, n

        def _frames(self):
            for i, frame in enumerate(self.inner):
                if i >= self.n:
                    raise OSError("camera 0 vanished (device unplugged)")
                yield frame

        def close(self):
            self.inner.close()

        def describe(self):
            return "camera 0 (vanishing)"

    real_open = base.open_source
    state = {"armed": False}

    def open_source(spec, **kw):
        src = real_open(spec, **kw)
        return VanishingCamera(src, 90) if state["armed"] else src

    monkeypatch.setattr(base, "open_source", open_source)
    w = make_window(autostart=False)
    w.recording.embodiment.setCurrentText("gripper")
    state["armed"] = True
    assert w.start_source("synthetic")
    qtbot.waitUntil(lambda: w._frames_shown >= 2, timeout=15000)
    w.recording.start()
    assert w.recording.model.is_recording
    qtbot.waitUntil(lambda: not w.recording.model.is_recording, timeout=20000)
    qtbot.waitUntil(lambda: "frames were saved" in w.errors.label.text(), timeout=5000)
    assert any("vanished" in m for m in w.errors.messages), w.errors.messages
    ep = read_episode(tmp_path / "episodes" / "episode_000000.h5")
    assert len(ep) >= 10 and ep.info.embodiment == "gripper"
    assert f"{len(ep)} frames were saved" in w.errors.label.text()
    state["armed"] = False
    assert w.start_source("synthetic")  # the app keeps running
    seq = w._last_seq
    qtbot.waitUntil(lambda: w._last_seq > seq + 3, timeout=15000)
