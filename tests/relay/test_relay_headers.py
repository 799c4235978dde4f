"""The upgrade relay mode sends upstream is clawgate's own (doc/relay.md): a client's
forwarding headers, its x-openclaw-scopes, and its copies of the identity header and
the required headers never reach the upstream, whatever the client sends; the
upstream sees clawgate's values only, once each. The echo upstream records every
upgrade's headers and every connect it was handed."""

import json

import pytest

from clawgate_test import clawclient
from clawgate_test.clawclient import Connection

# What a hostile client adds to its own upgrade: each would change who the upstream
# thinks is calling, from where, or with which scopes.
FORGED = [
    ("X-Forwarded-For", "203.0.113.66"),
    ("Forwarded", "for=203.0.113.66;proto=https;host=evil.example"),
    ("X-Real-IP", "203.0.113.66"),
    ("x-openclaw-scopes", "operator.admin,operator.pairing"),
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Proto", "gopher"),
    ("X-Forwarded-Port", "1"),
    ("Tailscale-User-Login", "mallory@example.com"),
    ("Cf-Access-Jwt-Assertion", "forged.jwt.value"),
]
FORGED_MARKS = ("203.0.113.66", "evil.example", "gopher", "mallory", "forged", "operator.admin")
NEVER_UPSTREAM = {"forwarded", "x-real-ip", "x-forwarded-port", "tailscale-user-login",
                  "cf-access-jwt-assertion"}

CONFIGS = {
    "defaults": ({}, {}, "x-clawgate-user", "clawgate", ["x-clawgate-relay"], "192.0.2.1"),
    "custom": ({"userHeader": "X-Proxy-User", "user": "relay-1",
                "requiredHeaders": ["x-a", "X-B"], "clientIpPlaceholder": "198.51.100.7"},
               {"user_header": "x-proxy-user", "user": "relay-1", "required": ("x-a", "x-b")},
               "x-proxy-user", "relay-1", ["x-a", "x-b"], "198.51.100.7"),
}


def relayed_connect(gw, headers, params):
    """Opens a session through clawgate with these upgrade headers and sends the
    connect: (connection, the connect's res)."""
    conn = Connection.open(gw.url, headers=headers)
    challenge = json.loads(conn.recv_text())
    assert challenge["event"] == "connect.challenge", challenge
    conn.send({"type": "req", "id": "c1", "method": "connect", "params": params})
    while True:
        frame = json.loads(conn.recv_text(10.0))
        if frame["type"] == "res":
            return conn, frame


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_the_client_forwarding_and_identity_headers_never_reach_the_upstream(echo_relay,
                                                                              config):
    relay, upstream_opts, user_header, user, required, placeholder = CONFIGS[config]
    gw, up = echo_relay(relay, **upstream_opts)
    headers = FORGED + [(user_header, "mallory")] + [(name, "forged") for name in required]
    params = clawclient.cli_params(token=gw.token, scopes=["operator.read"])
    conn, res = relayed_connect(gw, headers, params)
    assert res["ok"], res
    auth = res["payload"]["auth"]
    assert auth["method"] == "token", auth

    (upgrade,) = up.upgrades()
    names = [name.lower() for name, _ in upgrade]
    values = {name.lower(): value for name, value in upgrade}
    for name, value in upgrade:
        assert not any(mark in value for mark in FORGED_MARKS), \
            "the client's %r reached the upstream as %s: %r" % (value, name, upgrade)
    assert not NEVER_UPSTREAM & set(names), upgrade
    for name in [user_header, "x-forwarded-for", "x-openclaw-scopes", "host", "upgrade",
                 "sec-websocket-key"] + required:
        assert names.count(name) == 1, "%s sent %d times: %r" % (name, names.count(name),
                                                                  upgrade)
    assert values[user_header] == user
    assert all(values[name].strip() for name in required), upgrade
    assert values["x-forwarded-for"] == placeholder   # the client is on loopback
    assert set(filter(None, (s.strip() for s in values["x-openclaw-scopes"].split(",")))) == \
        set(auth["scopes"])
    assert names.count("x-forwarded-proto") <= 1 and values.get("x-forwarded-proto") in (
        None, "http")
    assert names.count("x-forwarded-host") <= 1 and values.get("x-forwarded-host") in (
        None, "127.0.0.1:%d" % gw.port)

    # The connect the upstream was handed: the client's, without its secrets.
    (handed,) = up.connects()
    assert "auth" not in handed and "device" not in handed, handed
    assert handed["client"] == params["client"]
    conn.close()


def test_a_second_session_gets_its_own_upgrade(echo_relay):
    """Nothing of one client's upgrade leaks into the next one's."""
    gw, up = echo_relay()
    params = clawclient.cli_params(token=gw.token)
    first, res = relayed_connect(gw, FORGED, params)
    assert res["ok"], res
    second, res = relayed_connect(gw, [], clawclient.cli_params(token=gw.token))
    assert res["ok"], res
    one, two = up.wait_upgrades(2)
    strip = {"sec-websocket-key"}
    assert sorted((n.lower(), v) for n, v in one if n.lower() not in strip) == \
        sorted((n.lower(), v) for n, v in two if n.lower() not in strip)
