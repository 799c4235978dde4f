"""gatewayd holds the 101 until brokerd's challenge is there and writes both at once
(one write per connect less). What the client sends meanwhile is still
answered: a ping right behind the upgrade request gets its pong, and the handshake
goes on."""

import base64
import json
import os
import socket

from clawgate_test import rawws
from clawgate_test.clawclient import cli_params


def test_a_ping_behind_the_upgrade_request_is_answered(gateway):
    key = base64.b64encode(os.urandom(16))
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=rawws.TIMEOUT)
    raw = rawws.RawWS.__new__(rawws.RawWS)
    raw.sock, raw.buf = sock, b""
    sock.sendall(rawws.upgrade_request(b"127.0.0.1:%d" % gateway.port, key)
                 + rawws.frame(9, b"early"))
    head = raw._read_until(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 "), head
    frames = [raw.recv_frame()[1:], raw.recv_frame()[1:]]
    assert (10, b"early") in frames, frames
    challenge = [json.loads(p) for op, p in frames if op == 1]
    assert len(challenge) == 1 and challenge[0]["event"] == "connect.challenge", frames
    raw.send(rawws.text(json.dumps({"type": "req", "id": "c", "method": "connect",
                                    "params": cli_params(token=gateway.token)})))
    _, op, payload = raw.recv_frame()
    assert op == 1 and json.loads(payload)["ok"] is True, payload
    raw.close()
