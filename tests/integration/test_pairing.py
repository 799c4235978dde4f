"""The pairing flow with gatewayctl as the admin (doc/protocol.md §4.5, §6, and the
control socket): pending requests, approve / --latest / reject / remove, device
tokens, scope upgrades, and the Control UI's v2 path."""

import json
import time

from clawgate_test import expect
from clawgate_test.clawclient import (
    CONTROL_UI_SCOPES,
    Identity,
    cli_params,
    control_ui_params,
    handshake,
)
from clawgate_test.flows import device_token_connect, pair_device, request_pairing


def now_ms():
    return int(time.time() * 1000)


def check_pending(entry, ident, request_id, scopes, client_id="cli", mode="cli"):
    """§6.1 public pending request of a loopback client."""
    assert entry["requestId"] == request_id, entry
    assert entry["deviceId"] == ident.device_id, entry
    assert entry["publicKey"] == ident.public_key, entry
    assert entry["role"] == "operator" and entry["roles"] == ["operator"], entry
    assert entry["scopes"] == list(scopes), entry
    assert entry.get("clientId") == client_id and entry.get("clientMode") == mode, entry
    assert entry["silent"] is False and entry["isRepair"] is False, entry
    assert abs(entry["ts"] - now_ms()) < 60000, entry
    assert "remoteIp" not in entry, "remoteIp is only for non-loopback clients: %r" % entry
    assert "refreshedAtMs" not in entry, "refreshedAtMs is never published: %r" % entry


def check_paired(entry, ident, scopes):
    """§6.2 published paired record (list form)."""
    assert entry["deviceId"] == ident.device_id, entry
    assert entry["publicKey"] == ident.public_key, entry
    assert entry["role"] == "operator" and entry["roles"] == ["operator"], entry
    assert set(scopes) <= set(entry["scopes"]), entry
    assert entry["approvedVia"] == "owner", entry
    assert isinstance(entry["connected"], bool), entry
    for key in ("createdAtMs", "approvedAtMs"):
        assert abs(entry[key] - now_ms()) < 60000, entry
    assert "approvedScopes" not in entry, entry
    assert [t["role"] for t in entry["tokens"]] == ["operator"], entry
    for token in entry["tokens"]:
        assert set(token) <= {"role", "scopes", "createdAtMs", "rotatedAtMs", "revokedAtMs",
                              "lastUsedAtMs"}, "published token carries more: %r" % token


def test_unknown_device_gets_a_pairing_request(gateway):
    ident = Identity()
    request_id = request_pairing(gateway, ident)
    listing = gateway.devices()
    assert listing["paired"] == []
    (pending,) = listing["pending"]
    check_pending(pending, ident, request_id, ["operator.read"])
    # The text table shows the request id and the verification code.
    table = gateway.ctl_ok("devices", "list").stdout
    assert request_id in table, table
    assert expect.verification_code_shown(table, ident.device_id), table


def test_a_retrying_device_keeps_its_request(gateway):
    ident = Identity()
    first = request_pairing(gateway, ident)
    assert request_pairing(gateway, ident) == first
    assert [p["requestId"] for p in gateway.devices()["pending"]] == [first]


def test_approve_gives_a_device_token_and_it_works_alone(gateway):
    ident = Identity()
    request_id = request_pairing(gateway, ident)
    gateway.ctl_ok("devices", "approve", request_id)
    listing = gateway.devices()
    assert listing["pending"] == []
    (paired,) = listing["paired"]
    check_paired(paired, ident, ["operator.read"])

    hello = handshake(gateway.url, cli_params(token=gateway.token), identity=ident).hello
    auth = hello["auth"]
    assert auth["method"] == "token" and auth["role"] == "operator", auth
    assert auth["scopes"] == ["operator.read"], auth
    device_token = auth["deviceToken"]
    assert len(device_token) == 43 and abs(auth["issuedAtMs"] - now_ms()) < 60000, auth
    assert device_token not in json.dumps(gateway.devices()), "list shows the device token"

    again = device_token_connect(gateway, ident, device_token).hello["auth"]
    assert again["method"] == "device-token", again
    assert again["scopes"] == ["operator.read"], again
    assert "deviceToken" not in again, "a device on its device token gets no new one: %r" % again
    assert again["recoveryScope"] == auth["recoveryScope"]


def test_reject_removes_the_request(gateway):
    ident = Identity()
    request_id = request_pairing(gateway, ident)
    gateway.ctl_ok("devices", "reject", request_id)
    assert gateway.devices() == {"pending": [], "paired": []}
    assert gateway.ctl("devices", "reject", request_id).rc == 1
    assert gateway.ctl("devices", "approve", request_id).rc == 1
    new_id = request_pairing(gateway, ident)
    assert new_id != request_id


def test_approve_latest_with_one_pending(gateway):
    ident = Identity()
    request_id = request_pairing(gateway, ident)
    result = gateway.ctl_ok("devices", "approve", "--latest")
    assert request_id in result.output or ident.device_id in result.output, result
    listing = gateway.devices()
    assert listing["pending"] == [] and [p["deviceId"] for p in listing["paired"]] == [
        ident.device_id]


def test_approve_latest_refuses_with_two_pending(gateway):
    first, second = Identity(), Identity()
    ids = [request_pairing(gateway, first), request_pairing(gateway, second)]
    result = gateway.ctl("devices", "approve", "--latest")
    assert result.rc == 1, result
    assert all(i in result.output for i in ids) or "devices list" in result.output, \
        "the refusal should name the requests or how to list them: %r" % result
    listing = gateway.devices()
    assert listing["paired"] == [] and len(listing["pending"]) == 2


def test_approve_latest_with_nothing_pending(gateway):
    result = gateway.ctl("devices", "approve", "--latest")
    assert result.rc == 1 and result.output.strip(), result


