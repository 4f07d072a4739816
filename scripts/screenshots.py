"""Render every LAD Studio panel to docs/screenshots/*.png (run under Xvfb: see README).

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from PySide6 import QtCore, QtWidgets

    from app.window import MainWindow
    from lad_core.studio.session import TeleopSession

    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    tmp = tempfile.mkdtemp(prefix="lad-shots-")
    settings = QtCore.QSettings(os.path.join(tmp, "s.ini"), QtCore.QSettings.IniFormat)
    w = MainWindow(TeleopSession("synthetic"), settings, data_dir=os.path.join(tmp, "episodes"),
                   history_path=os.path.join(tmp, "runs.json"))
    w.resize(1400, 900)
    w.show()

    def run(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def save(widget, name: str) -> None:
        img = widget.grab().toImage().scaledToWidth(min(widget.width(), 1100), QtCore.Qt.SmoothTransformation)
        img.save(str(out / f"{name}.png"), "PNG", 80)
        print(out / f"{name}.png")

    run(4.0)
    save(w, "main_window")
    save(w.camera, "camera_view")
    save(w.hands, "hand_views")
    if hasattr(w.hands, "camera"):  # the painted 3D view: the same hands orbited (all views follow one camera)
        w.hands.camera.orbit(-140, 60)
        w.hands.camera.zoom(1.2)
        run(0.5)
        save(w.hands, "hand_views_orbited")
        w.hands.camera.reset()
    w.recording.embodiment.setCurrentText("mimic")
    w.recording.start()
    run(2.5)
    w.tabs.setCurrentWidget(w.recording)
    run(0.3)
    save(w.recording, "recording_panel")
    w.recording.stop()
    run(0.3)
    w.tabs.setCurrentWidget(w.scales)
    run(0.5)
    save(w.scales, "scales_panel")
    w.tabs.setCurrentWidget(w.training)
    run(0.3)
    save(w.training, "training_panel")
    # Latent inspector on the committed CPU model, scrubbing the real pose sequence when the shared data is here.
    w.tabs.setCurrentWidget(w.latent)
    w.latent.load(ROOT / "tests" / "latent" / "data" / "latent_cpu_all")
    poses = ROOT.parent / "shared" / "data" / "poses" / "right_hand_video_sequence" / "joints.npy"
    if poses.exists():
        w.latent.load_recording(poses)
        w.latent.scrubber.setValue(300)
    while w.latent.projecting:
        run(0.2)
    run(0.5)
    save(w.latent, "latent_panel")
    # Rollout console: the episode just recorded, replayed on the kinematic fake: one chunk run, the next previewed.
    w.tabs.setCurrentWidget(w.rollout)
    w.rollout.load(os.path.join(tmp, "episodes", "episode_000000.h5"), backend="kinematic", embodiment="mimic")
    while w.rollout.loading or w.rollout.console is None:
        run(0.2)
    run(0.5)
    w.rollout.command("step")
    run(1.0)
    w.rollout.command("step")
    run(1.0)
    w.rollout.poll()
    save(w.rollout, "rollout_panel")
    # The same episode on the simulated arm: the sim scene view joins the teleop area, and the main hand views draw
    # the rollout's mimic hand with the next chunk's end as a ghost.
    w.rollout.close_rollout()
    w.rollout.load(os.path.join(tmp, "episodes", "episode_000000.h5"), backend="sim", embodiment="mimic")
    while w.rollout.loading or w.rollout.console is None:
        run(0.2)
    w.rollout.command("step")
    run(3.0)
    w.rollout.poll()
    w.tabs.setCurrentWidget(w.rollout)
    run(0.5)
    save(w, "main_window_sim_rollout")
    save(w.top, "teleop_sim_scene")
    w.close()
    w.shutdown()
    w.deleteLater()  # delete the widgets while Qt is alive, not during interpreter finalization
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
