"""SIGHUP to brokerd (systemctl reload brokerd) reads the configuration again:
what can change applies to the next connect while every session stays up
(allowed origins in brokerd; trusted proxies in gatewayd, over its link), a
key only a start reads is logged with the restart that applies it and keeps
its running value, and a configuration with a problem changes nothing."""

import html
import os
import re
import signal
import time

import pytest

from clawgate_test import expect, rawws
from clawgate_test.clawclient import Identity, cli_params, handshake

ORIGIN_TEXT = ("origin not allowed (open the Control UI from the gateway host or allow it in "
               "gateway.controlUi.allowedOrigins)")
SUMMARY = "brokerd: info: reload: "
OLD, NEW = "https://old.example", "https://new.example"


def reload(gw, wait_for, count=1, timeout=5.0):
    """SIGHUP to brokerd, then waits until its log has wait_for count times."""
    gw.broker.signal(signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while gw.log_text("brokerd").count(wait_for) < count:
        assert time.monotonic() < deadline, "no %r in time:\n%s" % (wait_for, gw.logs())
        time.sleep(0.05)
    assert gw.broker.alive()


def connect(gw, origin=None, headers=None):
    return handshake(gw.url, cli_params(token=gw.token), origin=origin, headers=headers)


def refused_origin(attempt):
    expect.rejected(attempt, code="INVALID_REQUEST", message=ORIGIN_TEXT)


def with_origins(gw, origins, **gateway_keys):
    config = gw.config()
    config["gateway"]["controlUi"] = {"allowedOrigins": origins}
    config["gateway"].update(gateway_keys)
    gw.write_config(config)


def test_allowed_origins_apply_to_the_next_connect_and_sessions_stay(make_gateway):
    gw = make_gateway(config_extra={"controlUi": {"allowedOrigins": [OLD]}})
    before = connect(gw)
    assert before.ok, before.error
    from_old = connect(gw, origin=OLD)
    assert from_old.ok, from_old.error
    refused_origin(connect(gw, origin=NEW))

    with_origins(gw, [NEW])
    reload(gw, "reload: 1 change applied, 0 waiting for a restart")
    assert gw.broker.logged("reload: gateway.controlUi.allowedOrigins changed: applies to "
                            "new connects")
    refused_origin(connect(gw, origin=OLD))
    after = connect(gw, origin=NEW)
    assert after.ok, after.error
    # The sessions from before the reload still answer, through brokerd, also the
    # one whose origin is no longer allowed (a device-less browser has no scopes).
    assert before.conn.request("health")["ok"] is True
    assert from_old.conn.request("health")["error"]["code"] == "FORBIDDEN"
    assert not gw.gatewayd.logged("lost the link to brokerd")


def test_a_config_with_a_problem_is_not_applied(make_gateway):
    gw = make_gateway(config_extra={"controlUi": {"allowedOrigins": [OLD]}})
    session = connect(gw)
    assert session.ok, session.error
    # A new origin that would apply, beside a value that cannot be right.
    with_origins(gw, [NEW], port="18789")
    reload(gw, "kept the running configuration, nothing changed")
    assert gw.broker.logged("gateway.port must be")
    assert gw.broker.logged("reload: 1 problem in the configuration (above)")
    assert gw.broker.logged("brokerd --check-config")
    assert not gw.broker.logged("reload: gateway.controlUi.allowedOrigins changed")
    assert connect(gw, origin=OLD).ok
    refused_origin(connect(gw, origin=NEW))
    # Nor one that is not JSON.
    config = gw.config()
    gw.config_path.write_text(gw.config_path.read_text() + "}")
    reload(gw, "kept the running configuration, nothing changed", count=2)
    assert connect(gw, origin=OLD).ok
    assert session.conn.request("health")["ok"] is True
    # Fixed, it applies.
    config["gateway"]["port"] = gw.port
    gw.write_config(config)
    reload(gw, "reload: 1 change applied")
    assert connect(gw, origin=NEW).ok


def test_a_key_only_a_start_reads_waits_for_a_restart(make_gateway):
    gw = make_gateway(config_extra={"controlUi": {"allowedOrigins": [OLD]}})
    port = gw.port
    config = gw.config()
    config["gateway"]["port"] = port + 1 if port < 65535 else port - 1
    config["gateway"]["auth"]["token"] = gw.token + "-new"
    config["gateway"]["controlUi"] = {"allowedOrigins": [NEW]}
    gw.write_config(config)
    reload(gw, "reload: 1 change applied, 2 waiting for a restart")
    assert gw.broker.logged("reload: gateway.port changed: restart brokerd and gatewayd "
                            "(systemctl restart brokerd gatewayd) for it to take effect; "
                            "the running value stays in use until then")
    assert gw.broker.logged("reload: gateway.auth.token changed: restart brokerd "
                            "(systemctl restart brokerd)")
    # The secret never reaches the log.
    assert gw.token not in gw.log_text("brokerd")
    # The port and the token stay; the origin, in the same file, applied.
    assert gw.ctl_ok("dashboard", json_output=True).json["port"] == port
    assert connect(gw, origin=NEW).ok
    refused_origin(connect(gw, origin=OLD))


def test_trusted_proxies_reach_gatewayd(make_gateway):
    gw = make_gateway(gatewayd_args=["--workers", "2"])
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    session = connect(gw)
    assert session.ok
    # Not trusted yet: forwarding headers from loopback are refused at the upgrade.
    raw = rawws.RawWS(gw.port, extra_headers=b"X-Forwarded-For: 203.0.113.9\r\n")
    assert raw.status == 403, raw.head
    config = gw.config()
    config["gateway"]["trustedProxies"] = ["127.0.0.1"]
    gw.write_config(config)
    reload(gw, "reload: gateway.trustedProxies changed: applies to new connections")
    deadline = time.monotonic() + 5
    while gw.log_text("gatewayd").count("brokerd reloaded its configuration: 1 trusted "
                                        "proxy") < 2:
        assert time.monotonic() < deadline, gw.logs()
        time.sleep(0.05)
    for _ in range(4):      # whichever worker takes it
        attempt = connect(gw, headers=forwarded)
        assert attempt.ok, attempt.error
    line = gw.log_lines("gatewayd", "gatewayd: info: admitted ")[-1]
    assert " addr=203.0.113.9 via=proxy:127.0.0.1 " in line, line
    assert session.conn.request("health")["ok"] is True


def page_gatewayctl(gw):
    status, _, body = gw.http("/")
    assert status == 200
    match = re.search(rb'<html lang="en" data-gatewayctl="([^"]*)">', body)
    assert match, body[:300]
    return html.unescape(match.group(1).decode())


def test_auto_approval_and_the_gatewayctl_command_apply(make_gateway):
    gw = make_gateway()
    before = Identity()
    expect.pairing_required(handshake(gw.url, cli_params(token=gw.token), identity=before),
                            before, requested_scopes=["operator.read"])
    derived = page_gatewayctl(gw)
    config = gw.config()
    config["gateway"]["nodes"]["pairing"]["autoApproveLocal"] = True
    config["clawgate"] = {"gatewayctl": "sudo gatewayctl"}
    gw.write_config(config)
    reload(gw, "reload: 2 changes applied, 0 waiting for a restart")
    assert handshake(gw.url, cli_params(token=gw.token), identity=Identity()).ok
    deadline = time.monotonic() + 5
    while page_gatewayctl(gw) != "sudo gatewayctl":
        assert time.monotonic() < deadline, "the page still shows %r" % derived
        time.sleep(0.05)
    # Back to no command in the file: the one derived from the socket again.
    del config["clawgate"]
    gw.write_config(config)
    reload(gw, "reload: 1 change applied", count=1)
    deadline = time.monotonic() + 5
    while page_gatewayctl(gw) != derived:
        assert time.monotonic() < deadline, page_gatewayctl(gw)
        time.sleep(0.05)


@pytest.mark.skipif(os.geteuid() != 0, reason="brokerd drops to its account only as root")
def test_a_file_the_broker_account_cannot_read_is_not_applied(make_gateway):
    gw = make_gateway(config_extra={"controlUi": {"allowedOrigins": [OLD]}})
    with_origins(gw, [NEW])
    os.chown(gw.config_path, 0, 0)
    reload(gw, "kept the running configuration, nothing changed")
    assert gw.broker.logged("re-reads it as the account it runs as: make it readable to "
                            "that account")
    assert connect(gw, origin=OLD).ok
