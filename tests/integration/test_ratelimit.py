"""Failed-authentication rate limiting (doc/protocol.md §4.6): the
counters live in brokerd, keyed by the client address gatewayd attributes
(remote clients are forged here through a trusted proxy's X-Forwarded-For); loopback
clients are slowed down, never locked."""

import time

import pytest

from clawgate_test import expect
from clawgate_test.clawclient import cli_params, handshake

TOKEN_MISMATCH_LOCAL = "unauthorized: gateway token mismatch (%s)" % expect.LOCAL_CLI_HINT
LIMITED = "unauthorized: too many failed authentication attempts (retry later)"


def connect(gw, token, xff=None, origin=None):
    headers = {"X-Forwarded-For": xff} if xff else None
    # Loopback refusals come late on purpose (up to 5 s, see below).
    return handshake(gw.url, cli_params(token=token), headers=headers, origin=origin,
                     timeout=10)


def rate_limited(attempt):
    err = expect.rejected(attempt, code="INVALID_REQUEST", message=LIMITED, details={
        "code": "AUTH_RATE_LIMITED", "authReason": "rate_limited",
        "canRetryWithDeviceToken": False, "recommendedNextStep": "wait_then_retry"})
    assert err["retryable"] is True, err
    assert 0 < err["retryAfterMs"] <= 300000, err


@pytest.fixture
def proxied(make_gateway):
    return make_gateway(config_extra={"trustedProxies": ["127.0.0.1"]})


def fail(gw, n, **kw):
    for _ in range(n):
        attempt = connect(gw, "wrong-" + gw.token, **kw)
        assert attempt.error["details"]["code"] == "AUTH_TOKEN_MISMATCH", attempt.error
        attempt.expect_close()


def test_remote_client_is_locked_after_10_failures(proxied):
    fail(proxied, 10, xff="203.0.113.9")
    # Even the right token is refused now, without being compared.
    rate_limited(connect(proxied, proxied.token, xff="203.0.113.9"))
    # Another address is not affected.
    assert connect(proxied, proxied.token, xff="203.0.113.10").ok


def test_success_resets_the_count(proxied):
    fail(proxied, 9, xff="203.0.113.9")
    assert connect(proxied, proxied.token, xff="203.0.113.9").ok
    fail(proxied, 9, xff="203.0.113.9")
    assert connect(proxied, proxied.token, xff="203.0.113.9").ok


def test_loopback_without_origin_is_slowed_down(gateway):
    # §4.6: the n-th wrong secret in a row is answered after 250 ms x 2^(n-1) (at most
    # 5 s). Only lower bounds are checked: a loaded machine can only add to them.
    for n in (1, 2, 3):
        start = time.monotonic()
        attempt = connect(gateway, "wrong-" + gateway.token)
        assert attempt.error["details"]["code"] == "AUTH_TOKEN_MISMATCH", attempt.error
        waited = time.monotonic() - start
        assert waited >= 0.25 * 2 ** (n - 1), "answer %d came after %.3f s" % (n, waited)
        attempt.expect_close()


def test_loopback_without_origin_is_never_locked(gateway):
    # 11 failures in a row (10 lock any other key) take about 38 s of back-off.
    for _ in range(11):
        expect.unauthorized(connect(gateway, "wrong-" + gateway.token), TOKEN_MISMATCH_LOCAL,
                            details_code="AUTH_TOKEN_MISMATCH", auth_reason="token_mismatch",
                            next_step="update_auth_credentials")
    assert connect(gateway, gateway.token).ok


def test_browser_origin_on_loopback_is_slowed_down_not_locked(gateway):
    # With an Origin a loopback client is held back like one without (the Origin
    # is the client's to choose, so its lock only changes a wrong answer: see
    # test_hardening_admit.py and the unit test admrate).
    origin = "http://127.0.0.1:%d" % gateway.port
    for n in (1, 2):
        start = time.monotonic()
        attempt = connect(gateway, "wrong-" + gateway.token, origin=origin)
        assert attempt.error["details"]["code"] == "AUTH_TOKEN_MISMATCH", attempt.error
        waited = time.monotonic() - start
        assert waited >= 0.25 * 2 ** (n - 1), "answer %d came after %.3f s" % (n, waited)
        attempt.expect_close()
    assert connect(gateway, gateway.token, origin=origin).ok
