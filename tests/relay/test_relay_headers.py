"""The upgrade relay mode sends upstream is clawgate's own (doc/relay.md): a client's
forwarding headers, its x-openclaw-scopes, and its copies of the identity header and
the required headers never reach the upstream, whatever the client sends; the
upstream sees clawgate's values only, once each. The echo upstream records every
upgrade's headers and every connect it was handed."""

import json

import pytest
from websockets.exceptions import InvalidStatusCode

from clawgate_test import clawclient
from clawgate_test.clawclient import Connection

# Headers that would name another caller, scope set or identity to the upstream.
# clawgate admits a client that sends them (they mean nothing to clawgate itself).
IDENTITY = [
    ("x-openclaw-scopes", "operator.admin,operator.pairing"),
    ("Cf-Access-Jwt-Assertion", "forged.jwt.value"),
    ("Cf-Access-Authenticated-User-Email", "mallory@example.com"),
]
# Forwarding headers: clawgate takes them from gateway.trustedProxies only.
FORWARDING = [
    ("X-Forwarded-For", "198.18.0.1, 203.0.113.66"),
    ("Forwarded", "for=198.18.0.9;proto=https;host=evil.example"),
    ("X-Real-IP", "198.18.0.8"),
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Proto", "gopher"),
    ("X-Forwarded-Port", "1"),
    ("Tailscale-User-Login", "mallory@example.com"),
]
FORGED_MARKS = ("198.18.", "evil.example", "gopher", "mallory", "forged", "operator.admin")
NEVER_UPSTREAM = {"forwarded", "x-real-ip", "x-forwarded-port", "tailscale-user-login",
                  "cf-access-jwt-assertion", "cf-access-authenticated-user-email"}

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


def check_upgrade(gw, up, res, *, user_header, user, required, forwarded_for):
    """The one upgrade up saw carries clawgate's values only, once each."""
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
                 "sec-websocket-key", "x-forwarded-host", "x-forwarded-proto"] + required:
        assert names.count(name) == 1, "%s sent %d times: %r" % (name, names.count(name),
                                                                  upgrade)
    assert values[user_header] == user
    assert all(values[name].strip() for name in required), upgrade
    assert values["x-forwarded-for"] == forwarded_for
    assert set(filter(None, (s.strip() for s in values["x-openclaw-scopes"].split(",")))) == \
        set(auth["scopes"])
    assert values["x-forwarded-proto"] == "http"
    assert values["x-forwarded-host"] == "127.0.0.1:%d" % gw.port    # the client's Host
    return upgrade


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_identity_headers_of_the_client_never_reach_the_upstream(echo_relay, config):
    relay, upstream_opts, user_header, user, required, placeholder = CONFIGS[config]
    gw, up = echo_relay(relay, **upstream_opts)
    headers = IDENTITY + [(user_header, "mallory")] + [(name, "forged") for name in required]
    params = clawclient.cli_params(token=gw.token, scopes=["operator.read"])
    conn, res = relayed_connect(gw, headers, params)
    assert res["ok"], res
    check_upgrade(gw, up, res, user_header=user_header, user=user, required=required,
                  forwarded_for=placeholder)     # the client is on loopback
    # The connect the upstream was handed: the client's, without its secrets.
    (handed,) = up.connects()
    assert "auth" not in handed and "device" not in handed, handed
    assert handed["client"] == params["client"]
    conn.close()


@pytest.mark.parametrize("header", FORWARDING, ids=[name for name, _ in FORWARDING])
def test_forwarding_headers_from_an_untrusted_peer_never_open_an_upstream(echo_relay, header):
    gw, up = echo_relay()
    with pytest.raises(InvalidStatusCode) as refused:
        Connection.open(gw.url, headers=[header])
    assert refused.value.status_code == 403
    assert up.upgrades() == []


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_behind_a_trusted_proxy_the_upstream_gets_the_client_address_alone(echo_relay,
                                                                          config):
    """With the client's proxy in gateway.trustedProxies, X-Forwarded-For upstream is
    the one client address clawgate derived, never the chain or other forwarding
    headers the proxy sent."""
    relay, upstream_opts, user_header, user, required, _ = CONFIGS[config]
    gw, up = echo_relay(relay, gateway={"trustedProxies": ["127.0.0.1"]}, **upstream_opts)
    headers = FORWARDING + IDENTITY + [(user_header, "mallory")] + \
        [(name, "forged") for name in required]
    conn, res = relayed_connect(gw, headers, clawclient.cli_params(token=gw.token))
    assert res["ok"], res
    check_upgrade(gw, up, res, user_header=user_header, user=user, required=required,
                  forwarded_for="203.0.113.66")
    conn.close()


def test_a_second_session_gets_its_own_upgrade(echo_relay):
    """Nothing of one client's upgrade leaks into the next one's."""
    gw, up = echo_relay()
    first, res = relayed_connect(gw, IDENTITY, clawclient.cli_params(token=gw.token))
    assert res["ok"], res
    second, res = relayed_connect(gw, [], clawclient.cli_params(token=gw.token))
    assert res["ok"], res
    one, two = up.wait_upgrades(2)
    skip = {"sec-websocket-key"}
    assert sorted((n.lower(), v) for n, v in one if n.lower() not in skip) == \
        sorted((n.lower(), v) for n, v in two if n.lower() not in skip)
