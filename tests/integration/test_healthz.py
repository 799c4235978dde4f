"""GET /healthz on the gateway port, for load balancers and container health
checks: 200 `ok` while this gatewayd is linked to brokerd, 503 while brokerd is
unreachable, 200 again once gatewayd has reconnected. No credentials, nothing
beyond up or down, HEAD too, on plain and TLS listeners and every worker, and no
log line per check above debug."""

import re
import time

from clawgate_test.clawclient import cli_params, handshake

RECONNECT_TIMEOUT = 10.0


def check(gw, method="GET", path="/healthz", context=None):
    return gw.http(path, method, context=context)


def assert_up(answer):
    status, headers, body = answer
    assert status == 200, answer
    assert body == b"ok\n", answer
    assert headers["content-type"] == "text/plain; charset=utf-8", headers
    assert headers["cache-control"] == "no-store", headers
    assert headers["content-length"] == "3", headers


def assert_down(answer):
    status, headers, body = answer
    assert status == 503, answer
    assert body == b"unavailable: brokerd is unreachable\n", answer
    assert headers["cache-control"] == "no-store", headers


def wait_for(gw, want_status, timeout=RECONNECT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        answer = check(gw)
        if answer[0] == want_status or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def test_healthz_follows_the_broker_link(gateway):
    assert_up(check(gateway))
    assert_up(check(gateway, path="/healthz?probe=lb"))
    status, headers, body = check(gateway, "HEAD")
    assert status == 200 and body == b"" and headers["content-length"] == "3", headers
    gateway.broker.stop()
    gateway.broker = None
    # gatewayd notices the closed link at once; the check answers 503 until it
    # is back, while the process keeps running.
    assert_down(wait_for(gateway, 503, timeout=5))
    status, headers, body = check(gateway, "HEAD")
    assert status == 503 and body == b"", (status, headers, body)
    assert gateway.gatewayd.alive()
    gateway.start_broker()
    assert_up(wait_for(gateway, 200))
    assert handshake(gateway.url, cli_params(token=gateway.token)).ok


def test_healthz_says_nothing_more_and_logs_nothing_at_info(gateway):
    log = gateway.gatewayd.log_path
    before = [l for l in log.read_text().splitlines() if ": debug: " not in l]
    for _ in range(20):
        assert_up(check(gateway))
    time.sleep(0.2)
    after = [l for l in log.read_text().splitlines() if ": debug: " not in l]
    assert after == before, "a health check was logged above debug:\n%s" % "\n".join(
        after[len(before):])
    status, headers, body = check(gateway)
    assert gateway.token not in body.decode() + str(headers)
    assert "server" not in headers, headers


def test_other_paths_still_refuse_head(gateway):
    status, headers, _ = check(gateway, "HEAD", "/")
    assert status == 405 and headers["allow"] == "GET", headers
    assert check(gateway, "POST")[0] == 405


def test_a_websocket_may_still_use_the_path(gateway):
    url = gateway.url + "healthz"
    assert handshake(url, cli_params(token=gateway.token)).ok


def consecutive(gw, want_status, count=30, timeout=RECONNECT_TIMEOUT):
    """Whether count checks in a row answer want_status within timeout. Each is a
    new connection, which SO_REUSEPORT hands to any worker (30 in a row miss one
    of 3 workers with a chance of about 1 in 60000)."""
    run, deadline = 0, time.monotonic() + timeout
    while run < count and time.monotonic() < deadline:
        run = run + 1 if check(gw)[0] == want_status else 0
    return run == count


def test_healthz_from_every_worker(make_gateway):
    gw = make_gateway(gatewayd_args=["--workers", "3"])
    assert consecutive(gw, 200), "not every worker answered 200 while linked to brokerd"
    gw.broker.stop()
    gw.broker = None
    assert consecutive(gw, 503), "not every worker answered 503 without brokerd"
    gw.start_broker()
    assert consecutive(gw, 200), "not every worker answered 200 once brokerd was back"
    links = re.findall(r"gatewayd pid (\d+) worker", gw.log_text("brokerd"))
    assert len(set(links)) == 3, links


def test_healthz_over_tls(tls_gateway):
    gw = tls_gateway
    assert_up(check(gw, context=gw.context))
    status, _, body = check(gw, "HEAD", context=gw.context)
    assert status == 200 and body == b""
    gw.broker.stop()
    gw.broker = None
    deadline = time.monotonic() + 5
    while (answer := check(gw, context=gw.context))[0] != 503:
        assert time.monotonic() < deadline, answer
        time.sleep(0.1)
    assert_down(answer)
