"""Life cycle (doc/protocol.md §1): keepalive pings that drop dead
peers, and brokerd going away and coming back while gatewayd keeps serving.
(SIGTERM's 1012 `service restart` is a row of test_rejections.py.)"""

import time
from pathlib import Path

from clawgate_test.clawclient import cli_params, handshake
from clawgate_test.flows import raw_session


def test_keepalive_pings_and_drops_a_peer_that_does_not_answer(gateway):
    silent = raw_session(gateway)
    polite = handshake(gateway.url, cli_params(token=gateway.token))   # answers pings
    assert polite.ok
    pinged = False
    deadline = time.monotonic() + 60          # a ping within 25 s, the drop 25 s later
    while time.monotonic() < deadline:
        try:
            _, op, _ = silent.recv_frame(timeout=deadline - time.monotonic())
        except EOFError:
            break
        except ConnectionResetError:
            break
        pinged = pinged or op == 9
        assert op in (1, 9), "unexpected opcode %d" % op        # tick events, pings
    else:
        raise AssertionError("a peer that answers no ping was not dropped within 60 s")
    assert pinged, "dropped without a ping"
    assert "no pong within 25 s" in gateway.log_text("gatewayd")
    # The one that answered is still served.
    assert polite.conn.request("health")["ok"] is True


def test_brokerd_away_and_back(gateway):
    session = handshake(gateway.url, cli_params(token=gateway.token))
    assert session.ok
    gateway.broker.stop()
    # Authenticated sessions stay up; what needs brokerd is answered UNAVAILABLE.
    res = session.conn.request("health")
    assert res["ok"] is False, res
    assert res["error"]["code"] == "UNAVAILABLE" and res["error"]["retryable"] is True, res
    session.conn.ping()
    # New handshakes: a challenge, then UNAVAILABLE (retryable) and close 1013.
    attempt = handshake(gateway.url, cli_params(token=gateway.token))
    err = attempt.error
    assert err["code"] == "UNAVAILABLE", err
    assert err["retryable"] is True and err["retryAfterMs"] == 1000, err
    assert attempt.expect_close() == (1013, "gateway unavailable")
    # brokerd is back: gatewayd reconnects by itself and admits again; the
    # session the old broker admitted is closed for its client to reconnect.
    gateway.start_broker()
    deadline = time.monotonic() + 10
    while True:
        attempt = handshake(gateway.url, cli_params(token=gateway.token))
        if attempt.ok:
            break
        assert attempt.error["code"] == "UNAVAILABLE", attempt.error
        assert time.monotonic() < deadline, "gatewayd did not reconnect to brokerd in 10 s"
        time.sleep(0.2)
    assert attempt.conn.request("health")["ok"] is True
    assert session.expect_close() == (1012, "service restart")


def test_gatewayd_as_pid_1(make_gateway):
    """In a container gatewayd is often pid 1 (Docker and Podman start the image's
    command so): its broker dialer, whose parent is then pid 1, must not take
    that for gatewayd having died, and gatewayd must link to brokerd and serve."""
    gw = make_gateway(start=False)
    gw.start_broker()
    gw.start_gatewayd(wrapper=("unshare", "--pid", "--fork", "--kill-child"))
    nspid = [line for line in Path("/proc/%d/status" % gw.gatewayd.pid).read_text().splitlines()
             if line.startswith("NSpid:")][0].split()
    assert nspid[-1] == "1", "gatewayd is not pid 1 in its namespace: %r" % (nspid,)
    session = handshake(gw.url, cli_params(token=gw.token))
    assert session.ok, session
    assert session.conn.request("health")["ok"] is True
