"""What gatewayd refuses on its own reaches gatewayctl doctor: gatewayd reports it
to brokerd (GW_REFUSED, coalesced), and brokerd keeps the reports in a ring of
their own at a bounded rate (gatewayd's reports of the relay upstream,
GW_UPSTREAM: test_upstream_probe.py). Real daemons; the hostile reports come from
a fake gatewayd speaking the link protocol."""

import socket
import time

import pytest

from clawgate_test import protolink as pl
from clawgate_test import rawws
from test_hostile_gateway import Scene

GATEWAY_RING = 64           # REFUSALS_GATEWAY_MAX
REPORT_BURST = 32           # GWLINK_REPORT_BURST


def doctor(gw, *args):
    result = gw.ctl("doctor", *args, json_output=True)
    assert result.rc == 0, result
    return result.json


def wait_problem(gw, kind, timeout=10.0):
    """The doctor's problem of that kind, once gatewayd's report is in."""
    deadline = time.monotonic() + timeout
    while True:
        answer = doctor(gw)
        found = [p for p in answer["problems"] if p["kind"] == kind]
        if found:
            return answer, found
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)


def http_status(port, head):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(head)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


def test_untrusted_proxy_headers_are_explained_with_the_fix(gateway):
    """Forwarding headers from loopback, which is not in gateway.trustedProxies
    (the Docker-NAT and unlisted reverse-proxy mistake): refused with 403 by
    gatewayd alone, and doctor says which address to list, and where."""
    for _ in range(3):
        raw = rawws.RawWS(gateway.port, extra_headers=b"X-Forwarded-For: 203.0.113.7\r\n")
        assert raw.status == 403, raw.head
        raw.sock.close()
    answer, (p,) = wait_problem(gateway, "untrusted-proxy-headers")
    assert p["byGatewayd"] is True and p["address"] == "127.0.0.1", p
    assert p["closeCode"] == 403 and p["locality"] == "loopback", p
    assert "gateway.trustedProxies" in p["cause"], p
    assert ("add \"127.0.0.1\" to gateway.trustedProxies in %s, then systemctl reload "
            "brokerd" % gateway.config_path) in p["fix"], p
    # Three alike within a second or two: one problem, counted (in one report
    # or a few, never lost).
    deadline = time.monotonic() + 5
    while p["count"] < 3 and time.monotonic() < deadline:
        time.sleep(0.3)
        (p,) = [q for q in doctor(gateway)["problems"] if q["kind"] == p["kind"]]
    assert p["count"] == 3, p
    assert answer["gatewayReportsDropped"] == 0, answer

    text = gateway.ctl("doctor")
    assert text.rc == 1, text
    assert "[untrusted-proxy-headers] 3 times" in text.stdout, text.stdout
    assert "refused by gatewayd: 403" in text.stdout, text.stdout
    assert "add \"127.0.0.1\" to gateway.trustedProxies" in text.stdout, text.stdout


def test_bad_upgrades_and_connects_are_explained(gateway):
    """A WebSocket upgrade without Sec-WebSocket-Key (what a proxy that mangles
    the upgrade sends) and a first message that is not a connect."""
    status = http_status(gateway.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Version: 13\r\n\r\n")
    assert status == 400, status
    _, (p,) = wait_problem(gateway, "bad-websocket-upgrade")
    assert p["closeCode"] == 400 and "proxy_http_version 1.1" in p["fix"], p

    raw = rawws.RawWS(gateway.port)
    assert raw.status == 101
    raw.sock.sendall(rawws.text("this is not JSON"))
    _, (p,) = wait_problem(gateway, "invalid-connect")
    assert p["reason"] == "first frame is not JSON" and "protocol 4" in p["fix"], p
    raw.sock.close()


def refused_msg(**kw):
    msg = {"kind": "PROXY_UNTRUSTED", "addr": "192.0.2.1", "peer": "", "code": 403,
           "reason": "proxy client attribution is required", "client_id": "",
           "client_mode": "", "device_id": "", "origin": "", "count": 1}
    msg.update(kw)
    return msg


def test_a_report_flood_is_bounded(gateway):
    """A hostile gatewayd reporting without end: brokerd keeps at most its ring of
    gatewayd reports, counts the excess, logs it once, and serves on."""
    scene = Scene(gateway)
    link = scene.fake()
    sent = 2000
    link.send_raw(b"".join(pl.encode(pl.GW_REFUSED, refused_msg(addr="192.0.2.%d" % (i % 250),
                                                                 count=1), i + 1)
                           for i in range(sent)))
    deadline = time.monotonic() + 10
    while True:
        answer = doctor(gateway)
        if answer["gatewayReportsKept"] + answer["gatewayReportsDropped"] >= sent:
            break
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)
    assert REPORT_BURST <= answer["gatewayReportsKept"] <= GATEWAY_RING, answer
    assert answer["gatewayReportsCapacity"] == GATEWAY_RING, answer
    assert answer["gatewayReportsDropped"] >= sent - GATEWAY_RING, answer
    assert answer["refusalsCapacity"] == 256, answer
    assert gateway.broker.logged("reports come faster than 8 per second: the excess is "
                                 "counted, not kept"), gateway.logs()
    text = gateway.ctl("doctor")
    assert "refusals gatewayd reported were not kept" in text.stdout, text.stdout
    link.close()
    scene.assert_unharmed()


@pytest.mark.parametrize("msg_type, msg, logged", [
    (pl.GW_REFUSED, refused_msg(kind="NOT_A_KIND"), "GW_REFUSED with an unknown kind"),
    (pl.GW_REFUSED, refused_msg(addr="not-an-address"),
     "GW_REFUSED with an address that is not one"),
    (pl.GW_REFUSED, refused_msg(code=200), "GW_REFUSED with a code that is neither"),
    (pl.GW_REFUSED, refused_msg(count=0), "GW_REFUSED with a count of 0"),
    (pl.GW_REFUSED, refused_msg(reason="bidi \u202e text"), "malformed PROTO_GW_REFUSED"),
    (pl.GW_UPSTREAM, {"reachable": 0, "at_ms": 1, "last_ok_ms": 0, "error": "x"},
     "GW_UPSTREAM with relay mode off"),
])
def test_a_malformed_report_drops_the_link(gateway, msg_type, msg, logged):
    scene = Scene(gateway)
    link = scene.fake()
    link.send(msg_type, msg)
    assert link.eof(), "brokerd kept a link that sent an impossible report"
    assert gateway.broker.logged(logged), gateway.logs()
    assert doctor(gateway)["gatewayReportsKept"] == 0
    link.close()
    scene.assert_unharmed()


def test_a_truncated_report_drops_the_link(gateway):
    scene = Scene(gateway)
    link = scene.fake()
    payload = pl.encode_payload(pl.GW_REFUSED, refused_msg())
    link.send_raw(pl.frame(pl.GW_REFUSED, payload[:-2]))
    assert link.eof()
    assert gateway.broker.logged("malformed PROTO_GW_REFUSED"), gateway.logs()
    link.close()
    scene.assert_unharmed()

