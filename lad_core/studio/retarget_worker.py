"""The live session's retargeting in a child process, so that it does not share the GIL with the studio's UI thread.

Measured (benchmarks/README.md, Studio): with four robots retargeted on the session's thread the UI thread's worst
timer gaps were 100-130 ms at load ~3.3 on the 2-core dev machine, with one (the gripper) 27-42 ms; the work is
many small numpy calls that hold the GIL. `RetargetWorker(robots)` runs `python -m lad_core.studio.retarget_worker`,
which builds the same retargeters and robot geometry and answers one request at a time over pickled pipes (our own
child, our own messages); the session thread waits for each answer with the GIL released.

    worker = RetargetWorker(["faive", "mimic", "gripper"])   # blocks until the child has built them
    worker.set_scales("mimic", scales)                      # applied before the next step
    results = worker.step(canonical)                         # {name: RobotResult}
    worker.reset(); worker.close()
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from lad_core.errors import LadError


@dataclass(frozen=True)
class RobotResult:
    """One robot's answer for one frame: what `TeleopSession.process` packs into a RobotFrame."""

    qpos: np.ndarray
    points: np.ndarray  # (N, 3) link origins
    kv_points: np.ndarray | None
    converged: bool
    latency_ms: float
    residuals: np.ndarray | None
    scaled_keyvectors: np.ndarray | None


class RetargetWorkerError(LadError):
    """The retargeting process failed to start or died."""


def _retarget_all(retargeters: dict, geometry: dict, canonical: np.ndarray) -> dict[str, RobotResult]:
    """The per-frame work, the same as the in-thread session's."""
    from lad_core.kinematics import human_keyvectors
    from lad_core.studio.geometry import human_drawing

    hkv = human_keyvectors(human_drawing(canonical).points)
    out = {}
    for name, r in retargeters.items():
        t0 = time.perf_counter()
        res = r.step(canonical)
        geo = geometry[name]
        drawing = geo.draw(res.qpos)
        ms = (time.perf_counter() - t0) * 1e3
        resid = scaled = None
        if r.scales is not None:
            q = np.clip(np.asarray(res.qpos, dtype=np.float64), geo.kin.lower, geo.kin.upper)
            scaled = r.scales[:, None] * geo.kin.keyvectors(q)
            resid = np.linalg.norm(hkv - scaled, axis=-1)
        out[name] = RobotResult(np.asarray(res.qpos), drawing.points, drawing.kv_points, bool(res.converged), ms,
                                resid, scaled)
    return out


def _child_main() -> None:
    """Reads ("build", robots) first, then ("step", canonical) | ("scales", name, values) | ("reset",); EOF ends."""
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    inp, out = sys.stdin.buffer, sys.stdout.buffer

    def send(msg) -> None:
        pickle.dump(msg, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    _, robots = pickle.load(inp)
    from lad_core.retarget import build_retargeter
    from lad_core.studio.geometry import RobotGeometry

    retargeters, geometry, errors = {}, {}, {}
    for name in robots:
        try:
            retargeters[name] = build_retargeter(name)
            geometry[name] = RobotGeometry(name)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, as the in-thread session does
            retargeters.pop(name, None)
            errors[name] = str(exc)
    send(("ready", errors))
    while True:
        try:
            msg = pickle.load(inp)
        except EOFError:
            return
        try:
            if msg[0] == "step":
                send(("ok", _retarget_all(retargeters, geometry, msg[1])))
            elif msg[0] == "scales":
                retargeters[msg[1]].scales = msg[2]
            elif msg[0] == "reset":
                for r in retargeters.values():
                    r.reset()
        except Exception as exc:  # noqa: BLE001 - the parent raises it as a RetargetWorkerError
            send(("error", f"{type(exc).__name__}: {exc}"))


class RetargetWorker:
    """The child process; call it from one thread at a time (the session thread)."""

    def __init__(self, robots: list[str]):
        self.robots = list(robots)
        self._proc = subprocess.Popen([sys.executable, "-m", "lad_core.studio.retarget_worker"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._send(("build", self.robots))
        kind, errors = self._receive()
        self.build_errors: dict[str, str] = dict(errors)

    def _send(self, msg) -> None:
        try:
            pickle.dump(msg, self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise RetargetWorkerError(f"the retargeting process is gone (exit code {self._proc.poll()}): {exc}") from None

    def _receive(self):
        try:
            return pickle.load(self._proc.stdout)  # blocks with the GIL released
        except EOFError:
            raise RetargetWorkerError(f"the retargeting process exited (code {self._proc.wait(5)})") from None

    def step(self, canonical) -> dict[str, RobotResult]:
        self._send(("step", np.asarray(canonical, dtype=np.float64)))
        kind, payload = self._receive()
        if kind != "ok":
            raise RetargetWorkerError(f"retargeting failed in the worker process: {payload}")
        return payload

    def set_scales(self, name: str, values: np.ndarray) -> None:
        self._send(("scales", name, np.asarray(values, dtype=np.float64)))

    def reset(self) -> None:
        self._send(("reset",))

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def close(self, timeout: float = 3.0) -> None:
        if self._proc.poll() is None:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(1.0)
        self._proc.stdout.close()


if __name__ == "__main__":
    # Run the module's own copy (not __main__'s), so that pickled RobotResults name lad_core.studio.retarget_worker.
    from lad_core.studio.retarget_worker import _child_main as main

    main()
