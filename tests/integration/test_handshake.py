"""Framing, the challenge, connect schema and protocol checks (doc/protocol.md §1-§2,
§4.1 steps 1-4, §5 first rows), and the hello-ok of a device-less admin CLI."""

import json
import time

import pytest

from clawgate_test import expect, frames
from clawgate_test.clawclient import Closed, Connection, cli_params, handshake


def open_challenged(gw):
    conn = Connection.open(gw.url)
    conn.read_challenge()
    return conn


def test_challenge_is_the_first_frame_and_nothing_is_negotiated(gateway):
    conn = Connection.open(gateway.url)
    challenge = conn.read_challenge()          # shape checked by frames.check_challenge
    assert abs(challenge["ts"] - time.time() * 1000) < 5000, challenge
    # Clients offer permessage-deflate and no subprotocol; the server takes neither.
    assert conn.extensions == []
    assert "Sec-WebSocket-Extensions" not in conn.response_headers
    assert "Sec-WebSocket-Protocol" not in conn.response_headers
    assert Connection.open(gateway.url).read_challenge()["nonce"] != challenge["nonce"]


def test_upgrade_is_accepted_on_any_path(gateway):
    conn = Connection.open(gateway.url + "some/base/path?x=1")
    conn.read_challenge()


@pytest.mark.parametrize("scopes", [
    ["operator.read"],
    ["operator.pairing"],
    ["operator.admin"],
    ["operator.write", "operator.read"],
    [],
])
def test_device_less_cli_operator_gets_its_scopes(gateway, scopes):
    attempt = handshake(gateway.url, cli_params(token=gateway.token, scopes=scopes))
    hello = attempt.hello                      # validated against §2.4 by handshake()
    assert hello["auth"]["method"] == "token"
    assert hello["auth"]["role"] == "operator"
    assert hello["auth"]["scopes"] == scopes
    assert "deviceToken" not in hello["auth"] and "issuedAtMs" not in hello["auth"]
    assert "recoveryScope" in hello["auth"], "send a recoveryScope (§2.4): %r" % hello["auth"]
    assert hello["policy"]["tickIntervalMs"] == 30000


def test_each_connection_has_its_own_conn_id(gateway):
    first = handshake(gateway.url, cli_params(token=gateway.token)).hello
    second = handshake(gateway.url, cli_params(token=gateway.token)).hello
    assert first["server"]["connId"] != second["server"]["connId"]
    assert first["auth"]["recoveryScope"] == second["auth"]["recoveryScope"]


def test_every_advertised_method_is_implemented(gateway):
    attempt = handshake(gateway.url, cli_params(token=gateway.token, scopes=["operator.admin"]))
    params = {"device.pair.approve": {"requestId": "no-such-request"},
              "device.pair.reject": {"requestId": "no-such-request"},
              "device.pair.remove": {"deviceId": "no-such-device"},
              "device.pair.list": {}}
    for method in attempt.hello["features"]["methods"]:
        res = attempt.conn.request(method, params.get(method))
        if not res["ok"]:
            assert not res["error"]["message"].startswith("unknown method"), (method, res)


def test_unknown_method_keeps_the_session(gateway):
    attempt = handshake(gateway.url, cli_params(token=gateway.token))
    res = attempt.conn.request("foo.bar", {})
    assert res["ok"] is False
    assert res["error"] == {"code": "INVALID_REQUEST", "message": "unknown method: foo.bar"}
    assert attempt.conn.request("health")["ok"] is True


def test_ping_is_answered(gateway):
    attempt = handshake(gateway.url, cli_params(token=gateway.token))
    attempt.conn.ping()
    assert attempt.conn.request("health")["ok"] is True


@pytest.mark.parametrize("edit, message", [
    (lambda p: p.update(bogus=1),
     "invalid connect params: at root: unexpected property 'bogus'"),
    (lambda p: p["client"].update(id="nope"),
     "invalid connect params: at /client/id: must be equal to one of the allowed values"),
], ids=["unknown-property", "client-id-enum"])
def test_invalid_connect_params_observed_texts(gateway, edit, message):
    attempt = handshake(gateway.url, cli_params(token=gateway.token), edit=edit)
    expect.rejected(attempt, code="INVALID_REQUEST", message=message)


@pytest.mark.parametrize("edit", [
    lambda p: p.pop("minProtocol"),
    lambda p: p.update(minProtocol="4"),
    lambda p: p.update(maxProtocol=0),
    lambda p: p.pop("client"),
    lambda p: p["client"].pop("version"),
    lambda p: p["client"].update(platform=""),
    lambda p: p["client"].update(mode="robot"),
    lambda p: p["client"].update(bogus=True),
    lambda p: p.update(scopes="operator.read"),
    lambda p: p.update(scopes=[""]),
    lambda p: p.update(role=""),
    lambda p: p.update(auth={"token": 5}),
    lambda p: p.update(auth={"bogus": "x"}),
    lambda p: p.update(device={"id": "x", "publicKey": "y", "nonce": "z", "signedAt": 1}),
    lambda p: p.update(device={"id": "x", "publicKey": "y", "signature": "s", "nonce": "z",
                               "signedAt": -1}),
    lambda p: p.update(permissions={"a": "yes"}),
    lambda p: p["client"].update(timeZone="x" * 65),
], ids=["no-minProtocol", "string-protocol", "protocol-0", "no-client", "no-version",
        "empty-platform", "mode-enum", "client-closed", "scopes-string", "empty-scope",
        "empty-role", "token-number", "auth-closed", "device-no-signature",
        "negative-signedAt", "permissions-not-bool", "timezone-too-long"])
