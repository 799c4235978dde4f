"""Who is the client: the Origin check of doc/protocol.md
§4.7 at connect, and the §4.2 locality kinds as the admission log line shows
them, including the Docker-NAT browser (a browser on localhost whose
connection reaches the gateway from a private address)."""

import ipaddress
import json
import subprocess

import pytest

from clawgate_test import expect, rawws
from clawgate_test.clawclient import (
    CONTROL_UI_SCOPES,
    Identity,
    cli_params,
    control_ui_params,
    handshake,
    sign_device,
)

ORIGIN_TEXT = ("origin not allowed (open the Control UI from the gateway host or allow it in "
               "gateway.controlUi.allowedOrigins)")
ORIGIN_DETAILS = {"code": "CONTROL_UI_ORIGIN_NOT_ALLOWED", "reason": "origin not allowed"}
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                             "fc00::/7")]


def origin_refused(attempt):
    expect.rejected(attempt, code="INVALID_REQUEST", message=ORIGIN_TEXT, details=ORIGIN_DETAILS)


def test_foreign_origin_on_loopback_is_refused(gateway):
    origin_refused(handshake(gateway.url, control_ui_params(token=gateway.token),
                             identity=Identity(), version="v2", origin="https://evil.example"))


def test_every_connect_with_an_origin_is_checked(gateway):
    origin_refused(handshake(gateway.url, cli_params(token=gateway.token),
                             origin="https://evil.example"))
    origin_refused(handshake(gateway.url, cli_params(token=gateway.token), origin="null"))


def test_control_ui_without_origin_is_refused(gateway):
    origin_refused(handshake(gateway.url, control_ui_params(token=gateway.token),
                             identity=Identity(), version="v2"))


def test_allowed_origins(make_gateway):
    gw = make_gateway(config_extra={"controlUi": {"allowedOrigins": ["https://UI.example.com"]}})
    ident = Identity()
    attempt = handshake(gw.url, control_ui_params(token=gw.token), identity=ident,
                        version="v2", origin="https://ui.example.com")
    expect.pairing_required(attempt, ident, requested_scopes=CONTROL_UI_SCOPES, control_ui=True)
    origin_refused(handshake(gw.url, control_ui_params(token=gw.token), identity=Identity(),
                             version="v2", origin="https://ui.example.com:8443"))


def private_address():
    """A private (RFC 1918 or ULA) address of this host, or None."""
    out = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[2] in ("inet", "inet6"):
            addr = ipaddress.ip_address(fields[3].split("/")[0])
            if any(addr in net for net in PRIVATE):
                return str(addr)
    return None


def ui_connect_raw(gw, addr, host, origin, ident):
    """The Control UI's handshake over a raw socket, to choose Host and Origin."""
    raw = rawws.RawWS(gw.port, addr=addr, host=host,
                      extra_headers=b"Origin: %s\r\n" % origin.encode())
    assert raw.status == 101, raw.head
    _, _, payload = raw.recv_frame()
    challenge = json.loads(payload)["payload"]
    params = sign_device(control_ui_params(token=gw.token), ident, nonce=challenge["nonce"],
                         signed_at=challenge["ts"], version="v2")
    raw.send(rawws.text(json.dumps({"type": "req", "id": "ui-1", "method": "connect",
                                    "params": params})))
    _, _, payload = raw.recv_frame()
    return json.loads(payload)


def test_docker_nat_browser_is_browser_container_local(make_gateway):
    addr = private_address()
    if addr is None:
        pytest.skip("this host has no private (RFC 1918 or ULA) address to connect from")
    gw = make_gateway(listen_addr=addr)
    port = gw.port
    ident = Identity()
    res = ui_connect_raw(gw, addr, "localhost:%d" % port, "http://localhost:%d" % port, ident)
    assert res["error"]["code"] == "NOT_PAIRED", res
    expect.details_include(res["error"], expect.WAIT_THEN_RETRY)
    (line,) = gw.log_lines("gatewayd", "gatewayd: info: rejected")
    assert " addr=%s via=direct locality=browser-container-local client=openclaw-control-ui " % (
        addr) in line, line
    # The same browser, but a page from elsewhere: refused for its Origin.
    res = ui_connect_raw(gw, addr, "localhost:%d" % port, "https://evil.example", Identity())
    assert res["error"]["message"] == ORIGIN_TEXT, res
    # A CLI from the private address is remote (same-host LAN addresses are).
    attempt = handshake(gw.url, cli_params(token=gw.token))
    assert attempt.ok
    (line,) = gw.log_lines("gatewayd", "gatewayd: info: admitted")
    assert " locality=remote " in line, line
