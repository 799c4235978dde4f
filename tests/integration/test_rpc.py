"""Requests after hello-ok (doc/protocol.md §7, brokerd deciding each): scopes
enforced per session, device.pair.* over RPC, and pairing events with per-socket seq."""

import pytest

from clawgate_test import expect
from clawgate_test.clawclient import Identity, cli_params, handshake
from clawgate_test.flows import admin_session, pair_device, request_pairing

PAIRING_METHODS = [
    ("device.pair.list", {}),
    ("device.pair.approve", {"requestId": "x"}),
    ("device.pair.reject", {"requestId": "x"}),
    ("device.pair.remove", {"deviceId": "x"}),
]


def test_health_and_status(gateway):
    conn = admin_session(gateway, ["operator.read"])
    health = conn.request("health")
    assert health["ok"] is True and health["payload"]["ok"] is True, health
    status = conn.request("status", {})
    assert status["ok"] is True and isinstance(status["payload"], dict), status


@pytest.mark.parametrize("method, params", PAIRING_METHODS)
def test_pairing_methods_need_operator_pairing(gateway, method, params):
    conn = admin_session(gateway, ["operator.read", "operator.write"])
    expect.forbidden(conn.request(method, params), "operator.pairing")


@pytest.mark.parametrize("method", ["health", "status"])
def test_read_methods_need_operator_read(gateway, method):
    conn = admin_session(gateway, ["operator.pairing"])
    expect.forbidden(conn.request(method), "operator.read")


@pytest.mark.parametrize("scopes", [["operator.admin"], ["operator.write", "operator.pairing"]])
def test_scope_implication(gateway, scopes):
    conn = admin_session(gateway, scopes)
    assert conn.request("health")["ok"] is True
    assert conn.request("device.pair.list", {})["ok"] is True


def test_approver_must_cover_the_requested_scopes(gateway):
    # §7.1: the caller covers the requested scopes (the real CLI asks for them for this).
    admin = admin_session(gateway, ["operator.pairing"])
    request_id = request_pairing(gateway, Identity())
    denied = admin.request("device.pair.approve", {"requestId": request_id})
    assert denied["ok"] is False, denied
    assert denied["error"]["message"] == "missing scope: operator.read", denied
    assert [p["requestId"] for p in gateway.devices()["pending"]] == [request_id]


def test_pairing_events_and_approval_over_rpc(gateway):
    admin = admin_session(gateway, ["operator.pairing", "operator.read"])
    reader = admin_session(gateway, ["operator.read"])
    ident = Identity()
    request_id = request_pairing(gateway, ident)

    requested = admin.wait_event("device.pair.requested")
    assert requested["seq"] == 1, requested
    payload = requested["payload"]
    assert payload["requestId"] == request_id and payload["deviceId"] == ident.device_id, payload
    assert payload["publicKey"] == ident.public_key and payload["scopes"] == ["operator.read"]

    listing = admin.request("device.pair.list", {})
    assert listing["ok"] is True, listing
    assert [p["requestId"] for p in listing["payload"]["pending"]] == [request_id]

    approved = admin.request("device.pair.approve", {"requestId": request_id})
    assert approved["ok"] is True, approved
    assert approved["payload"]["requestId"] == request_id
    assert approved["payload"]["device"]["deviceId"] == ident.device_id

    resolved = admin.wait_event("device.pair.resolved")
    assert resolved["seq"] == 2, resolved
    assert resolved["payload"]["requestId"] == request_id
    assert resolved["payload"]["deviceId"] == ident.device_id
    assert resolved["payload"]["decision"] == "approved"
    assert isinstance(resolved["payload"]["ts"], int)

    # A session without operator.pairing saw none of it. Anything sent to it before
    # now would arrive before this answer (one ordered link, one ordered socket).
    assert reader.request("health")["ok"] is True
    assert not [e for e in reader.events if e["event"].startswith("device.pair.")], reader.events

    hello = handshake(gateway.url, cli_params(token=gateway.token), identity=ident).hello
    assert "deviceToken" in hello["auth"]


