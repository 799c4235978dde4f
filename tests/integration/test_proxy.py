"""Who is the client behind a proxy (doc/protocol.md §4.2):
forwarding headers from a peer not in gateway.trustedProxies get HTTP 403
proxy_attribution_required at the upgrade; from a trusted proxy the client is
the right-most X-Forwarded-For hop that is neither loopback nor trusted
(X-Real-IP only with allowRealIpFallback). All with forged headers from
loopback."""

import json
import subprocess
import time

import pytest

from clawgate_test import expect, rawws
from clawgate_test.clawclient import Identity, cli_params, handshake
from clawgate_test.harness import BROKERD, daemon_env


def upgrade(gw, headers):
    raw = rawws.RawWS(gw.port, extra_headers=b"".join(
        b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in headers))
    return raw


def refused_403(gw, headers):
    raw = upgrade(gw, headers)
    assert raw.status == 403, raw.head
    assert b"Content-Type: application/json" in raw.head, raw.head
    while True:
        try:
            raw._fill(time.monotonic() + 5)
        except EOFError:
            break
    body = json.loads(raw.buf)
    assert body["error"]["type"] == "proxy_attribution_required", body
    assert body["error"]["message"].startswith("Proxy client attribution is required."), body


@pytest.mark.parametrize("header", [
    ("X-Forwarded-For", "203.0.113.9"),
    ("Forwarded", "for=203.0.113.9"),
    ("X-Real-IP", "203.0.113.9"),
    ("X-Forwarded-Host", "example.com"),
    ("Tailscale-User-Login", "someone@example.com"),
])
def test_proxy_headers_from_an_untrusted_peer_are_403(gateway, header):
    refused_403(gateway, [header])


def admitted_line(gw):
    return gw.log_lines("gatewayd", "gatewayd: info: admitted ")[-1]


def test_trusted_proxy_names_the_client(make_gateway):
    gw = make_gateway(config_extra={"trustedProxies": ["127.0.0.1", "10.0.0.0/8"]})
    # client, then a hop inside the trusted range, then loopback: the client is the
    # right-most hop that is neither trusted nor loopback.
    attempt = handshake(gw.url, cli_params(token=gw.token), headers={
        "X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.1.2.3, 127.0.0.1"})
    assert attempt.ok
    line = admitted_line(gw)
    assert " addr=203.0.113.9 via=proxy:127.0.0.1 locality=remote " in line, line
    # A device behind the proxy is remote: its pairing request says where it came from.
    ident = Identity()
    attempt = handshake(gw.url, cli_params(token=gw.token), identity=ident,
                        headers={"X-Forwarded-For": "203.0.113.9"})
    expect.pairing_required(attempt, ident, requested_scopes=["operator.read"])
    (pending,) = gw.devices()["pending"]
    assert pending["remoteIp"] == "203.0.113.9", pending


@pytest.mark.parametrize("headers", [
    [("X-Forwarded-For", "127.0.0.1, 10.0.0.5")],       # only loopback and trusted hops
    [("X-Forwarded-For", "203.0.113.9, not-an-address")],
    [("X-Real-IP", "203.0.113.9")],                       # no fallback configured
    [("Forwarded", "for=203.0.113.9")],                   # names no usable hop
])
def test_trusted_proxy_without_a_usable_client_is_403(make_gateway, headers):
    gw = make_gateway(config_extra={"trustedProxies": ["127.0.0.0/8", "10.0.0.0/8"]})
    refused_403(gw, headers)


def test_real_ip_fallback(make_gateway):
    gw = make_gateway(config_extra={"trustedProxies": ["127.0.0.1"],
                                    "allowRealIpFallback": True})
    attempt = handshake(gw.url, cli_params(token=gw.token),
                        headers={"X-Real-IP": "2001:db8::7"})
    assert attempt.ok
    assert " addr=2001:db8::7 via=proxy:127.0.0.1 " in admitted_line(gw)


def test_bad_trusted_proxies_config_is_refused(make_gateway):
    gw = make_gateway(start=False, config_extra={"trustedProxies": ["10.0.0.0/33"]})
    proc = subprocess.run([str(BROKERD), "--config", str(gw.config_path), "--state-dir",
                           str(gw.state_dir), "--socket-dir", str(gw.sock_dir)],
                          capture_output=True, text=True, timeout=10, env=daemon_env())
    assert proc.returncode != 0, proc
    assert "gateway.trustedProxies[0] is not an IP address or CIDR" in proc.stderr, proc.stderr
