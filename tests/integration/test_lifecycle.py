"""Token and pairing lifecycle (doc/protocol.md §6, §7.1): device.pair.rename,
device.token.rotate / revoke over RPC and with gatewayctl, the live sessions they
close, pending-request supersede, the per-address rate of new requests, and
`gatewayctl token rotate` (one command with `token generate`)."""

import re
import time

import pytest

from clawgate_test import expect
from clawgate_test.clawclient import Identity, cli_params, handshake
from clawgate_test.flows import admin_session, device_token_connect, pair_device, request_pairing

MISMATCH = "unauthorized: device token mismatch (rotate/reissue device token)"
TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")


def device_mismatch(attempt):
    expect.unauthorized(attempt, MISMATCH, details_code="AUTH_DEVICE_TOKEN_MISMATCH",
                        auth_reason="device_token_mismatch", next_step="update_auth_credentials")


# ---- device.pair.rename ----

def test_rename_over_rpc(gateway):
    admin = admin_session(gateway, ["operator.pairing"])
    ident = Identity()
    pair_device(gateway, ident)
    res = admin.request("device.pair.rename", {"deviceId": ident.device_id,
                                               "label": "  Kitchen laptop  "})
    assert res["ok"] is True, res
    assert res["payload"] == {"deviceId": ident.device_id, "label": "Kitchen laptop"}, res
    changed = admin.wait_event("device.pair.changed")
    assert changed["payload"] == {}, changed
    assert gateway.paired_entry(ident.device_id)["operatorLabel"] == "Kitchen laptop"
    # Kept across a restart: it is in the registry, not only in memory.
    gateway.restart()
    assert gateway.paired_entry(ident.device_id)["operatorLabel"] == "Kitchen laptop"


@pytest.mark.parametrize("params, message", [
    ({"label": "   "}, "label required"),
    ({"label": "x", "deviceId": "no-such-device"}, "unknown deviceId"),
])
def test_rename_refusals(gateway, params, message):
    admin = admin_session(gateway, ["operator.pairing"])
    ident = Identity()
    pair_device(gateway, ident)
    params = dict({"deviceId": ident.device_id}, **params)
    res = admin.request("device.pair.rename", params)
    assert res["ok"] is False and res["error"]["message"] == message, res
    assert "operatorLabel" not in gateway.paired_entry(ident.device_id)


def test_a_bound_device_may_not_rename_another(gateway):
    me, other = Identity(), Identity()
    scopes = ("operator.pairing",)
    token = pair_device(gateway, me, scopes)
    pair_device(gateway, other)
    session = device_token_connect(gateway, me, token, scopes=scopes)
    res = session.conn.request("device.pair.rename", {"deviceId": other.device_id,
                                                      "label": "mine now"})
    assert res["ok"] is False and res["error"]["message"] == "device pairing rename denied", res
    # Its own device is fine.
    res = session.conn.request("device.pair.rename", {"deviceId": me.device_id, "label": "me"})
    assert res["ok"] is True, res


def test_rename_with_gatewayctl(gateway):
    ident = Identity()
    pair_device(gateway, ident)
    out = gateway.ctl_ok("devices", "rename", ident.device_id, "Büro PC").stdout
    assert ident.device_id in out and "Büro PC" in out, out
    assert gateway.paired_entry(ident.device_id)["operatorLabel"] == "Büro PC"
    assert "Büro PC" in gateway.ctl_ok("devices", "list").stdout
    result = gateway.ctl("devices", "rename", ident.device_id, "  ")
    assert result.rc == 1 and "name" in result.output, result
    assert gateway.ctl("devices", "rename", ident.device_id).rc == 2


# ---- device.token.rotate ----

def test_rotate_by_an_admin_withholds_the_token_and_closes_the_device(gateway):
    admin = admin_session(gateway, ["operator.pairing", "operator.read"])
    ident = Identity()
    old = pair_device(gateway, ident)
    session = device_token_connect(gateway, ident, old)
    assert session.ok
    res = admin.request("device.token.rotate", {"deviceId": ident.device_id,
                                                "role": "operator"})
    assert res["ok"] is True, res
    payload = res["payload"]
    assert set(payload) == {"deviceId", "role", "scopes", "rotatedAtMs", "tokenDelivery"}, res
    assert payload["deviceId"] == ident.device_id and payload["role"] == "operator", res
    assert payload["scopes"] == ["operator.read"], res
    assert payload["tokenDelivery"] == "withheld-cross-device", res
    assert session.expect_close() == (1008, "device token rotated")
    device_mismatch(device_token_connect(gateway, ident, old))
    (token,) = gateway.paired_entry(ident.device_id)["tokens"]
    assert token["rotatedAtMs"] == payload["rotatedAtMs"], token
    # The device comes back with the shared token and gets a new device token.
    hello = handshake(gateway.url, cli_params(token=gateway.token), identity=ident).hello
    new = hello["auth"]["deviceToken"]
    assert new != old
    assert device_token_connect(gateway, ident, new).ok


