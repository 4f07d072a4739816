"""The robot server protocol, version 1: JSON messages over ZeroMQ (a ROUTER server, DEALER clients).

Transport
    The server binds a ZeroMQ ROUTER socket (``tcp://127.0.0.1:5557`` by default); a client connects a DEALER.
    Every message is ONE frame holding UTF-8 JSON, at most ``MAX_MESSAGE_BYTES``. Requests are answered in order,
    each reply carrying the request's ``id``. NaN, Infinity and numbers that overflow to infinity are invalid JSON
    here.

Envelope (both directions)::

    {"v": 1, "id": <int >= 0>, "type": <str>, "body": {...}}

    Unknown keys anywhere are rejected (strict schemas, ``extra="forbid"``); a reply to an unreadable request has
    ``"id": null``.

Requests (client -> server) and their replies
    ``hello``        {"role": "control"|"observe", "client": str}  -> ``welcome`` {"session", "info", "heartbeat_timeout_s",
                     "protocol"}. One client at a time holds the ``control`` role; an observer may only read.
    ``heartbeat``    {}                      -> ``ok`` {}. Only the controller's messages feed the deadman.
    ``command``      {"ee_position": [3 numbers], "ee_orientation": [4, xyzw], "joints": [J numbers]}
                     -> ``accepted`` {"violations": [...], "state": STATE}. The server applies its own safety limits
                     relative to the measured state; ``violations`` lists what acted.
    ``get_state``    {}                      -> ``state`` STATE
    ``stop``         {}                      -> ``ok`` {} (hold; the next command moves again)
    ``estop``        {"reason": str}         -> ``ok`` {} (latched on the server: commands are refused until reset)
    ``reset_estop``  {}                      -> ``ok`` {} (controller only)
    ``health``       {}                      -> ``health`` {"ok", "connected", "message", "mode"}
    ``events``       {"since": int >= 0}     -> ``events`` {"events": [SafetyEvent dicts], "next": int}
    ``bye``          {}                      -> ``ok`` {} (release the control role; the robot holds)

    STATE is ``RobotState.to_dict()`` plus ``"mode"`` (``idle`` | ``active`` | ``holding`` | ``estopped``) and
    ``"last_hold"`` (the server's ``time.monotonic()`` of its latest hold, or null).

Errors
    ``error`` {"code": CODE, "message": str}, CODE one of ``ERROR_CODES``. A malformed request never reaches the
    backend and never changes the robot's state.

Deadman
    After ``hello`` as controller the server expects a message from that client at least every
    ``heartbeat_timeout_s`` (sent in ``welcome``). When it hears nothing for longer, it holds the robot, ends the
    session (later commands get ``session_expired``) and logs a ``deadman`` event; the client must ``hello`` again.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 65_536
MAX_JOINTS = 256

ERROR_CODES = (
    "malformed",  # not UTF-8 JSON, not an object, too large, NaN/Infinity
    "version",  # "v" is not PROTOCOL_VERSION
    "unknown_type",  # "type" names no request
    "invalid",  # the body does not match the request's schema (or the robot's joint count)
    "not_controller",  # a control request from a client that does not hold the control role
    "busy",  # another client holds the control role
    "session_expired",  # the deadman ended this client's session; send hello again
    "estopped",  # the e-stop is latched on the server
    "internal",  # the backend failed; the message says how
)


class ProtocolError(Exception):
    """A request that cannot be served; becomes an ``error`` reply."""

    def __init__(self, code: str, message: str, request_id: int | None = None):
        if code not in ERROR_CODES:
            raise ValueError(f"unknown protocol error code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Finite = Annotated[float, Field(allow_inf_nan=False)]


class Empty(_Strict):
    pass


class Hello(_Strict):
    role: Literal["control", "observe"]
    client: Annotated[str, Field(max_length=100)] = ""


class Command(_Strict):
    ee_position: Annotated[list[Finite], Field(min_length=3, max_length=3)]
    ee_orientation: Annotated[list[Finite], Field(min_length=4, max_length=4)]
    joints: Annotated[list[Finite], Field(min_length=0, max_length=MAX_JOINTS)]


class EStopBody(_Strict):
    reason: Annotated[str, Field(max_length=200)] = ""


class EventsBody(_Strict):
    since: Annotated[int, Field(ge=0)] = 0


REQUEST_BODIES: dict[str, type[_Strict]] = {
    "hello": Hello,
    "heartbeat": Empty,
    "command": Command,
    "get_state": Empty,
    "stop": Empty,
    "estop": EStopBody,
    "reset_estop": Empty,
    "health": Empty,
    "events": EventsBody,
    "bye": Empty,
}
REPLY_TYPES = ("welcome", "ok", "accepted", "state", "health", "events", "error")


class Envelope(_Strict):
    v: int
    id: Annotated[int, Field(ge=0, lt=2**53)]
    type: Annotated[str, Field(max_length=32)]
    body: dict[str, Any]


class Request(BaseModel):
    """A validated request: ``body`` is the model for ``type``."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    id: int
    type: str
    body: Any


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _loads(data: bytes | str) -> Any:
    if len(data) > MAX_MESSAGE_BYTES:
        raise ProtocolError("malformed", f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ProtocolError("malformed", f"not valid JSON: {exc}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "message"
    return f"{where}: {err.get('msg', 'invalid')}"


def parse_request(data: bytes | str) -> Request:
    """Decode and validate one request frame; raises ProtocolError with the code to reply with."""
    obj = _loads(data)
    if not isinstance(obj, dict):
        raise ProtocolError("malformed", f"a message must be a JSON object, got {type(obj).__name__}")
    request_id = obj.get("id") if isinstance(obj.get("id"), int) and not isinstance(obj.get("id"), bool) else None
    try:
        env = Envelope.model_validate(obj)
    except ValidationError as exc:
        raise ProtocolError("malformed", _first_error(exc), request_id) from None
    if env.v != PROTOCOL_VERSION:
        raise ProtocolError("version", f"protocol version {env.v} not supported (server speaks "
                                       f"{PROTOCOL_VERSION})", env.id)
    model = REQUEST_BODIES.get(env.type)
    if model is None:
        raise ProtocolError("unknown_type", f"unknown request type {env.type!r}; known: {sorted(REQUEST_BODIES)}",
                            env.id)
    try:
        body = model.model_validate(env.body)
    except ValidationError as exc:
        raise ProtocolError("invalid", f"{env.type}: {_first_error(exc)}", env.id) from None
    return Request(id=env.id, type=env.type, body=body)


def encode(msg_type: str, body: dict[str, Any], request_id: int | None) -> bytes:
    """One frame: the JSON envelope. Refuses NaN/inf so the server never emits what it would reject."""
    return json.dumps({"v": PROTOCOL_VERSION, "id": request_id, "type": msg_type, "body": body},
                      allow_nan=False, separators=(",", ":")).encode("utf-8")


def encode_error(error: ProtocolError) -> bytes:
    return encode("error", {"code": error.code, "message": error.message}, error.request_id)


def parse_reply(data: bytes) -> tuple[int | None, str, dict[str, Any]]:
    """Client side: (id, type, body) of a reply frame; raises ProtocolError('malformed') if it is not one."""
    obj = _loads(data)
    if (not isinstance(obj, dict) or set(obj) != {"v", "id", "type", "body"} or obj["type"] not in REPLY_TYPES
            or not isinstance(obj["body"], dict)):
        raise ProtocolError("malformed", f"not a protocol reply: {str(obj)[:200]}")
    if obj["v"] != PROTOCOL_VERSION:
        raise ProtocolError("version", f"server speaks protocol {obj['v']}, client {PROTOCOL_VERSION}")
    return obj["id"], obj["type"], obj["body"]


def json_schema() -> dict[str, Any]:
    """JSON Schemas of the envelope and every request body (``lad robot-server --print-schema``)."""
    return {
        "protocol_version": PROTOCOL_VERSION,
        "max_message_bytes": MAX_MESSAGE_BYTES,
        "envelope": Envelope.model_json_schema(),
        "requests": {name: model.model_json_schema() for name, model in REQUEST_BODIES.items()},
        "reply_types": list(REPLY_TYPES),
        "error_codes": list(ERROR_CODES),
    }