def test_approve_unknown_request_id(gateway):
    result = gateway.ctl("devices", "approve", "no-such-request")
    assert result.rc == 1, result
    assert "no-such-request" in result.output, result


def test_remove_disconnects_and_requires_pairing_again(gateway):
    ident = Identity()
    device_token = pair_device(gateway, ident)
    session = device_token_connect(gateway, ident, device_token)
    assert session.ok
    gateway.ctl_ok("devices", "remove", ident.device_id)
    assert session.expect_close() == (1008, "device removed")
    assert gateway.devices()["paired"] == []
    expect.unauthorized(device_token_connect(gateway, ident, device_token),
                        "unauthorized: device token mismatch (rotate/reissue device token)",
                        details_code="AUTH_DEVICE_TOKEN_MISMATCH",
                        auth_reason="device_token_mismatch", next_step="update_auth_credentials")
    request_pairing(gateway, ident)


def test_scope_upgrade_needs_a_new_approval(gateway):
    ident = Identity()
    pair_device(gateway, ident, ["operator.read"])
    wider = ["operator.read", "operator.pairing"]
    attempt = handshake(gateway.url, cli_params(token=gateway.token, scopes=wider),
                        identity=ident)
    request_id = expect.pairing_required(attempt, ident, requested_scopes=wider,
                                         reason="scope-upgrade")
    details = attempt.error["details"]
    assert details["approvedScopes"] == ["operator.read"], details
    assert details["approvedRoles"] == ["operator"], details
    (pending,) = gateway.devices()["pending"]
    assert pending["requestId"] == request_id and pending["isRepair"] is True, pending
    assert set(wider) <= set(pending["scopes"]), pending

    gateway.ctl_ok("devices", "approve", request_id)
    hello = handshake(gateway.url, cli_params(token=gateway.token, scopes=wider),
                      identity=ident).hello
    assert set(hello["auth"]["scopes"]) == set(wider), hello["auth"]


def test_scope_upgrade_close_reason_is_cut_at_120_bytes(gateway):
    ident = Identity()
    pair_device(gateway, ident, ["operator.read"])
    attempt = handshake(gateway.url, cli_params(token=gateway.token,
                                                scopes=["operator.admin"]), identity=ident)
    request_id = attempt.error["details"]["requestId"]
    full = ("pairing required: device is asking for more scopes than currently approved "
            "(requestId: %s)" % request_id)
    code, reason = attempt.expect_close()
    assert code == 1008
    assert len(full.encode()) > 120 and reason == full[:120], reason
    assert reason.startswith("pairing required: device is asking for more scopes than currently "
                             "approved (requestId: ")


def test_device_token_session_never_widens_itself(gateway):
    ident = Identity()
    device_token = pair_device(gateway, ident, ["operator.read"])
    attempt = device_token_connect(gateway, ident, device_token,
                                   scopes=["operator.read", "operator.pairing"])
    expect.unauthorized(attempt, "unauthorized: device token scope mismatch (re-pair or approve "
                                 "scope upgrade)",
                        details_code="AUTH_SCOPE_MISMATCH", auth_reason="scope_mismatch",
                        next_step="review_auth_configuration")


def test_control_ui_pairs_with_v2_signatures(gateway):
    ident = Identity()
    origin = "http://127.0.0.1:%d" % gateway.port

    def ui_connect(params):
        return handshake(gateway.url, params, identity=ident, version="v2", origin=origin)

    attempt = ui_connect(control_ui_params(token=gateway.token))
    request_id = expect.pairing_required(attempt, ident, requested_scopes=CONTROL_UI_SCOPES,
                                         control_ui=True)
    (pending,) = gateway.devices()["pending"]
    check_pending(pending, ident, request_id, CONTROL_UI_SCOPES,
                  client_id="openclaw-control-ui", mode="webchat")
    gateway.ctl_ok("devices", "approve", request_id)

    auth = ui_connect(control_ui_params(token=gateway.token)).hello["auth"]
    assert auth["method"] == "token" and set(auth["scopes"]) == set(CONTROL_UI_SCOPES), auth
    device_token = auth["deviceToken"]
    again = ui_connect(control_ui_params(device_token=device_token)).hello["auth"]
    assert again["method"] == "device-token", again
    assert set(again["scopes"]) == set(CONTROL_UI_SCOPES), again


def device_connected(gw, ident):
    return gw.paired_entry(ident.device_id)["connected"]


def until_disconnected(gw, ident, attempts=200):
    """gatewayd reports a session's end to brokerd on its own time: bounded polling."""
    for _ in range(attempts):
        if device_connected(gw, ident) is False:
            return
        time.sleep(0.05)
    raise AssertionError("device %s still listed as connected" % ident.device_id)


def test_connected_follows_the_devices_sessions(gateway):
    """brokerd keeps no sessions, only counts per device: "connected" is true while
    one is open, false once the last has ended, and false at once when brokerd
    closes them (here by revoking the token they came with)."""
    ident = Identity()
    device_token = pair_device(gateway, ident)
    until_disconnected(gateway, ident)
    one = device_token_connect(gateway, ident, device_token)
    two = device_token_connect(gateway, ident, device_token)
    assert device_connected(gateway, ident) is True
    one.close()
    assert two.conn.request("health")["ok"] is True
    assert device_connected(gateway, ident) is True
    two.close()
    until_disconnected(gateway, ident)
    three = device_token_connect(gateway, ident, device_token)
    assert device_connected(gateway, ident) is True
    gateway.ctl_ok("devices", "revoke", ident.device_id)
    assert device_connected(gateway, ident) is False
    assert three.expect_close() == (1008, "device token revoked")
