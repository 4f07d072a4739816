"""The scene camera of a running simulation, rendered in a child process for the studio's teleop view.

pybullet holds the GIL for the whole of each call, so rendering the sim's camera in the studio's process (TinyRenderer,
25-90 ms per 160x120 image on the loaded 2-core dev machine) held the UI thread off just as long: measured 130-250 ms
p99 timer gaps during a sim rollout, against 80-90 ms without the view. `SceneCamera(backend)` therefore mirrors the
scene into a child process: its thread ("lad-studio-scene") reads every body's base pose and joint positions from
the backend's pybullet client (a few microsecond calls; with the studio's `SimProcessBackend` they are asked from
the simulation's own child process instead), sends them to the child, which has built the same scene
(`SimEnv` of the backend's config and seed) and renders the fixed external camera, and waits for the image with the
GIL released. It renders only when `version()` (e.g. the number of commands executed) changed since the last image,
at most `hz` times a second; `latest` is the newest `(index, image)`. `stop()` must come before the backend closes
its pybullet client (or its child).
"""

from __future__ import annotations

import logging
import pickle
import select
import subprocess
import sys
import threading
import time
from dataclasses import replace

import numpy as np

from lad_core.robots.sim_process import read_scene

log = logging.getLogger(__name__)


def sim_client(backend) -> int | None:
    """The pybullet client id of a connected sim backend, None for any other backend."""
    env = getattr(backend, "env", None)
    client = getattr(env, "client", None)
    return client if isinstance(client, int) else None


def sim_scene(backend):
    """(SimConfig, seed, read) of a sim backend's scene, ``read()`` returning `read_scene`'s list: from the backend's
    own pybullet client in this process, or asked from a `SimProcessBackend`'s child. None for other backends."""
    reader = getattr(backend, "read_scene", None)
    config = getattr(backend, "scene_config", None)
    if callable(reader) and config is not None:
        return config, int(getattr(backend, "scene_seed", 0) or 0), reader
    client = sim_client(backend)
    if client is None:
        return None
    return backend.env.config, int(backend.env.seed or 0), lambda: read_scene(client)


def apply_scene(client: int, scene: list[tuple]) -> None:
    """Poses a mirror of the scene `read_scene` read; bodies the mirror lacks (or has with other joints) are skipped."""
    import pybullet as p

    count = p.getNumBodies(physicsClientId=client)
    for i, (pos, orn, q) in enumerate(scene[:count]):
        uid = p.getBodyUniqueId(i, physicsClientId=client)
        p.resetBasePositionAndOrientation(uid, pos, orn, physicsClientId=client)
        if len(q) == p.getNumJoints(uid, physicsClientId=client):
            for j, v in enumerate(q):
                p.resetJointState(uid, j, v, physicsClientId=client)


def _child_main() -> None:
    """`python -m lad_core.studio.simview`: the renderer process. Reads pickles from stdin: (config, seed) first,
    then scene states, None to end; writes ("ready"|"error", detail) then one ("image", array) per state."""
    import os

    os.nice(15)  # a picture for the operator: it waits behind the UI and the simulation when the cores are busy
    inp, out = sys.stdin.buffer, sys.stdout.buffer

    def send(msg) -> None:
        pickle.dump(msg, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    config, seed = pickle.load(inp)
    try:
        from lad_core.sim.env import SimEnv

        env = SimEnv(config)
        env.reset(seed)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        send(("error", f"{type(exc).__name__}: {exc}"))
        return
    send(("ready", None))
    try:
        while True:
            scene = pickle.load(inp)
            if scene is None:
                break
            apply_scene(env.client, scene)
            send(("image", env.cameras.render(np.zeros(3), np.eye(3))["external"]))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        env.close()


class SceneCamera:
    """Renders `backend`'s scene in a child process; `latest`, `error`, `renders` are safe to read from any thread."""

    def __init__(self, backend, size: tuple[int, int] = (120, 160), hz: float = 4.0, version=None):
        scene = sim_scene(backend)
        if scene is None:
            raise ValueError(f"{type(backend).__name__} has no pybullet scene to render")
        config, self.seed, self._read = scene
        self.backend = backend
        self.period = 1.0 / max(hz, 0.1)
        self.version = version or (lambda: None)
        self.config = replace(config, cameras=("external",), image_size=tuple(size), gui=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc = None
        self.latest: tuple[int, np.ndarray] | None = None
        self.error: str | None = None
        self.renders = 0
        self.render_ms = 0.0  # the last image's round trip (read, send, render in the child, receive)

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lad-studio-scene", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        # A fresh interpreter (not multiprocessing's spawn, which re-imports the caller's __main__): pybullet and
        # the scene are its only work. stdout carries pickled answers; its stderr (pybullet's banner) is dropped.
        proc = self._proc = subprocess.Popen([sys.executable, "-m", "lad_core.studio.simview"],
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            self._send((self.config, self.seed))
            reply = self._receive()
            if reply is None:
                return
            if reply[0] != "ready":
                self.error = f"the scene renderer failed: {reply[1]}"
                return
            rendered = object()  # matches no version: the first image is always rendered
            while not self._stop.is_set():
                t0 = time.monotonic()
                version = self.version()
                if version != rendered:
                    self._send(self._read())
                    reply = self._receive()
                    if reply is None:
                        return
                    rendered = version
                    self.renders += 1
                    self.latest = (self.renders, reply[1])
                    self.render_ms = (time.monotonic() - t0) * 1e3
                self._stop.wait(max(0.0, self.period - (time.monotonic() - t0)))
        except Exception as exc:  # noqa: BLE001 - the scene or the child went away: report, stop rendering
            self.error = f"{type(exc).__name__}: {exc}"
            log.debug("scene camera stopped", exc_info=True)
        finally:
            try:
                self._send(None)
                proc.stdin.close()
            except Exception:  # noqa: BLE001 - the child is gone already
                pass
            try:
                proc.wait(3.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(1.0)
            proc.stdout.close()

    def _send(self, msg) -> None:
        pickle.dump(msg, self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self._proc.stdin.flush()

    def _receive(self):
        """The child's next answer, waiting with the GIL released; None when stop() came first or the child died."""
        fd = self._proc.stdout
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    return pickle.load(fd)
                except EOFError:
                    break
            if self._proc.poll() is not None:
                break
        if self._proc.poll() is not None:
            self.error = f"the scene renderer exited (code {self._proc.returncode})"
        return None

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("scene camera thread still running after %.1f s", timeout)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


if __name__ == "__main__":
    _child_main()
