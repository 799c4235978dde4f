"""Who hears device.pair.* events (doc/protocol.md §7.2): sessions holding
operator.pairing, as far as device.pair.list reaches them (§7.1). A device-less
admin CLI and a session holding operator.admin hear about every device; a session
bound to a paired device without operator.admin hears only about its own."""

from clawgate_test import expect
from clawgate_test.clawclient import Identity, cli_params, handshake
from clawgate_test.flows import admin_session, device_token_connect, pair_device, request_pairing

PAIRING = ("operator.pairing",)


def bound_session(gw, ident, scopes):
    """A paired device's session on its device token, bound to that device."""
    token = pair_device(gw, ident, scopes)
    attempt = device_token_connect(gw, ident, token, scopes=scopes)
    assert attempt.hello["auth"]["method"] == "device-token", attempt.hello["auth"]
    return attempt.conn


def pairing_events(conn):
    """The pairing events conn has received so far. Anything sent to it before the
    answer to this request arrives first (one ordered link, one ordered socket)."""
    assert conn.request("device.pair.list", {})["ok"] is True
    return [(e["event"], e["payload"]) for e in conn.events
            if e["event"].startswith("device.pair.")]


def test_a_bound_session_hears_only_about_its_own_device(gateway):
    a, b, c = Identity(), Identity(), Identity()
    session_a = bound_session(gateway, a, PAIRING)
    session_b = bound_session(gateway, b, PAIRING)
    # The Control UI's kind of session: bound, with operator.admin.
    session_c = bound_session(gateway, c, ("operator.admin",))
    admin = admin_session(gateway, PAIRING)

    # A change to A: renamed, then asking for more scopes (requested), refused
    # (resolved).
    gateway.ctl_ok("devices", "rename", a.device_id, "kitchen")
    wider = ["operator.pairing", "operator.read"]
    attempt = handshake(gateway.url, cli_params(token=gateway.token, scopes=wider), identity=a)
    request_id = expect.pairing_required(attempt, a, requested_scopes=wider,
                                         reason="scope-upgrade")
    gateway.ctl_ok("devices", "reject", request_id)
    # A device none of them is bound to asks to pair.
    stranger = Identity()
    stranger_request = request_pairing(gateway, stranger)

    about_a = ["device.pair.changed", "device.pair.requested", "device.pair.resolved"]
    for conn in (admin, session_c):
        events = pairing_events(conn)
        assert [name for name, _ in events] == about_a + ["device.pair.requested"], events
        assert events[1][1]["deviceId"] == a.device_id, events
        assert events[2][1] == dict(events[2][1], requestId=request_id,
                                    deviceId=a.device_id, decision="rejected"), events
        assert events[3][1]["requestId"] == stranger_request, events
    events_a = pairing_events(session_a)
    assert [name for name, _ in events_a] == about_a, events_a
    assert all(p.get("deviceId", a.device_id) == a.device_id for _, p in events_a), events_a
    assert pairing_events(session_b) == []

    # The events about B reach B and the admins, not A.
    gateway.ctl_ok("devices", "rename", b.device_id, "den")
    assert [name for name, _ in pairing_events(session_b)] == ["device.pair.changed"]
    assert [name for name, _ in pairing_events(session_a)] == about_a
    assert [name for name, _ in pairing_events(admin)][-1] == "device.pair.changed"


def test_a_bound_session_on_the_shared_token_is_bound_too(gateway):
    """A paired device that reconnects on the shared token is bound all the same."""
    a, b = Identity(), Identity()
    pair_device(gateway, a, PAIRING)
    pair_device(gateway, b, PAIRING)
    attempt = handshake(gateway.url, cli_params(token=gateway.token, scopes=list(PAIRING)),
                        identity=a)
    assert attempt.hello["auth"]["method"] == "token", attempt.hello["auth"]
    gateway.ctl_ok("devices", "rename", b.device_id, "den")
    assert pairing_events(attempt.conn) == []
    gateway.ctl_ok("devices", "rename", a.device_id, "kitchen")
    assert [name for name, _ in pairing_events(attempt.conn)] == ["device.pair.changed"]
