"""In relay mode gatewayd tells brokerd whether the upstream answers
(GW_UPSTREAM), before any session is relayed: its probe, a TCP connect that
sends nothing, runs when its link to brokerd comes up and again each period in
which no relayed session reported (--test-upstream-probe shortens the period).
gatewayctl doctor shows the outcome, with the error and the fix when the
upstream does not answer. Real daemons, an echo upstream or a closed port."""

import time

from clawgate_test.clawclient import cli_params, handshake
from clawgate_test.echoupstream import EchoUpstream
from clawgate_test.harness import free_port

WAIT = 15.0         # the first probe: the link's start plus a 3 s connect at most
PERIOD_MS = 500     # --test-upstream-probe


def upstream_state(gw):
    result = gw.ctl("doctor", json_output=True)
    assert result.rc == 0, result
    return result.json["install"]["relay"]["upstreamState"]


def wait_state(gw, done, what, timeout=WAIT):
    """The upstream's state in doctor once done(state) holds."""
    deadline = time.monotonic() + timeout
    while True:
        state = upstream_state(gw)
        if done(state):
            return state
        assert time.monotonic() < deadline, "%s: doctor still says %r" % (what, state)
        time.sleep(0.2)


def closed_port_gateway(make_gateway, gatewayd_args=()):
    port = free_port()
    gw = make_gateway(config_clawgate={"relay": {"upstream": "ws://127.0.0.1:%d" % port}},
                      gatewayd_args=gatewayd_args)
    return gw, port


def test_a_listening_upstream_is_reachable_before_any_session(echo_relay):
    gw, up = echo_relay()
    state = wait_state(gw, lambda s: s["known"], "the first probe")
    assert state["reachable"] is True and state["error"] == "", state
    assert state["lastOkMs"] == state["atMs"] > 0, state
    text = gw.ctl("doctor")
    assert "relay upstream %s: reachable (connected" % up.url in text.stdout, text.stdout
    # The probe sent nothing: the upstream saw no upgrade.
    assert up.upgrades() == [], up.upgrades()


def test_a_closed_upstream_port_is_unreachable_before_any_session(make_gateway):
    gw, port = closed_port_gateway(make_gateway)
    state = wait_state(gw, lambda s: s["known"], "the first probe")
    assert state["reachable"] is False and state["lastOkMs"] == 0, state
    assert state["error"] == "probe connect: Connection refused", state
    text = gw.ctl("doctor")
    assert text.rc == 1, text
    assert ("relay upstream ws://127.0.0.1:%d: unreachable since" % port) in text.stdout, \
        text.stdout
    assert "(probe connect: Connection refused)" in text.stdout, text.stdout
    assert "start the OpenClaw gateway there, or correct clawgate.relay" in text.stdout
    assert gw.broker.logged("reports the upstream gateway ws://127.0.0.1:%d unreachable"
                            % port), gw.logs()
    assert "fails gatewayd's probe (probe connect: Connection refused)" in \
        gw.log_text("gatewayd")


def test_a_relayed_session_that_fails_reports_its_own_error(make_gateway):
    gw, port = closed_port_gateway(make_gateway)
    wait_state(gw, lambda s: s["known"], "the first probe")
    attempt = handshake(gw.url, cli_params(token=gw.token))
    assert not attempt.ok, attempt.res
    state = wait_state(gw, lambda s: not s["error"].startswith("probe"),
                       "the failed session's report")
    assert state["reachable"] is False and "refused" in state["error"].lower(), state


def test_the_next_probe_finds_an_upstream_that_started(make_gateway, tmp_path):
    gw, port = closed_port_gateway(make_gateway, ["--test-upstream-probe=%d" % PERIOD_MS])
    down = wait_state(gw, lambda s: s["known"], "the first probe")
    assert down["reachable"] is False, down
    with EchoUpstream(tmp_path / "late-upstream", port=port) as up:
        state = wait_state(gw, lambda s: s["reachable"], "a probe after the upstream started")
        assert state["lastOkMs"] > down["atMs"], (down, state)
        assert up.upgrades() == [], up.upgrades()
        assert "relay upstream ws://127.0.0.1:%d: reachable" % port in \
            gw.ctl("doctor").stdout
