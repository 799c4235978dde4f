"""Relayed traffic, against the echo upstream: messages from 1 byte of data up to
the 25 MiB post-auth limit pass both ways intact, one over the limit closes the
session 1009, and a client that stops reading while the upstream floods it does not
make gatewayd buffer the flood (its RSS stays bounded) nor lose any of it."""

import json
import time
from pathlib import Path

import pytest

from clawgate_test import clawclient
from clawgate_test.clawclient import Closed, Connection
from clawgate_test.harness import SANITIZER_ENV
from clawgate_test.rawws import RawWS, text

MAX_PAYLOAD = 26214400      # 25 MiB: the largest frame after hello, either way
MIB = 1 << 20
REQ_ENVELOPE = len('{"type":"req","id":"big","method":"echo","params":{"d":""}}')


def admitted(gw):
    conn = Connection.open(gw.url)
    assert json.loads(conn.recv_text())["event"] == "connect.challenge"
    conn.send({"type": "req", "id": "c1", "method": "connect",
               "params": clawclient.cli_params(token=gw.token)})
    res = json.loads(conn.recv_text())
    assert res["ok"], res
    return conn


def rss_kb(pid):
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


@pytest.mark.parametrize("n", [1, 125, 126, 65535, 65536, 3 * MIB])
def test_messages_of_every_length_class_pass_both_ways(echo_relay, n):
    gw, _ = echo_relay()
    conn = admitted(gw)
    data = "".join(chr(0x61 + i % 26) for i in range(min(n, 26))) * (n // 26 + 1)
    conn.send({"type": "req", "id": "e1", "method": "echo", "params": {"d": data[:n]}})
    assert json.loads(conn.recv_text(20.0)) == {"type": "res", "id": "e1", "ok": True,
                                                "payload": {"d": data[:n]}}
    conn.send({"type": "req", "id": "e2", "method": "echo.events",
               "params": {"size": 80 + n, "count": 1}})
    assert json.loads(conn.recv_text(20.0))["id"] == "e2"
    event = json.loads(conn.recv_text(20.0))
    assert (event["event"], event["seq"]) == ("echo.data", 1)
    assert len(event["payload"]["data"]) >= n - 1


def test_25_mib_both_ways_and_one_byte_more_closes_1009(echo_relay):
    gw, _ = echo_relay()
    conn = admitted(gw)
    data = "x" * (MAX_PAYLOAD - REQ_ENVELOPE)
    frame = json.dumps({"type": "req", "id": "big", "method": "echo", "params": {"d": data}},
                       separators=(",", ":"))
    assert len(frame) == MAX_PAYLOAD
    conn.send_text(frame, timeout=30.0)
    res = conn.recv_text(30.0)
    assert json.loads(res)["payload"]["d"] == data
    conn.send({"type": "req", "id": "ev", "method": "echo.events",
               "params": {"size": MAX_PAYLOAD, "count": 1}})
    assert json.loads(conn.recv_text(30.0))["id"] == "ev"
    assert len(conn.recv_text(30.0)) == MAX_PAYLOAD
    conn.send_text(frame[:-1] + "x}", timeout=30.0)     # MAX_PAYLOAD + 1 bytes
    with pytest.raises(Closed) as closed:
        conn.recv_text(30.0)
    assert closed.value.code == 1009


def test_a_client_that_stops_reading_keeps_gatewayd_bounded(echo_relay):
    # AddressSanitizer keeps freed memory in a quarantine (256 MiB by default), which
    # would count every relayed byte in RSS: a small one counts what is held.
    gw, _ = echo_relay(env={"ASAN_OPTIONS": SANITIZER_ENV["ASAN_OPTIONS"] +
                            ":quarantine_size_mb=4"})
    size, count = 256 * 1024, 400         # 100 MiB towards a client that does not read
    ws = RawWS(gw.port)
    assert json.loads(ws.recv_frame()[2])["event"] == "connect.challenge"
    ws.send(text(json.dumps({"type": "req", "id": "c1", "method": "connect",
                             "params": clawclient.cli_params(token=gw.token)})))
    assert json.loads(ws.recv_frame()[2])["ok"]
    before = rss_kb(gw.gatewayd.pid)
    ws.send(text(json.dumps({"type": "req", "id": "f", "method": "echo.events",
                             "params": {"size": size, "count": count}})))
    peak = before
    for _ in range(30):                     # 3 s of not reading
        time.sleep(0.1)
        peak = max(peak, rss_kb(gw.gatewayd.pid))
    assert (peak - before) * 1024 < 40 * MIB, \
        "gatewayd grew by %d KiB while its client did not read" % (peak - before)
    # Then every event arrives, in order: held back, not dropped.
    assert json.loads(ws.recv_frame(10.0)[2])["id"] == "f"
    for seq in range(1, count + 1):
        fin, op, payload = ws.recv_frame(10.0)
        assert (fin, op, len(payload)) == (True, 1, size)
        assert json.loads(payload)["seq"] == seq
    ws.close()