def test_a_device_rotating_its_own_token_gets_it_in_band(gateway):
    ident = Identity()
    scopes = ("operator.pairing", "operator.read")
    old = pair_device(gateway, ident, scopes)
    me = device_token_connect(gateway, ident, old, scopes=scopes)
    other = device_token_connect(gateway, ident, old, scopes=scopes)
    res = me.conn.request("device.token.rotate", {"deviceId": ident.device_id,
                                                  "role": "operator",
                                                  "scopes": ["operator.read"]})
    assert res["ok"] is True, res
    assert res["payload"]["tokenDelivery"] == "in-band", res
    assert res["payload"]["scopes"] == ["operator.read"], res
    new = res["payload"]["token"]
    assert TOKEN_RE.fullmatch(new), res
    # Its other session closes; the asking one stays open for the answer.
    assert other.expect_close() == (1008, "device token rotated")
    assert me.conn.request("health")["ok"] is True
    device_mismatch(device_token_connect(gateway, ident, old, scopes=scopes))
    assert device_token_connect(gateway, ident, new, scopes=["operator.read"]).ok
    # The narrower token does not cover operator.pairing any more.
    attempt = device_token_connect(gateway, ident, new, scopes=scopes)
    assert attempt.error["details"]["code"] == "AUTH_SCOPE_MISMATCH", attempt.error


@pytest.mark.parametrize("params", [
    {"role": "operator", "scopes": ["operator.admin"]},    # beyond the approved scopes
    {"role": "node"},                                      # a role it does not have
    {"role": "no-such-role"},
])
def test_rotate_denied(gateway, params):
    admin = admin_session(gateway, ["operator.admin"])
    ident = Identity()
    token = pair_device(gateway, ident)
    res = admin.request("device.token.rotate", dict({"deviceId": ident.device_id}, **params))
    assert res["ok"] is False, res
    assert res["error"]["message"] == "device token rotation denied", res
    assert device_token_connect(gateway, ident, token).ok, "a denied rotation changed the token"


def test_rotate_is_bounded_by_the_callers_scopes(gateway):
    admin = admin_session(gateway, ["operator.pairing"])
    ident = Identity()
    scopes = ("operator.read", "operator.write")
    token = pair_device(gateway, ident, scopes)
    res = admin.request("device.token.rotate", {"deviceId": ident.device_id,
                                                "role": "operator"})
    assert res["ok"] is False and res["error"]["message"] == "device token rotation denied", res
    assert device_token_connect(gateway, ident, token, scopes=scopes).ok


def test_rotate_needs_device_and_role_params(gateway):
    admin = admin_session(gateway, ["operator.pairing"])
    res = admin.request("device.token.rotate", {"deviceId": "x"})
    assert res["ok"] is False and "'role'" in res["error"]["message"], res
    res = admin.request("device.token.rotate", {"role": "operator", "deviceId": "nope"})
    assert res["ok"] is False and res["error"]["message"] == "unknown deviceId", res


# ---- device.token.revoke ----

def test_revoke_over_rpc(gateway):
    admin = admin_session(gateway, ["operator.pairing", "operator.read"])
    ident = Identity()
    token = pair_device(gateway, ident)
    session = device_token_connect(gateway, ident, token)
    res = admin.request("device.token.revoke", {"deviceId": ident.device_id,
                                                "role": "operator"})
    assert res["ok"] is True, res
    assert set(res["payload"]) == {"deviceId", "role", "revokedAtMs"}, res
    assert session.expect_close() == (1008, "device token revoked")
    device_mismatch(device_token_connect(gateway, ident, token))
    (entry,) = gateway.paired_entry(ident.device_id)["tokens"]
    assert entry["revokedAtMs"] == res["payload"]["revokedAtMs"], entry
    gateway.restart()
    device_mismatch(device_token_connect(gateway, ident, token))


def test_revoke_leaves_other_devices_alone(gateway):
    admin = admin_session(gateway, ["operator.pairing", "operator.read"])
    a, b = Identity(), Identity()
    token_a, token_b = pair_device(gateway, a), pair_device(gateway, b)
    session_b = device_token_connect(gateway, b, token_b)
    assert admin.request("device.token.revoke", {"deviceId": a.device_id,
                                                 "role": "operator"})["ok"] is True
    assert session_b.conn.request("health")["ok"] is True
    assert device_token_connect(gateway, b, token_b).ok
    device_mismatch(device_token_connect(gateway, a, token_a))


