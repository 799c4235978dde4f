"""The echo upstream (tests/lib/clawgate_test/echoupstream.py) answers like the real
upstream of doc/relay.md where the relay tests and the benchmark rely on it: the
upgrade checks, the challenge, the connect's refusals and hello-ok, then echoes,
events of a chosen size and closes with a chosen code. Spoken to directly, as a
relay would."""

import json

import pytest

from clawgate_test import clawclient
from clawgate_test.clawclient import Connection
from clawgate_test.echoupstream import EchoUpstream
from clawgate_test.harness import http_request

RELAY_HEADERS = {"x-clawgate-user": "clawgate", "x-clawgate-relay": "1",
                 "X-Forwarded-For": "192.0.2.1"}
CONNECT = {"minProtocol": 4, "maxProtocol": 4, "role": "operator", "caps": [],
           "client": {"id": "cli", "version": "2026.9.6", "platform": "linux", "mode": "cli"}}
MIB = 1 << 20


@pytest.fixture
def echo(tmp_path):
    with EchoUpstream(tmp_path) as up:
        yield up
    clawclient.close_all()


def raw_request(conn, obj):
    conn.send_text(json.dumps(obj))


def recv(conn, timeout=10.0):
    return json.loads(conn.recv_text(timeout))


def admitted(echo, headers=RELAY_HEADERS, params=CONNECT):
    conn = Connection.open(echo.url, headers=headers)
    challenge = recv(conn)
    assert challenge["event"] == "connect.challenge"
    assert challenge["payload"]["capabilities"] == ["model-catalog-snapshot"]
    assert "seq" not in challenge
    raw_request(conn, {"type": "req", "id": "c1", "method": "connect", "params": params})
    return conn, recv(conn)


def test_hello_ok_is_trusted_proxy_shaped_and_scopes_are_filtered(echo):
    conn, res = admitted(echo, {**RELAY_HEADERS, "x-openclaw-scopes": "operator.read, nope"})
    assert res["ok"] and res["id"] == "c1"
    hello = res["payload"]
    assert hello["type"] == "hello-ok" and hello["protocol"] == 4
    assert hello["auth"]["method"] == "trusted-proxy"
    assert hello["auth"]["scopes"] == ["operator.read"]
    assert "deviceToken" not in hello["auth"] and len(hello["auth"]["recoveryScope"]) == 43
    assert hello["policy"]["maxPayload"] == 26214400
    assert "authMode" not in hello["snapshot"]
    conn, res = admitted(echo)
    assert len(res["payload"]["auth"]["scopes"]) == 8
    assert res["payload"]["snapshot"]["authMode"] == "trusted-proxy"
    (headers,) = [h for h in echo.upgrades() if ("x-openclaw-scopes", "operator.read, nope") in h]
    assert ("x-clawgate-user", "clawgate") in headers
    assert echo.connects()[0] == CONNECT


@pytest.mark.parametrize("drop", ["x-clawgate-user", "x-clawgate-relay", "X-Forwarded-For"])
def test_a_missing_trusted_proxy_header_is_refused_at_connect(echo, drop):
    headers = {k: v for k, v in RELAY_HEADERS.items() if k != drop}
    conn, res = admitted(echo, headers)
    assert res["error"]["code"] == "NOT_PAIRED"
    assert res["error"]["message"] == "device identity required"
    assert conn.expect_close() == (1008, "device identity required")


def test_node_and_device_are_refused(echo):
    conn, res = admitted(echo, params={**CONNECT, "role": "node"})
    assert (res["error"]["code"], conn.expect_close()[0]) == ("NOT_PAIRED", 1008)
    conn, res = admitted(echo, params={**CONNECT, "device": {"id": "x"}})
    assert res["error"]["message"] == "device nonce mismatch"


@pytest.mark.parametrize("xff", ["127.0.0.1", "::1"])
def test_a_loopback_client_address_gets_403(echo, xff):
    status, _, body = http_request("127.0.0.1", echo.port, "/", headers={
        **RELAY_HEADERS, "X-Forwarded-For": xff, "Upgrade": "websocket",
        "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert status == 403
    assert json.loads(body)["error"]["type"] == "proxy_attribution_required"


def test_a_request_that_is_no_upgrade_gets_400(echo):
    status, _, _ = http_request("127.0.0.1", echo.port, "/", headers=RELAY_HEADERS)
    assert status == 400
    (headers,) = echo.upgrades()     # recorded all the same
    assert ("x-clawgate-user", "clawgate") in headers


def test_echo_events_and_close(echo):
    conn, _ = admitted(echo)
    params = {"data": "x" * (3 * MIB), "n": [1, {"a": "\"}"}]}
    raw_request(conn, {"type": "req", "id": "e1", "method": "echo", "params": params})
    assert recv(conn) == {"type": "res", "id": "e1", "ok": True, "payload": params}
    raw_request(conn, {"type": "req", "id": "e2", "method": "echo.events",
                       "params": {"size": 25 * MIB, "count": 2}})
    assert recv(conn)["id"] == "e2"
    for seq in (1, 2):
        text = conn.recv_text(10.0)
        assert len(text) == 25 * MIB
        event = json.loads(text)
        assert (event["event"], event["seq"], event["payload"]["i"]) == ("echo.data", seq, seq)
    raw_request(conn, {"type": "req", "id": "e3", "method": "echo.close",
                       "params": {"code": 4001, "reason": "gateway policy changed"}})
    assert recv(conn)["id"] == "e3"
    assert conn.expect_close() == (4001, "gateway policy changed")