def test_reject_over_rpc(gateway):
    admin = admin_session(gateway, ["operator.pairing"])
    ident = Identity()
    request_id = request_pairing(gateway, ident)
    admin.wait_event("device.pair.requested")
    rejected = admin.request("device.pair.reject", {"requestId": request_id})
    assert rejected["ok"] is True, rejected
    assert rejected["payload"] == {"requestId": request_id, "deviceId": ident.device_id}
    resolved = admin.wait_event("device.pair.resolved")
    assert resolved["payload"]["decision"] == "rejected", resolved
    assert admin.request("device.pair.list", {})["payload"]["pending"] == []


def test_remove_over_rpc_disconnects_the_device(gateway):
    admin = admin_session(gateway, ["operator.pairing"])
    ident = Identity()
    device_token = pair_device(gateway, ident)
    session = handshake(gateway.url, cli_params(device_token=device_token), identity=ident)
    assert session.ok
    removed = admin.request("device.pair.remove", {"deviceId": ident.device_id})
    assert removed["ok"] is True and removed["payload"] == {"deviceId": ident.device_id}, removed
    assert session.expect_close() == (1008, "device removed")


@pytest.mark.parametrize("method, params, message", [
    ("device.pair.approve", {"requestId": "no-such-request"}, "unknown requestId"),
    ("device.pair.reject", {"requestId": "no-such-request"}, "unknown requestId"),
    ("device.pair.remove", {"deviceId": "no-such-device"}, "unknown deviceId"),
])
def test_unknown_ids_over_rpc(gateway, method, params, message):
    admin = admin_session(gateway, ["operator.pairing"])
    res = admin.request(method, params)
    assert res["ok"] is False, res
    assert res["error"]["code"] == "INVALID_REQUEST" and res["error"]["message"] == message, res


def test_decisions_on_the_control_socket_only(make_gateway):
    """clawgate.pairing.decisions "control-socket": a session over the gateway (which
    a compromised gatewayd could ride) may list and rename, but approving, rejecting,
    removing, rotating and revoking are gatewayctl's alone; the refusal says the
    command."""
    gw = make_gateway(config_clawgate={"pairing": {"decisions": "control-socket"}})
    admin = admin_session(gw, ["operator.pairing", "operator.read"])
    ident = Identity()
    request_id = request_pairing(gw, ident)
    assert [p["requestId"] for p in admin.request("device.pair.list", {})["payload"]
            ["pending"]] == [request_id]
    paired = Identity()
    pair_device(gw, paired)
    calls = [("device.pair.approve", {"requestId": request_id}, "devices approve <requestId>"),
             ("device.pair.reject", {"requestId": request_id}, "devices reject <requestId>"),
             ("device.pair.remove", {"deviceId": paired.device_id}, "devices remove <deviceId>"),
             ("device.token.rotate", {"deviceId": paired.device_id, "role": "operator"},
              "devices rotate <deviceId>"),
             ("device.token.revoke", {"deviceId": paired.device_id, "role": "operator"},
              "devices revoke <deviceId>")]
    for method, params, ctl in calls:
        denied = admin.request(method, params)
        assert denied["ok"] is False, (method, denied)
        err = denied["error"]
        assert err["code"] == "INVALID_REQUEST", (method, err)
        assert err["message"].startswith("%s is refused over the gateway" % method), err
        assert err["message"].endswith(" %s" % ctl) and "; there, run: " in err["message"], err
    assert [p["requestId"] for p in gw.devices()["pending"]] == [request_id]
    assert [p["deviceId"] for p in gw.devices()["paired"]] == [paired.device_id]
    renamed = admin.request("device.pair.rename", {"deviceId": paired.device_id,
                                                    "label": "kitchen"})
    assert renamed["ok"] is True, renamed
    gw.ctl_ok("devices", "approve", request_id)
    assert sorted(p["deviceId"] for p in gw.devices()["paired"]) == \
        sorted([paired.device_id, ident.device_id])


def test_decisions_key_refuses_other_values(make_gateway):
    gw = make_gateway(start=False, config_clawgate={"pairing": {"decisions": "anyone"}})
    with pytest.raises(AssertionError):
        gw.start_broker()
    assert 'clawgate.pairing.decisions "anyone" is not "gateway"' in gw.log_text("brokerd")
    gw.broker = None