def test_a_bound_device_may_not_revoke_another(gateway):
    me, other = Identity(), Identity()
    scopes = ("operator.pairing", "operator.read")
    token = pair_device(gateway, me, scopes)
    other_token = pair_device(gateway, other)
    session = device_token_connect(gateway, me, token, scopes=scopes)
    res = session.conn.request("device.token.revoke", {"deviceId": other.device_id,
                                                       "role": "operator"})
    assert res["ok"] is False
    assert res["error"]["message"] == "device token revocation denied", res
    assert device_token_connect(gateway, other, other_token).ok


# ---- gatewayctl devices rotate / revoke ----

def test_rotate_and_revoke_with_gatewayctl(gateway):
    ident = Identity()
    token = pair_device(gateway, ident)
    session = device_token_connect(gateway, ident, token)
    result = gateway.ctl_ok("devices", "rotate", ident.device_id, json_output=True)
    assert result.json["tokenDelivery"] == "withheld-cross-device", result
    assert "token" not in result.json, result
    assert not TOKEN_RE.search(result.stdout), "gatewayctl must not show a device token"
    assert session.expect_close() == (1008, "device token rotated")
    device_mismatch(device_token_connect(gateway, ident, token))

    hello = handshake(gateway.url, cli_params(token=gateway.token), identity=ident).hello
    token = hello["auth"]["deviceToken"]
    out = gateway.ctl_ok("devices", "revoke", ident.device_id, "--role", "operator").stdout
    assert "Revoked" in out and ident.device_id in out, out
    device_mismatch(device_token_connect(gateway, ident, token))


def test_gatewayctl_rotate_with_scopes(gateway):
    ident = Identity()
    pair_device(gateway, ident, ("operator.read", "operator.write"))
    result = gateway.ctl_ok("devices", "rotate", ident.device_id, "--scope", "operator.read",
                            json_output=True)
    assert result.json["scopes"] == ["operator.read"], result
    result = gateway.ctl("devices", "rotate", ident.device_id, "--scope", "operator.admin")
    assert result.rc == 1 and "not all approved" in result.output, result


@pytest.mark.parametrize("args, needle", [
    (["devices", "rotate", "no-such-device"], "no-such-device"),
    (["devices", "revoke", "no-such-device"], "no-such-device"),
    (["devices", "rename", "no-such-device", "x"], "no-such-device"),
])
def test_gatewayctl_unknown_device(gateway, args, needle):
    result = gateway.ctl(*args)
    assert result.rc == 1 and needle in result.output, result
    assert "gatewayctl devices list" in result.output, result


def test_gatewayctl_unknown_role(gateway):
    ident = Identity()
    pair_device(gateway, ident)
    result = gateway.ctl("devices", "revoke", ident.device_id, "--role", "node")
    assert result.rc == 1 and "node" in result.output, result


@pytest.mark.parametrize("args", [
    ["devices", "rotate"],
    ["devices", "revoke", "a", "b"],
    ["devices", "list", "--role", "node"],
    ["devices", "revoke", "a", "--scope", "operator.read"],
    ["token", "rotate", "extra"],
])
def test_gatewayctl_lifecycle_usage_errors(gateway, args):
    assert gateway.ctl(*args).rc == 2


# ---- the shared token: token rotate == token generate ----

@pytest.mark.parametrize("command", ["rotate", "generate"])
def test_token_rotate_closes_shared_token_sessions(make_gateway, command):
    gw = make_gateway(config_token=False)
    old = gw.token_file_contents()
    ident = Identity()
    device_token = pair_device(gw, ident)
    shared = handshake(gw.url, cli_params(token=old))
    assert shared.ok
    by_device_token = device_token_connect(gw, ident, device_token)
    result = gw.ctl_ok("token", command)
    (new,) = TOKEN_RE.findall(result.stdout)
    assert new != old and gw.token_file_contents() == new
    assert shared.expect_close() == (4001, "gateway auth changed")
    # A session that authenticated with its device token did not use the old secret.
    assert by_device_token.conn.request("health")["ok"] is True
    assert not handshake(gw.url, cli_params(token=old)).ok
    assert handshake(gw.url, cli_params(token=new)).ok


def test_token_rotate_refused_when_the_config_sets_it(gateway):
    result = gateway.ctl("token", "rotate")
    assert result.rc == 1 and "gateway.auth.token" in result.output, result


# ---- pending requests: supersede, per-address rate ----

