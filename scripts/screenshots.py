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
    w.recording.start()
    run(1.5)
    w.tabs.setCurrentWidget(w.recording)
    run(0.3)
    save(w.recording, "recording_panel")
    w.recording.stop()
    run(0.3)
    w.tabs.setCurrentWidget(w.scales)
    run(0.5)
    save(w.scales, "scales_panel")
    for panel, name in ((w.training, "training_panel"), (w.latent, "latent_panel"), (w.rollout, "rollout_panel")):
        w.tabs.setCurrentWidget(panel)
        run(0.3)
        save(panel, name)
    w.close()
    w.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