def test_invalid_connect_params(gateway, edit):
    attempt = handshake(gateway.url, cli_params(token=gateway.token), edit=edit)
    err = attempt.error
    assert err["code"] == "INVALID_REQUEST", err
    assert err["message"].startswith("invalid connect params: at "), err
    assert attempt.expect_close() == (1008, expect.truncate_reason(err["message"]))


def test_first_request_must_be_connect(gateway):
    conn = open_challenged(gateway)
    res = conn.request("health", req_id="first")
    assert res == {"type": "res", "id": "first", "ok": False, "error": {
        "code": "INVALID_REQUEST", "message": "invalid handshake: first request must be connect"}}
    expect.closed_without_res(conn, 1008, "invalid handshake: first request must be connect")


@pytest.mark.parametrize("text", ["this is not json", "{\"type\":", ""])
def test_not_json_closes_1000_without_res(gateway, text):
    conn = open_challenged(gateway)
    conn.send_text(text)
    expect.closed_without_res(conn, 1000, "")


@pytest.mark.parametrize("frame", [
    [1, 2, 3],
    {"type": "event", "event": "connect"},
    {"type": "req", "method": "connect", "params": {}},
    {"type": "req", "id": "1"},
], ids=["array", "event", "no-id", "no-method"])
def test_not_a_request_frame(gateway, frame):
    conn = open_challenged(gateway)
    conn.send(frame)
    expect.closed_without_res(conn, 1008, "invalid request frame")


def test_oversize_message_before_hello_closes_1009(gateway):
    conn = open_challenged(gateway)
    params = cli_params(token=gateway.token)
    params["userAgent"] = "x" * 70000
    try:
        conn.send_text(json.dumps({"type": "req", "id": "1", "method": "connect",
                                   "params": params}))
    except Closed as closed:     # the server may close while the frame is still going out
        assert (closed.code, closed.reason) == (1009, ""), closed
        return
    expect.closed_without_res(conn, 1009, "")


@pytest.mark.parametrize("low, high", [(1, 3), (5, 6)])
def test_protocol_mismatch_closes_1002(gateway, low, high):
    params = cli_params(token=gateway.token)
    params.update(minProtocol=low, maxProtocol=high)
    attempt = handshake(gateway.url, params)
    expect.rejected(attempt, code="INVALID_REQUEST", message="protocol mismatch", close_code=1002,
                    details={"code": "PROTOCOL_MISMATCH", "clientMinProtocol": low,
                             "clientMaxProtocol": high, "expectedProtocol": 4,
                             "minimumProbeProtocol": 3})


def test_protocol_range_containing_4_is_accepted(gateway):
    params = cli_params(token=gateway.token)
    params.update(minProtocol=3, maxProtocol=5)
    assert handshake(gateway.url, params).hello["protocol"] == 4


def test_invalid_role(gateway):
    attempt = handshake(gateway.url, cli_params(token=gateway.token, role="admin"))
    expect.rejected(attempt, code="INVALID_REQUEST", message="invalid role")


def test_hello_ok_checker_rejects_bad_shapes():
    """The §2.4 checker used above catches what it must (no daemon needed)."""
    good = {
        "type": "hello-ok", "protocol": 4,
        "server": {"version": "0.1.0", "connId": "3f0c2a9e-5b1d-4e6f-9a7b-0c1d2e3f4a5b"},
        "features": {"methods": sorted(frames.IMPLEMENTED_METHODS),
                     "events": sorted(frames.ADVERTISED_EVENTS)},
        "snapshot": {"presence": [], "health": {}, "stateVersion": {"presence": 0, "health": 0},
                     "uptimeMs": 5},
        "auth": {"method": "token", "role": "operator", "scopes": ["operator.read"],
                 "recoveryScope": "r"},
        "policy": {"maxPayload": 26214400, "maxBufferedBytes": 52428800,
                   "tickIntervalMs": 30000},
    }
    frames.check_hello_ok(json.loads(json.dumps(good)))
    breakages = [
        lambda h: h.update(extra=1),
        lambda h: h.pop("snapshot"),
        lambda h: h.update(protocol=True),
        lambda h: h["server"].update(connId="nope"),
        lambda h: h["auth"].update(bogus=1),
        lambda h: h["auth"].update(recoveryMigrationAllowed=False),
        lambda h: h["auth"].update(deviceToken="short"),
        lambda h: h["features"]["methods"].remove("status"),
        lambda h: h["features"]["methods"].append("device.token.rotate"),
        lambda h: h["policy"].update(tickIntervalMs=15000),
        lambda h: h["snapshot"]["stateVersion"].update(extra=0),
    ]
    for breakage in breakages:
        hello = json.loads(json.dumps(good))
        breakage(hello)
        with pytest.raises(AssertionError):
            frames.check_hello_ok(hello)
