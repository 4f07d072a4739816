"""RemoteBackend: a RobotBackend that talks to a robot server (``lad robot-server``) over the JSON protocol.

Every request doubles as a heartbeat for the server's deadman, so the loop that owns this backend must call it
(``command``, ``read_state`` or ``heartbeat``) more often than ``heartbeat_timeout_s`` (given by the server, 0.12 s
by default); the rollout controller does so every tick. If the loop stalls, the server holds the robot and ends the
session: the next call raises ``RemoteError('session_expired')`` and ``connect()`` must be called again.
Not thread-safe beyond an internal lock that serialises requests.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

from lad_core.robots import protocol
from lad_core.robots.base import (
    BackendHealth,
    RobotBackend,
    RobotCommand,
    RobotConnectionError,
    RobotError,
    RobotInfo,
    RobotState,
)
from lad_core.robots.protocol import ProtocolError


class RemoteError(RobotError):
    """The server answered with an error reply; ``code`` is one of ``protocol.ERROR_CODES``."""

    def __init__(self, code: str, message: str):
        super().__init__(f"robot server: {code}: {message}")
        self.code = code


class RemoteBackend(RobotBackend):
    def __init__(self, endpoint: str, *, role: str = "control", client_name: str = "lad", timeout_s: float = 0.5):
        if role not in ("control", "observe"):
            raise ValueError(f"role must be 'control' or 'observe', got {role!r}")
        self.endpoint = endpoint
        self.role = role
        self.client_name = client_name
        self.timeout_s = float(timeout_s)
        self._socket: Any = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._info: RobotInfo | None = None
        self.heartbeat_timeout_s: float | None = None
        self.last_latency_ms: float | None = None
        self.last_violations: list[dict[str, Any]] = []
        self.last_server_state: dict[str, Any] = {}

    # -- transport -------------------------------------------------------------------------------------------
    def _open_socket(self) -> None:
        import zmq

        if self._socket is not None:
            self._socket.close(linger=0)
        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.endpoint)
        self._socket = sock

    def request(self, msg_type: str, body: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Send one request and wait for its reply; raises RemoteError on an error reply."""
        import zmq

        with self._lock:
            if self._socket is None:
                raise RobotConnectionError(f"robot server {self.endpoint}: not connected (call connect() first)")
            rid = next(self._ids)
            frame = protocol.encode(msg_type, body or {}, rid)
            t0 = time.monotonic()
            self._socket.send(frame)
            deadline = t0 + self.timeout_s
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not self._socket.poll(left * 1000.0, zmq.POLLIN):
                    raise RobotConnectionError(f"robot server {self.endpoint}: no reply to '{msg_type}' within "
                                               f"{self.timeout_s:.2f} s")
                try:
                    reply_id, reply_type, reply_body = protocol.parse_reply(self._socket.recv())
                except ProtocolError as exc:
                    raise RobotConnectionError(f"robot server {self.endpoint}: {exc}") from None
                if reply_id == rid or (reply_id is None and reply_type == "error"):
                    break  # replies to earlier, timed-out requests are skipped
            self.last_latency_ms = (time.monotonic() - t0) * 1000.0
        if reply_type == "error":
            raise RemoteError(reply_body.get("code", "internal"), reply_body.get("message", ""))
        return reply_type, reply_body

    # -- RobotBackend ----------------------------------------------------------------------------------------
    @property
    def info(self) -> RobotInfo:
        if self._info is None:
            raise RobotConnectionError(f"robot server {self.endpoint}: not connected (call connect() first)")
        return self._info

    def connect(self) -> None:
        """Say hello (opening the socket first if needed; a second call re-joins on the same socket, e.g. after the
        deadman ended the session). Raises RobotConnectionError when the server does not answer."""
        if self._socket is None:
            self._open_socket()
        _, body = self.request("hello", {"role": self.role, "client": self.client_name})
        self._info = RobotInfo.from_dict(body["info"])
        self.heartbeat_timeout_s = float(body["heartbeat_timeout_s"])

    def read_state(self) -> RobotState:
        _, body = self.request("get_state")
        self.last_server_state = body
        return RobotState.from_dict(body)

    def command(self, command: RobotCommand) -> None:
        _, body = self.request("command", command.to_dict())
        self.last_violations = body["violations"]
        self.last_server_state = body["state"]

    def stop(self) -> None:
        self.request("stop")

    def heartbeat(self) -> None:
        self.request("heartbeat")

    def estop(self, reason: str = "") -> None:
        """Latch the e-stop on the server (the robot side); only ``reset_estop`` by the controller clears it."""
        self.request("estop", {"reason": reason})

    def reset_estop(self) -> None:
        self.request("reset_estop")

    def events(self, since: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Server-side safety events from index ``since``; returns (events, next index)."""
        _, body = self.request("events", {"since": since})
        return body["events"], body["next"]

    def health(self) -> BackendHealth:
        try:
            _, body = self.request("health")
        except RobotError as exc:
            return BackendHealth(ok=False, connected=False, message=str(exc))
        return BackendHealth(ok=bool(body["ok"]), connected=bool(body["connected"]),
                             message=f"{body['mode']}: {body['message']}", latency_ms=self.last_latency_ms)

    def close(self) -> None:
        if self._socket is None:
            return
        try:
            self.request("bye")
        except RobotError:
            pass  # the server holds on its own when we go quiet
        with self._lock:
            self._socket.close(linger=0)
            self._socket = None
