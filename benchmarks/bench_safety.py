"""Safety benchmark: e-stop latency, deadman reaction after a client kill, 50 Hz control-loop jitter over loopback.

Prints one JSON line. Uses the fake kinematic robot (no physics): it measures the plumbing, not a simulator.
    .venv/bin/python benchmarks/bench_safety.py [--trials 20] [--jitter-seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lad_core.robots.factory import generic_robot_info
from lad_core.robots.kinematic import FakeKinematicBackend
from lad_core.robots.remote import RemoteBackend
from lad_core.rollout import ReplaySource, RolloutController
from lad_core.safety import SafetyLayer, SafetyLimits

RATE = 50.0
IDENTITY = [0.0, 0.0, 0.0, 1.0]
CLIENT = """
import sys, time, numpy as np
from lad_core.robots.base import RobotCommand
from lad_core.robots.remote import RemoteBackend
b = RemoteBackend(sys.argv[1]); b.connect(); print("STREAMING", flush=True)
t0 = time.monotonic()
while time.monotonic() - t0 < 30:
    t = time.monotonic() - t0
    b.command(RobotCommand([0.2*np.sin(3*t), 0.2*np.cos(3*t), 0.4], [0,0,0,1], np.full(b.info.n_joints, np.sin(t))))
    time.sleep(0.02)
"""


def sweep(n: int, n_joints: int) -> ReplaySource:
    t = np.linspace(0, n / RATE, n)
    pos = np.stack([0.2 * np.sin(t), 0.2 * np.cos(t), 0.4 + 0.1 * np.sin(2 * t)], 1)
    joints = np.stack([np.sin(t + k) for k in range(n_joints)], 1)
    return ReplaySource.from_arrays(pos, np.tile(IDENTITY, (n, 1)), joints, chunk_size=8)


def wait_until(pred, timeout=5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.001)
    return False


def bench_estop(trials: int) -> dict:
    info = generic_robot_info(3)
    rng = random.Random(0)
    ticks, ms = [], []
    with RolloutController(FakeKinematicBackend(info), sweep(100_000, 3), SafetyLayer(SafetyLimits.for_robot(info)),
                           rate_hz=RATE) as ctl:
        for _ in range(trials):
            ctl.start()
            wait_until(lambda: ctl.state == "running")
            time.sleep(0.1 + rng.uniform(0, 1 / RATE))
            ctl.estop("bench")
            wait_until(lambda: ctl.state == "estopped")
            t, m = ctl.last_estop_latency
            ticks.append(t)
            ms.append(m)
            ctl.reset()
    return {"estop_latency_ticks_max": max(ticks), "estop_latency_ms_median": round(statistics.median(ms), 3),
            "estop_latency_ms_max": round(max(ms), 3)}


def start_server(n_joints: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "lad_core.cli.robot", "--n-joints", str(n_joints), "--port", "0",
                             "--max-seconds", "600"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, line.split()[1]


def bench_deadman(trials: int) -> dict:
    server, endpoint = start_server(3)
    reactions = []
    try:
        with tempfile.TemporaryDirectory() as tmp, RemoteBackend(endpoint, role="observe") as observer:
            script = Path(tmp) / "client.py"
            script.write_text(CLIENT)
            for _ in range(trials):
                client = subprocess.Popen([sys.executable, str(script), endpoint], stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, text=True)
                client.stdout.readline()
                wait_until(lambda: not observer.read_state().holding)
                time.sleep(0.1)
                t_kill = time.monotonic()
                os.kill(client.pid, signal.SIGKILL)
                client.wait()
                wait_until(lambda: observer.read_state().holding and observer.last_server_state["mode"] == "idle")
                reactions.append((observer.last_server_state["last_hold"] - t_kill) * 1000.0)
    finally:
        server.terminate()
        server.wait(5)
    return {"deadman_ms_median": round(statistics.median(reactions), 1), "deadman_ms_max": round(max(reactions), 1),
            "deadman_trials": trials}


def bench_jitter(seconds: float) -> dict:
    server, endpoint = start_server(16)
    starts: list[float] = []
    try:
        backend = RemoteBackend(endpoint)
        backend.connect()
        info = backend.info
        ctl = RolloutController(backend, sweep(int(seconds * RATE) + 50, info.n_joints),
                                SafetyLayer(SafetyLimits.for_robot(info)), rate_hz=RATE)
        latencies = []
        ctl.subscribe(lambda e: (starts.append(e.data["t"]), latencies.append(backend.last_latency_ms))
                      if e.kind == "tick" and ctl.state == "running" else None)
        with ctl:
            ctl.start()
            time.sleep(seconds)
            n_steps = len(ctl.steps)
        backend.close()
    finally:
        server.terminate()
        server.wait(5)
    dt = np.diff(np.array(starts)) * 1000.0
    dev = np.abs(dt - 1000.0 / RATE)
    lat = np.array([x for x in latencies if x is not None])
    return {"loop_hz": RATE, "loop_ticks": int(len(starts)), "steps_sent": n_steps,
            "jitter_ms_std": round(float(dt.std()), 3), "jitter_ms_p99": round(float(np.percentile(dev, 99)), 3),
            "jitter_ms_max": round(float(dev.max()), 3),
            "remote_rtt_ms_median": round(float(np.median(lat)), 3), "remote_rtt_ms_p99": round(float(np.percentile(lat, 99)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--jitter-seconds", type=float, default=10.0)
    args = parser.parse_args()
    result = {"bench": "safety"}
    result.update(bench_estop(args.trials))
    result.update(bench_deadman(args.trials))
    result.update(bench_jitter(args.jitter_seconds))
    result["machine"] = {"platform": platform.platform(), "python": platform.python_version(),
                         "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
