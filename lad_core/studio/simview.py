"""The scene camera of a running simulation, rendered off the UI thread for the studio's teleop view.

`SceneCamera(backend)` renders the sim's fixed external camera (lad_core.sim.cameras, TinyRenderer) from its own
thread ("lad-studio-scene") at a few frames per second; `latest` is the newest `(index, image)`. pybullet holds
the GIL for the whole of each call, so a render never interleaves with a control step of the same client; the
image is kept small because that render also holds the UI thread off for its duration. `stop()` must come before
the backend closes its pybullet client.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

log = logging.getLogger(__name__)


def sim_client(backend) -> int | None:
    """The pybullet client id of a connected sim backend, None for any other backend."""
    env = getattr(backend, "env", None)
    client = getattr(env, "client", None)
    return client if isinstance(client, int) else None


class SceneCamera:
    """Renders `backend`'s scene at `hz` in a worker thread. Thread-safe reads of `latest`, `error`, `renders`."""

    def __init__(self, backend, size: tuple[int, int] = (180, 240), hz: float = 4.0):
        from lad_core.sim.cameras import HAND_WRIST_MOUNT, Cameras

        client = sim_client(backend)
        if client is None:
            raise ValueError(f"{type(backend).__name__} has no pybullet scene to render")
        self.backend = backend
        self.period = 1.0 / max(hz, 0.1)
        self._cameras = Cameras(client, size, ("external",), HAND_WRIST_MOUNT)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.latest: tuple[int, np.ndarray] | None = None
        self.error: BaseException | None = None
        self.renders = 0
        self.render_ms = 0.0

    def render_once(self) -> np.ndarray:
        """One (H, W, 3) uint8 image of the external camera (the caller's thread)."""
        t0 = time.perf_counter()
        image = self._cameras.render(np.zeros(3), np.eye(3))["external"]
        self.render_ms = (time.perf_counter() - t0) * 1e3
        return image

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lad-studio-scene", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                image = self.render_once()
            except Exception as exc:  # noqa: BLE001 - the scene went away: report once, stop rendering
                self.error = exc
                log.debug("scene camera stopped", exc_info=True)
                return
            self.renders += 1
            self.latest = (self.renders, image)
            self._stop.wait(max(0.0, self.period - (time.monotonic() - t0)))

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("scene camera thread still running after %.1f s", timeout)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
