"""SIGHUP to brokerd and clawgate.relay: while relay mode stays on and the
upstream's port stays the same, a changed upstream address or trusted-proxy
settings apply to the sessions relayed from then on, and sessions relayed
before go on with their upstream. Relay mode turned on or off, or another
port, waits for a restart (gatewayd's sandbox admits TCP sockets only in relay
mode, and connects to the port it started with only), and the log says so.
Against the echo upstream; brokerd(8) RELOAD, clawgate.json(5) clawgate.relay."""

import signal
import time

from clawgate_test.clawclient import cli_params, handshake
from clawgate_test.echoupstream import EchoUpstream

SUMMARY = "waiting for a restart; every session stays"


def reload(gw):
    before = gw.log_text("brokerd").count(SUMMARY)
    gw.broker.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while gw.log_text("brokerd").count(SUMMARY) == before:
        assert time.monotonic() < deadline, "no reload summary:\n" + gw.logs()
        time.sleep(0.05)


def relayed(gw):
    attempt = handshake(gw.url, cli_params(token=gw.token), check_hello=False)
    assert attempt.ok, attempt.error
    return attempt.conn


def echoes(conn, text):
    res = conn.request("echo", {"d": text})
    return res["ok"] and res["payload"] == {"d": text}


def forwarded_for(upgrade):
    return [v for n, v in upgrade if n.lower() == "x-forwarded-for"]


def test_another_address_on_the_same_port_serves_the_next_session(echo_relay, tmp_path):
    gw, first = echo_relay()
    second = EchoUpstream(tmp_path / "second", addr="127.0.0.2", port=first.port).start()
    try:
        before = relayed(gw)
        assert len(first.connects()) == 1 and forwarded_for(first.upgrades()[0]) == [
            "192.0.2.1"]
        config = gw.config()
        config["clawgate"]["relay"].update(upstream=second.url,
                                           clientIpPlaceholder="192.0.2.77")
        gw.write_config(config)
        reload(gw)
        assert gw.broker.logged("reload: clawgate.relay changed: applies to the sessions "
                                "relayed from now on")
        assert gw.broker.logged("reload: 1 change applied, 0 waiting for a restart")
        deadline = time.monotonic() + 5
        while not gw.gatewayd.logged("clawgate.relay: new sessions go to the upstream at "
                                     "127.0.0.2 port %d (Host 127.0.0.2:%d" % (
                                         first.port, first.port)):
            assert time.monotonic() < deadline, gw.logs()
            time.sleep(0.05)
        after = relayed(gw)
        assert len(second.connects()) == 1 and len(first.connects()) == 1
        assert forwarded_for(second.upgrades()[0]) == ["192.0.2.77"]
        assert echoes(after, "new")
        # The session from before still goes to the first upstream.
        assert echoes(before, "old")
        assert not gw.gatewayd.logged("lost the link to brokerd")
    finally:
        second.stop()


def test_another_port_or_relay_off_waits_for_a_restart(echo_relay, tmp_path):
    gw, first = echo_relay()
    other = EchoUpstream(tmp_path / "other").start()
    try:
        config = gw.config()
        config["clawgate"]["relay"]["upstream"] = other.url
        gw.write_config(config)
        reload(gw)
        assert gw.broker.logged(
            "reload: clawgate.relay changed (the upstream's port: gatewayd's sandbox connects "
            "to the port it started with only): restart brokerd and gatewayd (systemctl "
            "restart brokerd gatewayd) for it to take effect; the running value stays in use "
            "until then")
        assert echoes(relayed(gw), "still")
        assert len(first.connects()) == 1 and other.connects() == []
        del config["clawgate"]
        gw.write_config(config)
        reload(gw)
        assert gw.broker.logged("reload: clawgate.relay changed (relay mode turned off): "
                                "restart brokerd and gatewayd")
        assert echoes(relayed(gw), "relayed")
        assert len(first.connects()) == 2
        assert not gw.gatewayd.logged("clawgate.relay: new sessions go to")
    finally:
        other.stop()
