"""An idle WebSocket holds no frame state in gatewayd (doc/design.md §6): ws.c
frees its wslay context whenever the socket is back at a message boundary and makes
a new one when bytes arrive or a frame must go out. These tests let sessions go idle
between messages, and inside them (a partial header, a fragmented message with a ping
in the middle), and check that what is read, answered and closed afterwards is what a
socket that never idled gets. The pauses only give gatewayd time to read what came so
far; nothing here asserts a timing."""

import json
import struct
import time

from clawgate_test import rawws
from clawgate_test.clawclient import Identity
from clawgate_test.flows import raw_session, request_pairing

PAUSE = 0.05


def send_in_pieces(raw, data, size):
    """Short writes with pauses: gatewayd reads partial headers and payloads."""
    for i in range(0, len(data), size):
        raw.send(data[i:i + size])
        time.sleep(0.005)


def next_frame(raw, skip_events=("tick",)):
    """The next frame, skipping tick events (the shared timer may fire any time)."""
    while True:
        fin, op, payload = raw.recv_frame()
        if op == 1 and json.loads(payload).get("event") in skip_events:
            continue
        return fin, op, payload


def test_idle_session_gets_an_event_then_a_fragmented_request_a_ping_and_a_close(gateway):
    raw = raw_session(gateway, ["operator.pairing", "operator.read"])
    time.sleep(PAUSE)
    # A frame sent to an idle session.
    request_pairing(gateway, Identity())
    _, op, payload = next_frame(raw)
    assert op == 1 and json.loads(payload)["event"] == "device.pair.requested", payload
    time.sleep(PAUSE)
    # A request in three fragments with a ping between them.
    req = json.dumps({"type": "req", "id": "frag", "method": "device.pair.list",
                      "params": {}}).encode()
    # Whole frames first, with pauses: the socket idles at frame boundaries
    # inside the message; then the rest three bytes at a time.
    raw.send(rawws.frame(1, req[:10], fin=False))
    time.sleep(PAUSE)
    raw.send(rawws.frame(9, b"inside"))
    time.sleep(PAUSE)
    send_in_pieces(raw, rawws.frame(0, req[10:30], fin=False) + rawws.frame(0, req[30:]), 3)
    assert next_frame(raw)[1:] == (10, b"inside")
    _, op, payload = next_frame(raw)
    res = json.loads(payload)
    assert op == 1 and res["id"] == "frag" and res["ok"] is True, res
    time.sleep(PAUSE)
    raw.send(rawws.frame(9, b"after idle"))
    assert next_frame(raw)[1:] == (10, b"after idle")
    time.sleep(PAUSE)
    # A close cut inside its header, after idling.
    send_in_pieces(raw, rawws.frame(8, struct.pack(">H", 1000) + b"bye"), 1)
    assert raw.recv_close()[0] == 1000
    raw.close()


def test_a_continuation_after_idling_is_still_refused(gateway):
    """No message is open at the boundary where the context went: a continuation
    frame is a protocol error, as on a socket that never idled. (The post-hello
    message limit of a fresh context: test_limits.py.)"""
    raw = raw_session(gateway, ["operator.read"])
    time.sleep(PAUSE)
    raw.send(rawws.frame(0, b"stray continuation"))
    assert raw.recv_close()[0] == 1002
    raw.close()
