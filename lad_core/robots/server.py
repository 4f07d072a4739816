"""The robot server: owns one backend, speaks ``lad_core.robots.protocol`` and holds the robot when in doubt.

The loop is single-threaded: it polls the socket at most ``poll_interval_s`` at a time, serves requests in order,
and after every poll checks (1) the e-stop latch (trigger by protocol, ``SIGUSR1`` or ``RobotServer.estop``) and
(2) the deadman: no message from the controlling client for ``heartbeat_timeout_s`` -> hold. So the robot holds at
most ``heartbeat_timeout_s + poll_interval_s`` (+ one backend call) after the client's last word, whether the client
process was killed, hung or lost its network. Every command is passed through the server's own SafetyLayer,
relative to the measured state, before the backend sees it.

Backends that need stepping (a simulator) advance themselves in ``read_state``/``command`` or in their own thread;
the server does not step them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import numpy as np

from lad_core.robots import protocol
from lad_core.robots.base import RobotBackend, RobotState
from lad_core.robots.protocol import ProtocolError, Request
from lad_core.safety.estop import EStop
from lad_core.safety.events import DEADMAN, FAULT, HOLD, SafetyEvent, SafetyLog
from lad_core.safety.layer import SafetyLayer
from lad_core.safety.limits import SafetyLimits
from lad_core.safety.watchdog import Watchdog

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5557"
_CONTROL_ONLY = {"command", "reset_estop"}
_MAX_EVENTS_KEPT = 1000


class RobotServer:
    """Serve ``backend`` on ``endpoint``. Call ``bind()`` then ``serve()`` (blocks until ``shutdown()``)."""

    def __init__(
        self,
        backend: RobotBackend,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        limits: SafetyLimits | None = None,
        heartbeat_timeout_s: float = 0.12,
        command_period_s: float = 0.02,
        poll_interval_s: float = 0.005,
        log_: SafetyLog | None = None,
    ):
        self.backend = backend
        self.endpoint = endpoint
        self.log = log_ if log_ is not None else SafetyLog()
        self.estop = EStop(self.log)
        self._limits = limits
        self._safety: SafetyLayer | None = None
        self.command_period_s = float(command_period_s)
        self.poll_interval_s = float(poll_interval_s)
        self.watchdog = Watchdog(heartbeat_timeout_s)
        self._stop = threading.Event()
        self._socket: Any = None
        self._controller: bytes | None = None
        self._expired: set[bytes] = set()
        self._holding = True
        self._halted_for_estop = False
        self.last_hold: float | None = None
        self._events: list[dict[str, Any]] = []
        self._events_offset = 0
        self.log.subscribe(self._keep_event)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def bind(self) -> str:
        """Connect the backend and bind the socket; returns the bound endpoint (a ``*`` port is resolved)."""
        import zmq

        self.backend.connect()
        self.backend.stop()
        info = self.backend.info
        self._safety = SafetyLayer(self._limits or SafetyLimits.for_robot(info), self.estop, self.log, name="server")
        sock = zmq.Context.instance().socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTER_HANDOVER, 1)  # a reconnecting client keeps its identity
        sock.bind(self.endpoint)
        self.endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self._socket = sock
        return self.endpoint

    def shutdown(self) -> None:
        """Ask ``serve`` to return (thread- and signal-safe)."""
        self._stop.set()

    def serve(self, max_seconds: float | None = None) -> None:
        import zmq

        if self._socket is None:
            self.bind()
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        end = None if max_seconds is None else time.monotonic() + max_seconds
        try:
            while not self._stop.is_set() and (end is None or time.monotonic() < end):
                ready = dict(poller.poll(self.poll_interval_s * 1000.0))
                if self._socket in ready:
                    for _ in range(64):  # bounded drain, so the safety checks below run at least every batch
                        try:
                            frames = self._socket.recv_multipart(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        self._on_frames(frames)
                self._safety_checks()
        finally:
            self._hold("server stopping")
            self._socket.close(linger=0)
            self._socket = None
            self.backend.close()

    # -- safety ----------------------------------------------------------------------------------------------
    def _hold(self, why: str) -> None:
        try:
            self.backend.stop()
        except Exception as exc:  # the backend is the last resort; report, keep serving
            self.log.record(FAULT, "server", f"backend stop failed: {exc}")
        self._holding = True
        self.last_hold = time.monotonic()
        log.debug("hold: %s", why)

    def _safety_checks(self) -> None:
        if self.estop.is_set:
            if not self._halted_for_estop:
                self._hold("e-stop")
                self._halted_for_estop = True
        else:
            self._halted_for_estop = False
        if self._controller is not None and self.watchdog.expired():
            silent = self.watchdog.timeout_s - (self.watchdog.remaining() or 0.0)
            self._hold("deadman")
            self._expired.add(self._controller)
            self._controller = None
            self.watchdog.disarm()
            self.log.record(DEADMAN, "server", f"no message from the controlling client for {silent * 1000:.0f} ms: "
                            "holding position, session ended", silent_ms=silent * 1000.0)

    def _keep_event(self, event: SafetyEvent) -> None:
        self._events.append(event.to_dict())
        if len(self._events) > _MAX_EVENTS_KEPT:
            drop = len(self._events) - _MAX_EVENTS_KEPT
            del self._events[:drop]
            self._events_offset += drop

    # -- requests --------------------------------------------------------------------------------------------
    def _on_frames(self, frames: list[bytes]) -> None:
        identity = frames[0]
        if len(frames) != 2:
            reply = protocol.encode_error(ProtocolError("malformed", f"expected one frame, got {len(frames) - 1}"))
        else:
            try:
                request = protocol.parse_request(frames[1])
                if identity == self._controller:
                    self.watchdog.kick()
                msg_type, body = self._handle(identity, request)
                reply = protocol.encode(msg_type, body, request.id)
            except ProtocolError as exc:
                reply = protocol.encode_error(exc)
            except Exception as exc:  # a backend failure: hold, report, keep serving
                log.exception("request failed")
                self.log.record(FAULT, "server", f"backend error: {exc}")
                self._hold("backend error")
                reply = protocol.encode_error(ProtocolError("internal", f"{type(exc).__name__}: {exc}"))
        self._socket.send_multipart([identity, reply])

    def _mode(self) -> str:
        if self.estop.is_set:
            return "estopped"
        if self._holding:
            return "holding" if self._controller is not None else "idle"
        return "active"

    def _state_dict(self, state: RobotState | None = None) -> dict[str, Any]:
        state = state if state is not None else self.backend.read_state()
        out = state.with_flags(holding=self._holding, estopped=self.estop.is_set).to_dict()
        out["mode"] = self._mode()
        out["last_hold"] = self.last_hold
        return out

    def _handle(self, identity: bytes, req: Request) -> tuple[str, dict[str, Any]]:
        rid = req.id
        if req.type in _CONTROL_ONLY and identity != self._controller:
            if identity in self._expired:
                raise ProtocolError("session_expired", "the deadman ended this session; send hello again", rid)
            raise ProtocolError("not_controller", f"'{req.type}' needs the control role (send hello with "
                                                  "role=control)", rid)
        if req.type == "hello":
            return self._hello(identity, req)
        if req.type == "heartbeat":
            return "ok", {}
        if req.type == "command":
            return self._command(req)
        if req.type == "get_state":
            return "state", self._state_dict()
        if req.type == "stop":
            self._hold("stop request")
            self.log.record(HOLD, "client", "stop requested")
            return "ok", {}
        if req.type == "estop":
            self.estop.trigger("client", req.body.reason or "e-stop from a client")
            self._safety_checks()  # halt now, not at the next poll
            return "ok", {}
        if req.type == "reset_estop":
            self.estop.reset("client")
            return "ok", {}
        if req.type == "health":
            h = self.backend.health()
            return "health", {"ok": h.ok and not self.estop.is_set, "connected": h.connected,
                              "message": h.message, "mode": self._mode()}
        if req.type == "events":
            start = max(0, req.body.since - self._events_offset)
            return "events", {"events": self._events[start:], "next": self._events_offset + len(self._events)}
        if req.type == "bye":
            if identity == self._controller:
                self._controller = None
                self.watchdog.disarm()
                self._hold("controller left")
            return "ok", {}
        raise ProtocolError("unknown_type", req.type, rid)  # unreachable: parse_request checked the type

    def _hello(self, identity: bytes, req: Request) -> tuple[str, dict[str, Any]]:
        if req.body.role == "control":
            if self._controller is not None and self._controller != identity:
                raise ProtocolError("busy", "another client holds the control role", req.id)
            self._controller = identity
            self._expired.discard(identity)
            self.watchdog.arm()
        return "welcome", {
            "session": uuid.uuid4().hex[:12],
            "info": self.backend.info.to_dict(),
            "heartbeat_timeout_s": self.watchdog.timeout_s,
            "protocol": protocol.PROTOCOL_VERSION,
        }

    def _command(self, req: Request) -> tuple[str, dict[str, Any]]:
        if self.estop.is_set:
            raise ProtocolError("estopped", f"e-stop latched ({self.estop.reason}); reset it first", req.id)
        n = self.backend.info.n_joints
        if len(req.body.joints) != n:
            raise ProtocolError("invalid", f"command: joints has {len(req.body.joints)} values, robot has {n}",
                                req.id)
        state = self.backend.read_state()
        raw = {"ee_position": np.array(req.body.ee_position), "ee_orientation": np.array(req.body.ee_orientation),
               "joints": np.array(req.body.joints)}
        if self._safety is None:
            raise RuntimeError("RobotServer.bind() was not called")
        safe, violations = self._safety.filter(raw, state, self.command_period_s)
        if any(v.kind in ("malformed", "non_finite") for v in violations):
            raise ProtocolError("invalid", "; ".join(v.message for v in violations), req.id)
        self.backend.command(safe)
        self._holding = False
        return "accepted", {"violations": [v.to_dict() for v in violations], "state": self._state_dict(state)}