def test_a_wider_request_supersedes_the_pending_one(gateway):
    admin = admin_session(gateway, ["operator.pairing", "operator.read", "operator.write"])
    ident = Identity()
    first = request_pairing(gateway, ident, ("operator.read",))
    admin.wait_event("device.pair.requested")
    second = request_pairing(gateway, ident, ("operator.write",))
    assert second != first
    resolved = admin.wait_event("device.pair.resolved")
    assert resolved["payload"]["requestId"] == first, resolved
    assert resolved["payload"]["decision"] == "rejected", resolved
    (pending,) = gateway.devices()["pending"]
    assert pending["requestId"] == second, pending
    assert set(pending["scopes"]) == {"operator.read", "operator.write"}, pending
    res = admin.request("device.pair.approve", {"requestId": first})
    assert res["ok"] is False and res["error"]["message"] == "unknown requestId", res
    assert gateway.ctl("devices", "approve", first).rc == 1
    assert admin.request("device.pair.approve", {"requestId": second})["ok"] is True


def test_new_requests_per_address_are_rate_limited(gateway):
    burst = 10      # PAIRING_RATE_BURST; one more comes back every 6 s
    first = Identity()
    first_id = request_pairing(gateway, first)
    created = 1
    def new_device(**opts):
        start = time.monotonic()
        attempt = handshake(gateway.url, cli_params(token=gateway.token), identity=Identity(),
                            **opts)
        return attempt, time.monotonic() - start

    def refused(attempt, waited):
        err = expect.rejected(
            attempt, code="UNAVAILABLE",
            message="too many new pairing requests from this address; retry later",
            close_code=1013, reason="too many new pairing requests from this address")
        assert err["retryable"] is True, err
        assert 0 < err["retryAfterMs"] <= 6000, err
        # The refusal is held for a random time in the second half of what the
        # address has to wait anyway (at most 5 s); only the lower bound is checked.
        assert waited >= min(err["retryAfterMs"], 5000) / 2 / 1000 - 0.01, (waited, err)

    for _ in range(2 * burst):
        attempt, waited = new_device()
        if attempt.error["code"] != "UNAVAILABLE":
            assert attempt.error["code"] == "NOT_PAIRED", attempt.error
            attempt.expect_close()
            created += 1
            continue
        refused(attempt, waited)
        break
    else:
        raise AssertionError("%d new pairing requests from one address were all accepted"
                             % created)
    assert created >= burst, "refused after only %d new requests" % created
    # Over its budget, an unknown device is refused before its signature is checked
    # (that check is what a storm would buy): a bad one gets the same answer.
    refused(*new_device(nonce="00000000-0000-4000-8000-000000000000"))
    assert len(gateway.devices()["pending"]) == created
    # Refreshing an existing request is not a new one.
    assert request_pairing(gateway, first) == first_id


# ---- role and metadata upgrades, and tokens per role ----

def test_role_upgrade_then_per_role_rotate_and_revoke(gateway):
    ident = Identity()
    operator_token = pair_device(gateway, ident)
    node = cli_params(token=gateway.token, role="node", scopes=[])
    attempt = handshake(gateway.url, node, identity=ident)
    request_id = expect.pairing_required(attempt, ident, requested_scopes=[],
                                         requested_role="node", reason="role-upgrade")
    gateway.ctl_ok("devices", "approve", request_id)
    entry = gateway.paired_entry(ident.device_id)
    assert entry["roles"] == ["operator", "node"], entry
    hello = handshake(gateway.url, node, identity=ident).hello
    assert hello["auth"]["role"] == "node", hello["auth"]
    node_token = hello["auth"]["deviceToken"]

    def node_connect(token):
        return handshake(gateway.url, cli_params(device_token=token, role="node", scopes=[]),
                         identity=ident)

    operator_session = device_token_connect(gateway, ident, operator_token)
    node_session = node_connect(node_token)
    assert node_session.ok
    # Revoking the node token closes the node session only.
    gateway.ctl_ok("devices", "revoke", ident.device_id, "--role", "node")
    assert node_session.expect_close() == (1008, "device token revoked")
    assert operator_session.conn.request("health")["ok"] is True
    device_mismatch(node_connect(node_token))
    assert device_token_connect(gateway, ident, operator_token).ok


def test_metadata_upgrade_is_approved_like_any_request(gateway):
    ident = Identity()
    pair_device(gateway, ident)
    moved = cli_params(token=gateway.token, platform="darwin", device_family="Mac")
    attempt = handshake(gateway.url, moved, identity=ident)
    request_id = expect.pairing_required(attempt, ident, requested_scopes=["operator.read"],
                                         reason="metadata-upgrade")
    gateway.ctl_ok("devices", "approve", request_id)
    assert handshake(gateway.url, moved, identity=ident).ok
    entry = gateway.paired_entry(ident.device_id)
    assert entry["platform"] == "darwin" and entry["deviceFamily"] == "Mac", entry
