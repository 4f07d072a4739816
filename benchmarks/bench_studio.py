"""LAD Studio live session: UI-thread stalls (a 10 ms timer probe) and hand-view updates per second.

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb .venv/bin/python benchmarks/bench_studio.py \
        [--seconds 10] [--view auto|3d|gl|2d] [--retarget process|thread] [--rollout none|sim|sim-inprocess]
        [--embodiment gripper|mimic|faive] [--no-live]

Prints one JSON line. The window runs on the synthetic source with every registered robot. `--rollout sim` also runs
a supervised rollout in the rollout console during the measurement: a replayed gripper episode (circles around the
sim's start pose) on the pybullet sim backend in its child process (the studio's default); `sim-inprocess` steps the
sim in the studio's process instead (as before), for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time


def sim_replay(path, frames: int, embodiment: str = "gripper"):
    """A rollout episode circling 4 cm around the pybullet sim's start wrist pose (the gripper's), the end-effector
    joints swinging through the middle of their range."""
    import numpy as np

    from lad_core.episodes import write_episode
    from lad_core.robots.base import RobotCommand, RobotState
    from lad_core.robots.factory import robot_info_for_embodiment
    from lad_core.rollout.controller import ExecutedStep
    from lad_core.rollout.episode import rollout_episode

    info = robot_info_for_embodiment(embodiment)
    mid, half = (info.lower + info.upper) / 2, (info.upper - info.lower) / 2
    q = np.array([0.9997, 0.0002, 0.025, 0.0])
    steps = []
    for k in range(frames):
        a = k / 40.0
        pos = np.array([0.44 + 0.04 * np.cos(a), 0.04 * np.sin(a), 0.45])
        state = RobotState(k / 20, pos, q, mid)
        steps.append(ExecutedStep(k / 20, k, "teleop", False, state,
                                  RobotCommand(pos, q, mid + 0.8 * half * np.sin(k / 15)), ()))
    data = rollout_episode(steps, embodiment=embodiment, task="cube_in_box", fps=20.0, outcome=True)
    return write_episode(path, data)


def start_sim_rollout(w, app, path, in_process: bool, timeout: float = 180.0, embodiment: str = "gripper"):
    """Load `path` on the sim backend in the window's rollout console and run it; returns the controller."""
    from PySide6 import QtCore

    errors = []
    w.rollout.error.connect(errors.append)
    w.rollout.sim_process = not in_process
    if not w.rollout.load(str(path), backend="sim", embodiment=embodiment):
        raise RuntimeError(f"rollout refused: {errors}")
    end = time.monotonic() + timeout
    while (w.rollout.loading or w.rollout.console is None) and not errors and time.monotonic() < end:
        app.processEvents(QtCore.QEventLoop.AllEvents, 50)
        time.sleep(0.01)
    if w.rollout.console is None:
        raise RuntimeError(f"the sim rollout did not load: {errors}")
    ctrl = w.rollout.controller
    w.rollout.command("start")
    while len(ctrl.steps) < 5 and time.monotonic() < end:
        app.processEvents(QtCore.QEventLoop.AllEvents, 50)
        time.sleep(0.01)
    return ctrl


def measure(seconds: float = 10.0, view: str = "auto", warmup: float = 2.0, retarget: str = "process",
            rollout: str = "none", embodiment: str = "gripper", live: bool = True) -> dict:
    """retarget: "process" (the studio's default: a child process) or "thread" (the session's own thread).
    rollout: "none", "sim" (a sim rollout in its child process) or "sim-inprocess" (stepping in this process).
    live=False: the window's live session is not started (the rollout alone; view and session fps are then 0)."""
    import numpy as np
    from PySide6 import QtCore, QtWidgets

    from app.window import MainWindow
    from lad_core.studio.session import TeleopSession

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    tmp = tempfile.mkdtemp(prefix="lad-bench-studio-")
    settings = QtCore.QSettings(os.path.join(tmp, "s.ini"), QtCore.QSettings.IniFormat)
    session = TeleopSession("synthetic", retarget_process=retarget == "process")
    w = MainWindow(session, settings, data_dir=os.path.join(tmp, "ep"), history_path=os.path.join(tmp, "runs.json"),
                   view=view, autostart=live)
    w.show()
    while live and retarget == "process" and w.session.latest() is None:  # the child builds its retargeters first
        app.processEvents(QtCore.QEventLoop.AllEvents, 50)
        time.sleep(0.01)
    ctrl = None
    if rollout != "none":
        replay = sim_replay(os.path.join(tmp, "replay.h5"), int((warmup + seconds + 30) * 20), embodiment)
        ctrl = start_sim_rollout(w, app, replay, in_process=rollout == "sim-inprocess", embodiment=embodiment)
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

    def seq():
        frame = w.session.latest()
        return frame.seq if frame is not None else 0

    def begin():
        marks["t0"], marks["views"], marks["seq"] = time.perf_counter(), w.hands.counter.count, seq()
        marks["ticks"] = len(ctrl.steps) if ctrl is not None else 0
        timer.start()

    def end():
        marks["t1"], marks["views1"], marks["seq1"] = time.perf_counter(), w.hands.counter.count, seq()
        marks["ticks1"] = len(ctrl.steps) if ctrl is not None else 0
        marks["rollout_state"] = ctrl.state if ctrl is not None else None
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
    out = {"rollout": rollout} | ({"embodiment": embodiment} if rollout != "none" else {})
    if ctrl is not None:
        out.update(rollout_commands_per_s=round((marks["ticks1"] - marks["ticks"]) / dt, 1),
                   rollout_state=marks["rollout_state"])
    return out | {"seconds": round(dt, 2), "view": backend, "retarget": retarget, "live": live,
                  "max_stall_ms": round(float(g.max()), 1),
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
    p.add_argument("--rollout", default="none", choices=("none", "sim", "sim-inprocess"),
                   help="also run a sim rollout in the rollout console: its sim in a child process (the studio's "
                        "default) or in the studio's process")
    p.add_argument("--embodiment", default="gripper", help="the sim rollout's robot (gripper, mimic, faive)")
    p.add_argument("--no-live", action="store_true", help="do not start the live session (the rollout alone)")
    args = p.parse_args()
    out = measure(args.seconds, args.view, retarget=args.retarget, rollout=args.rollout, embodiment=args.embodiment,
                  live=not args.no_live)
    out["machine"] = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                      "load": os.getloadavg()[0], "display": os.environ.get("DISPLAY", "")}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
