"""UDP landmark source and sender.

Packet (UTF-8 JSON, one datagram per frame, at most 64 KiB)::

    {"t": 12.345,                                   # sender's timestamp, seconds (optional)
     "hands": [{"world": [[x, y, z], ... 21],        # metres, MediaPipe order, any hand-centred metric frame
                "image": [[u, v, z], ... 21],        # optional: normalised image landmarks
                "handedness": "right", "score": 0.98}]}
    {"end": true}                                   # the sender is done: the source ends

A frame with ``"hands": []`` means "no hand seen". When no packet arrives for ``frame_timeout_s`` the source
yields a frame without hands, so the tracking pipeline sees the loss (and teleop holds the robot) instead of
waiting forever. Malformed packets are counted in ``rejected`` and logged, never fatal.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from lad_core.errors import InputError
from lad_core.tracking.sources.base import FrameSource
from lad_core.tracking.types import HandObservation, SourceFrame

log = logging.getLogger(__name__)

MAX_PACKET = 65507
DEFAULT_ADDRESS = ("127.0.0.1", 5600)


def parse_address(target: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT``, ``PORT`` or empty (127.0.0.1:5600). Port 0 picks a free port."""
    target = (target or "").strip()
    if not target:
        return DEFAULT_ADDRESS
    host, sep, port = target.rpartition(":")
    if not sep:
        host, port = DEFAULT_ADDRESS[0], target
    try:
        number = int(port)
    except ValueError:
        raise InputError(f"udp source: expected HOST:PORT, got {target!r}") from None
    if not 0 <= number <= 65535:
        raise InputError(f"udp source: port must be 0..65535, got {number}")
    return host or DEFAULT_ADDRESS[0], number


def _landmarks(value: Any, what: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (21, 3) or not np.isfinite(arr).all():
        raise ValueError(f"{what} must be 21 finite [x, y, z] triples, got shape {arr.shape}")
    return arr


def decode_packet(data: bytes, timestamp: float) -> tuple[HandObservation, ...] | None:
    """The hands of one datagram; None for an end packet. Raises ValueError on anything malformed."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"expected a JSON object, got {type(doc).__name__}")
    if doc.get("end") is True:
        return None
    hands = doc.get("hands")
    if not isinstance(hands, list):
        raise ValueError("missing 'hands' list")
    t = float(doc.get("t", timestamp))
    out = []
    for i, hand in enumerate(hands):
        if not isinstance(hand, dict):
            raise ValueError(f"hands[{i}] must be an object")
        handedness = hand.get("handedness", "right")
        if handedness not in ("right", "left"):
            raise ValueError(f"hands[{i}].handedness must be 'right' or 'left', got {handedness!r}")
        score = float(hand.get("score", 1.0))
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"hands[{i}].score must be in [0, 1], got {score}")
        image = _landmarks(hand["image"], f"hands[{i}].image") if hand.get("image") is not None else None
        out.append(HandObservation(timestamp=t, image_landmarks=image,  # type: ignore[arg-type]
                                   world_landmarks=_landmarks(hand.get("world"), f"hands[{i}].world"),
                                   handedness=handedness, score=score))
    return tuple(out)


def encode_packet(hands: list[dict[str, Any]] | None, t: float | None = None) -> bytes:
    """A datagram: ``hands`` as [{"world": (21, 3), "image"?, "handedness"?, "score"?}], or None for the end."""
    if hands is None:
        return b'{"end": true}'
    doc: dict[str, Any] = {"hands": [{k: (np.asarray(v).tolist() if k in ("world", "image") else v)
                                      for k, v in hand.items()} for hand in hands]}
    if t is not None:
        doc["t"] = float(t)
    data = json.dumps(doc).encode("utf-8")
    if len(data) > MAX_PACKET:
        raise InputError(f"udp packet of {len(data)} bytes exceeds {MAX_PACKET}")
    return data


class UdpLandmarkSource(FrameSource):
    """Listens on ``host:port`` (bound when constructed; ``address`` tells the port when 0 was asked for).

    ``frame_timeout_s``: yield a hand-less frame after this long without packets. ``idle_timeout_s``: end the
    source after this long without packets (None: never; ``close()`` or an end packet ends it).
    """

    name = "udp"
    live = True

    def __init__(self, address: str = "", *, frame_timeout_s: float = 0.1, idle_timeout_s: float | None = None,
                 **_ignored: object):
        host, port = parse_address(address)
        if frame_timeout_s <= 0:
            raise InputError(f"udp source: frame_timeout_s must be positive, got {frame_timeout_s}")
        self.frame_timeout_s = float(frame_timeout_s)
        self.idle_timeout_s = idle_timeout_s
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise InputError(f"udp source: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self._sock.settimeout(self.frame_timeout_s)
        self.address: tuple[str, int] = self._sock.getsockname()[:2]
        self.received = 0
        self.rejected = 0
        self._closed = False

    @classmethod
    def from_spec(cls, target: str, **options: Any) -> "UdpLandmarkSource":
        return cls(target, **options)

    def _frames(self) -> Iterator[SourceFrame]:
        start = time.monotonic()
        last_packet = start
        index = 0
        while not self._closed:
            try:
                data = self._sock.recv(MAX_PACKET)
            except socket.timeout:
                now = time.monotonic()
                if self.idle_timeout_s is not None and now - last_packet > self.idle_timeout_s:
                    return
                yield SourceFrame(index=index, timestamp=now - start, hands=())
                index += 1
                continue
            except OSError:
                if self._closed:
                    return
                raise InputError(f"udp source {self.describe()}: socket error") from None
            now = time.monotonic()
            last_packet = now
            try:
                hands = decode_packet(data, now - start)
            except (ValueError, TypeError, KeyError) as exc:
                self.rejected += 1
                log.warning("udp source %s: packet rejected: %s", self.describe(), exc)
                continue
            if hands is None:
                return
            self.received += 1
            yield SourceFrame(index=index, timestamp=hands[0].timestamp if hands else now - start, hands=hands)
            index += 1

    def close(self) -> None:
        self._closed = True
        self._sock.close()

    def describe(self) -> str:
        return f"udp {self.address[0]}:{self.address[1]}"


class UdpLandmarkSender:
    """The other end: ``send(hands, t)`` one frame, ``end()`` when done. For trackers, replay scripts and tests."""

    def __init__(self, address: tuple[str, int] | str):
        self.address = parse_address(address) if isinstance(address, str) else tuple(address)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, hands: list[dict[str, Any]], t: float | None = None) -> None:
        self._sock.sendto(encode_packet(hands, t), self.address)

    def send_raw(self, data: bytes) -> None:
        self._sock.sendto(data, self.address)

    def end(self) -> None:
        self._sock.sendto(encode_packet(None), self.address)

    def close(self) -> None:
        self._sock.close()
