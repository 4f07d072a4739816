"""LAD Studio live session: UI-thread stalls (a 10 ms timer probe) and hand-view updates per second.

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb .venv/bin/python benchmarks/bench_studio.py \
        [--seconds 10] [--view auto|3d|gl|2d] [--retarget process|thread]

Prints one JSON line. The window runs on the synthetic source with every registered robot.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time


def measure(seconds: float = 10.0, view: str = "auto", warmup: float = 2.0, retarget: str = "process") -> dict:
    """retarget: "process" (the studio's default: a child process) or "thread" (the session's own thread)."""
    import numpy as np
    from PySide6 import QtCore, QtWidgets

    from app.window import MainWindow
    from lad_core.studio.session import TeleopSession

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    tmp = tempfile.mkdtemp(prefix="lad-bench-studio-")
    settings = QtCore.QSettings(os.path.join(tmp, "s.ini"), QtCore.QSettings.IniFormat)
    session = TeleopSession("synthetic", retarget_process=retarget == "process")
    w = MainWindow(session, settings, data_dir=os.path.join(tmp, "ep"), history_path=os.path.join(tmp, "runs.json"),
                   view=view)
    w.show()
    while retarget == "process" and w.session.latest() is None:  # the child builds its retargeters first
        app.processEvents(QtCore.QEventLoop.AllEvents, 50)
        time.sleep(0.01)
    gaps: list[float] = []
    last = [None]
    marks = {}

    def probe():
        now = time.perf_counter()
        if last[0] is not None:
            gaps.append(now - last[0])
        last[0] = now

    timer = QtCore.QTimer(interval=10, timeout=probe)
    timer.setTimerType(QtCore.Qt.PreciseTimer)

    def begin():
        marks["t0"], marks["views"], marks["seq"] = time.perf_counter(), w.hands.counter.count, w.session.latest().seq
        timer.start()

    def end():
        marks["t1"], marks["views1"], marks["seq1"] = time.perf_counter(), w.hands.counter.count, w.session.latest().seq
        loop.quit()

    loop = QtCore.QEventLoop()  # a local loop: the application's own exec/quit state stays untouched
    QtCore.QTimer.singleShot(int(warmup * 1000), begin)
    QtCore.QTimer.singleShot(int((warmup + seconds) * 1000), end)
    loop.exec()
    timer.stop()
    backend = w.hands.backend
    paint = list(getattr(w.hands, "paint_ms", []))  # the painted 3D view times its paintEvents
    w.close()
    w.shutdown()
    g = np.array(gaps) * 1e3
    dt = marks["t1"] - marks["t0"]
    return {"seconds": round(dt, 2), "view": backend, "retarget": retarget, "max_stall_ms": round(float(g.max()), 1),
            "p99_gap_ms": round(float(np.percentile(g, 99)), 1),
            "view_fps": round((marks["views1"] - marks["views"]) / dt, 1),
            "session_fps": round((marks["seq1"] - marks["seq"]) / dt, 1),
            "paint_ms_median": round(float(np.median(paint)), 2) if paint else None,
            "paint_ms_p99": round(float(np.percentile(paint, 99)), 2) if paint else None}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--view", default="auto", choices=("auto", "3d", "gl", "2d"))
    p.add_argument("--retarget", default="process", choices=("process", "thread"),
                   help="where the session retargets: a child process (the studio's default) or its own thread")
    args = p.parse_args()
    out = measure(args.seconds, args.view, retarget=args.retarget)
    out["machine"] = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                      "load": os.getloadavg()[0], "display": os.environ.get("DISPLAY", "")}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
