"""The simulated robot in a child process: ``SimProcessBackend`` runs a ``SimBackend`` (pybullet) in
``python -m lad_core.robots.sim_process`` and forwards every call to it over pickled pipes.

Why: pybullet keeps the GIL for the whole of each ``stepSimulation`` (8-36 ms per 20 Hz tick on the 2-core dev
machine), so a sim rollout stepping physics in the studio's process held the UI thread off for 119-487 ms at a time
(benchmarks/README.md, Studio). Here the caller's thread waits for each answer in ``select`` with the GIL released.

Why not the robot server (``RemoteBackend``): protocol v1 carries no ``RobotState.observations`` (the sim's
``object_pose``/``target_position`` a policy may observe), no success check and no scene state for the studio's scene
view; and its deadman and second safety layer are for a robot behind a network, not for our own child. This is our
own child speaking our own messages (like ``lad_core.studio.retarget_worker``):

    parent -> child   ("open", RobotInfo, task, options) first, then (method, *args); EOF (or ("close",)) ends it
    child -> parent   ("ok", value) | ("error", exception type name, message)

Methods: ``read_state``, ``command``, ``stop``, ``health``, ``success``, ``scene`` (every body's pose and joints, for
``lad_core.studio.simview``'s mirror). The child's stdout is the channel (anything printed there, e.g. pybullet's
banner, is redirected to its stderr, which is kept in a temporary file and quoted when the child dies).

CPU priority: the child lowers its own (``nice``, default 10). Moving the steps out of the studio's process freed
the GIL but not the two cores: with the live session and other jobs running, the child at normal priority still
starved the UI thread (162 ms worst gap, 159 ms p99 at load ~5), at nice 10 it gave 101-108 / 71-81 ms and the
rollout kept 18-20 of its 20 commands/s. Use ``nice=0`` where the simulation must never wait for the UI.

Thread-safety: requests are serialised by a lock, so the control loop, the scene view's thread and the UI thread may
share one backend. A request unanswered within ``timeout_s`` kills the child (its state is unknown) and raises
``RobotConnectionError``; so does a child that died; later calls raise too, ``health()`` reports it.
"""

from __future__ import annotations

import os
import pickle
import select
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from lad_core.robots.base import (
    BackendHealth,
    RobotBackend,
    RobotCommand,
    RobotConnectionError,
    RobotError,
    RobotInfo,
    RobotState,
)

_OPTIONS = {"seed", "realtime", "control_hz", "gui", "cameras"}


def read_scene(client: int) -> list[tuple]:
    """(position, orientation, joint positions) of every body of a pybullet client, in body order."""
    import pybullet as p

    out = []
    for i in range(p.getNumBodies(physicsClientId=client)):
        uid = p.getBodyUniqueId(i, physicsClientId=client)
        pos, orn = p.getBasePositionAndOrientation(uid, physicsClientId=client)
        n = p.getNumJoints(uid, physicsClientId=client)
        q = [s[0] for s in p.getJointStates(uid, range(n), physicsClientId=client)] if n else []
        out.append((pos, orn, q))
    return out


class SimProcessError(RobotError):
    """The simulation in the child process raised; the message names the child's exception."""


