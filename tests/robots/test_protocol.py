"""The robot protocol rejects malformed messages, at the parser and on a live server, without touching the robot."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zmq

from lad_core.robots import protocol
from lad_core.robots.protocol import ProtocolError, parse_request


def msg(type_="heartbeat", body=None, **env):
    out = {"v": 1, "id": 3, "type": type_, "body": {} if body is None else body}
    out.update(env)
    return json.dumps(out).encode()


GOOD_COMMAND = {"ee_position": [0, 0, 0.4], "ee_orientation": [0, 0, 0, 1], "joints": [0.1, 0.2, 0.3]}
MALFORMED = [
    (b"", "malformed"),
    (b"\xff\xfe\x00", "malformed"),
    (b"{not json", "malformed"),
    (b"[1, 2]", "malformed"),
    (b'{"v": 1, "id": 1, "type": "heartbeat"}', "malformed"),  # no body
    (msg(extra=1), "malformed"),
    (msg(id=-1), "malformed"),
    (msg(id="7"), "malformed"),
    (msg(v=2), "version"),
    (msg("launch_missiles"), "unknown_type"),
    (msg("heartbeat", {"x": 1}), "invalid"),
    (msg("hello", {"role": "admin"}), "invalid"),
    (msg("command", {**GOOD_COMMAND, "ee_position": [0, 0]}), "invalid"),
    (msg("command", {**GOOD_COMMAND, "ee_position": [0, 0, "0.4"]}), "invalid"),
    (msg("command", {**GOOD_COMMAND, "ee_position": [0, 0, True]}), "invalid"),
    (msg("command", {**GOOD_COMMAND, "speed": 3}), "invalid"),
    (msg("command", {k: v for k, v in GOOD_COMMAND.items() if k != "joints"}), "invalid"),
    (msg("command", GOOD_COMMAND).replace(b"0.4", b"NaN"), "malformed"),
    (msg("command", GOOD_COMMAND).replace(b"0.4", b"Infinity"), "malformed"),
    (msg("command", GOOD_COMMAND).replace(b"0.4", b"1e999"), "invalid"),
    (b" " * (protocol.MAX_MESSAGE_BYTES + 1), "malformed"),
    (b"[" * 5000 + b"]" * 5000, "malformed"),
]


@pytest.mark.parametrize("frame, code", MALFORMED)
def test_parser_rejects_malformed_messages_with_a_code(frame, code):
    with pytest.raises(ProtocolError) as err:
        parse_request(frame)
    assert err.value.code == code
    assert err.value.message


def test_parser_accepts_a_valid_command():
    req = parse_request(msg("command", GOOD_COMMAND))
    assert req.type == "command" and req.id == 3 and req.body.joints == [0.1, 0.2, 0.3]


def test_schema_lists_every_request():
    schema = protocol.json_schema()
    assert set(schema["requests"]) == set(protocol.REQUEST_BODIES)
    assert schema["requests"]["command"]["additionalProperties"] is False


def test_live_server_answers_malformed_frames_with_errors_and_keeps_the_robot_still(server):
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(server.endpoint)
    try:
        def ask(frames):
            sock.send_multipart(frames) if isinstance(frames, list) else sock.send(frames)
            assert sock.poll(2000), "no reply"
            return json.loads(sock.recv())

        ask(msg("hello", {"role": "control", "client": "fuzzer"}))
        before = server.backend.read_state()
        for frame, code in MALFORMED:
            reply = ask(frame)
            assert reply["type"] == "error" and reply["body"]["code"] == code, (frame[:60], reply)
            ask(msg("heartbeat"))  # keep the session alive between malformed frames
        reply = ask([b"two", b"frames"])
        assert reply["body"]["code"] == "malformed"
        wrong_joints = ask(msg("command", {**GOOD_COMMAND, "joints": [0.1]}))
        assert wrong_joints["body"]["code"] == "invalid" and "3" in wrong_joints["body"]["message"]
        after = server.backend.read_state()
        np.testing.assert_array_equal(before.joints, after.joints)
        np.testing.assert_array_equal(before.ee_position, after.ee_position)
        assert server.backend.commands_received == 0
        ok = ask(msg("command", GOOD_COMMAND))  # still serving
        assert ok["type"] == "accepted"
    finally:
        sock.close(0)