class SimProcessBackend(RobotBackend):
    """A ``SimBackend(info, task=task, **options)`` in a child process. ``scene_config``/``scene_seed`` (the
    ``SimConfig`` and layout seed, valid after ``connect``) let a viewer build a copy of the scene."""

    def __init__(self, info: RobotInfo, *, task: str = "cube_in_box", options: dict[str, Any] | None = None,
                 timeout_s: float = 5.0, start_timeout_s: float = 120.0, nice: int = 10):
        options = dict(options or {})
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            from lad_core.errors import ConfigError

            raise ConfigError(f"unknown option(s) {unknown}; known: {sorted(_OPTIONS)}", source="sim process backend",
                              field=unknown[0])
        self._info = info
        self.task = task
        self.options = options
        self.timeout_s = float(timeout_s)
        self.start_timeout_s = float(start_timeout_s)
        self.nice = int(nice)
        self._proc: subprocess.Popen | None = None
        self._stderr = None
        self._lock = threading.Lock()
        self._dead: str | None = None  # why the child is gone (then every request raises)
        self.scene_config = None
        self.scene_seed = 0
        self.last_latency_ms: float | None = None

    @property
    def info(self) -> RobotInfo:
        return self._info

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and self._dead is None

    # -- transport -------------------------------------------------------------------------------------------
    def _stderr_tail(self, limit: int = 600) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            text = self._stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        lines = [ln for ln in text.strip().splitlines() if ln.strip() and "pybullet build time" not in ln]
        tail = "\n".join(lines[-6:])
        return tail[-limit:]

    def _fail(self, why: str) -> RobotConnectionError:
        """Kill the child, remember why, and return the error to raise."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            try:
                proc.wait(2.0)
            except subprocess.TimeoutExpired:
                pass
        tail = self._stderr_tail()
        self._dead = why + (f"; its last output: {tail}" if tail else "")
        return RobotConnectionError(f"sim process: {self._dead}")

    def _send(self, msg) -> None:
        pickle.dump(msg, self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self._proc.stdin.flush()

    def _receive(self, what: str, timeout: float):
        """The child's next answer, waited for with the GIL released."""
        proc = self._proc
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._fail(f"no answer to '{what}' within {timeout:.1f} s (the simulation hung): stopped it")
            ready, _, _ = select.select([proc.stdout], [], [], min(left, 0.5))
            if ready:
                try:
                    return pickle.load(proc.stdout)
                except (EOFError, pickle.UnpicklingError, OSError):
                    break
            elif proc.poll() is not None:
                break
        raise self._fail(f"the simulation process exited (code {self._exit_code()}) during '{what}'")

    def _exit_code(self) -> int | None:
        """The dead child's exit code (None if it closed its pipes but has not exited within 2 s)."""
        try:
            return self._proc.wait(2.0)
        except subprocess.TimeoutExpired:
            return None

    def _request(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        with self._lock:
            if self._dead is not None:
                raise RobotConnectionError(f"sim process: {self._dead}")
            if self._proc is None:
                raise RobotConnectionError("sim process backend: not connected (call connect() first)")
            t0 = time.monotonic()
            try:
                self._send((method, *args))
            except (BrokenPipeError, OSError, ValueError):  # it died between two requests: same message as below
                raise self._fail(f"the simulation process exited (code {self._exit_code()}) before '{method}'") from None
            reply = self._receive(method, self.timeout_s if timeout is None else timeout)
            self.last_latency_ms = (time.monotonic() - t0) * 1e3
        if reply[0] == "error":
            raise SimProcessError(f"sim process: {method}: {reply[1]}: {reply[2]}")
        return reply[1]

    # -- RobotBackend ----------------------------------------------------------------------------------------
    def connect(self) -> None:
        """Start the child and build the scene there (seconds). Raises RobotError naming what went wrong."""
        if self._proc is not None and self._dead is None:
            return
        self._dead = None
        self._stderr = tempfile.TemporaryFile(prefix="lad-sim-process-")
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        self._proc = subprocess.Popen([sys.executable, "-m", "lad_core.robots.sim_process", str(self.nice)],
                                      stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._stderr, env=env)
        try:
            config, seed = self._request("open", self._info, self.task, self.options, timeout=self.start_timeout_s)
        except BaseException:
            self.close()
            raise
        self.scene_config, self.scene_seed = config, int(seed or 0)

    def read_state(self) -> RobotState:
        return self._request("read_state")

    def command(self, command: RobotCommand) -> None:
        self._request("command", command)

    def stop(self) -> None:
        self._request("stop")

    def health(self) -> BackendHealth:
        if self._dead is not None:
            return BackendHealth(ok=False, connected=False, message=f"sim process: {self._dead}")
        try:
            h = self._request("health")
        except RobotError as exc:
            return BackendHealth(ok=False, connected=False, message=str(exc))
        return BackendHealth(ok=h.ok, connected=h.connected, message=f"{h.message} in process {self.pid}",
                             latency_ms=self.last_latency_ms)

    def success(self) -> bool:
        """The simulation's own task success check."""
        return bool(self._request("success"))

    def read_scene(self) -> list[tuple]:
        """Every body's (position, orientation, joint positions) in the child's scene."""
        return self._request("scene")

    def close(self, timeout: float = 3.0) -> None:
        """Ask the child to close its scene and exit; kill it if it does not within ``timeout``."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            try:
                if proc.poll() is None:
                    pickle.dump(("close",), proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                    proc.stdin.flush()
                proc.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(2.0)
            proc.stdout.close()
            if self._stderr is not None:
                self._stderr.close()
                self._stderr = None
            self._dead = None


def create(config) -> SimProcessBackend:
    """Entry-point style factory (``BackendConfig``): the ``sim`` backend's options, run in a child process."""
    return SimProcessBackend(config.info, task=config.sim_task or "cube_in_box", options=dict(config.options))


def _child_main() -> None:
    """The child: serve one SimBackend until EOF or ("close",)."""
    if len(sys.argv) > 1 and int(sys.argv[1]) > 0:
        os.nice(int(sys.argv[1]))  # behind the studio's UI when the cores are busy (see the module docstring)
    chan_in = os.fdopen(os.dup(0), "rb")
    chan_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # prints (pybullet's banner, C-level logging) go to stderr, never into the channel
    sys.stdout = sys.stderr

    def send(msg) -> None:
        pickle.dump(msg, chan_out, protocol=pickle.HIGHEST_PROTOCOL)
        chan_out.flush()

    def error(exc: BaseException) -> tuple:
        return ("error", type(exc).__name__, str(exc))

    try:
        _, info, task, options = pickle.load(chan_in)
    except (EOFError, KeyboardInterrupt):
        return
    backend = None
    try:
        from lad_core.robots.pybullet_backend import SimBackend

        opts = dict(options)
        if "cameras" in opts:
            opts["cameras"] = tuple(opts["cameras"])
        backend = SimBackend(info, task=task, **opts)
        backend.connect()
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        send(error(exc))
        return
    send(("ok", (backend.env.config, backend.env.seed)))
    calls = {
        "read_state": backend.read_state,
        "command": backend.command,
        "stop": backend.stop,
        "health": backend.health,
        "success": lambda: bool(backend.env.success()),
        "scene": lambda: read_scene(backend.env.client),
    }
    try:
        while True:
            msg = pickle.load(chan_in)
            if msg[0] == "close":
                break
            fn = calls.get(msg[0])
            if fn is None:
                send(("error", "ValueError", f"unknown request {msg[0]!r}"))
                continue
            try:
                send(("ok", fn(*msg[1:])))
            except Exception as exc:  # noqa: BLE001 - the parent raises it
                send(error(exc))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the parent went away: close the scene and exit
    finally:
        backend.close()


if __name__ == "__main__":
    _child_main()
