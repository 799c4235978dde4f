"""What an attacker can do to the failed-authentication counters (doc/protocol.md
§4.6) and to attribution behind a proxy: a remote client's failures never lock a
loopback client out, however it forges its Origin; IPv6 clients share a budget per
/64; a wrong shared secret rescued by the device token is no failure, while wrong
device tokens are limited like wrong shared secrets; a connect unauthorized
whatever its device proof says is refused without checking the proof; X-Real-IP
naming loopback or a trusted proxy attributes nobody. Remote clients are forged
through a trusted proxy's X-Forwarded-For, from loopback."""

import json
import time

import pytest

from clawgate_test import expect, rawws
from clawgate_test.clawclient import (
    Identity,
    b64url_decode,
    b64url_encode,
    cli_params,
    handshake,
)
from clawgate_test.flows import pair_device

LIMITED = "unauthorized: too many failed authentication attempts (retry later)"
REMOTE_HINT = "set gateway.remote.token to match gateway.auth.token"


@pytest.fixture
def proxied(make_gateway):
    return make_gateway(config_extra={"trustedProxies": ["127.0.0.1"]})


def via(addr):
    return {"X-Forwarded-For": addr}


def code_of(attempt):
    assert not attempt.ok, attempt.hello
    return attempt.error["details"]["code"]


def rate_limited(attempt):
    err = expect.rejected(attempt, code="INVALID_REQUEST", message=LIMITED, details={
        "code": "AUTH_RATE_LIMITED", "authReason": "rate_limited",
        "canRetryWithDeviceToken": False, "recommendedNextStep": "wait_then_retry"})
    assert err["retryable"] is True and 0 < err["retryAfterMs"] <= 300000, err


def test_remote_failures_under_the_admins_origin_never_lock_loopback_out(proxied):
    origin = "http://127.0.0.1:%d" % proxied.port
    # Twelve remote peers, one wrong token each, all claiming the admin's own
    # Control UI origin (and reaching it under its Host).
    for i in range(12):
        attempt = handshake(proxied.url, cli_params(token="wrong"), origin=origin,
                            headers=via("203.0.113.%d" % (100 + i)))
        assert code_of(attempt) == "AUTH_TOKEN_MISMATCH", attempt.error
        attempt.expect_close()
    # The admin on this host, with that origin and the right token, is let in.
    assert handshake(proxied.url, cli_params(token=proxied.token), origin=origin).ok


def test_ipv6_clients_share_a_budget_per_64(proxied):
    for i in range(10):
        attempt = handshake(proxied.url, cli_params(token="wrong"),
                            headers=via("2001:db8:5:6::%x" % (i + 1)))
        expect.unauthorized(attempt, "unauthorized: gateway token mismatch (%s)" % REMOTE_HINT,
                            details_code="AUTH_TOKEN_MISMATCH", auth_reason="token_mismatch",
                            next_step="update_auth_credentials")
    # Another address of the same /64 is locked too, even with the right token.
    rate_limited(handshake(proxied.url, cli_params(token=proxied.token),
                           headers=via("2001:db8:5:6:ffff::1")))
    assert handshake(proxied.url, cli_params(token=proxied.token),
                     headers=via("2001:db8:5:7::1")).ok


def test_device_token_rescue_is_no_failure(proxied):
    ident = Identity()
    devtok = pair_device(proxied, ident)
    # A stale shared token next to the right device token, more often than the
    # limit: every one is admitted, none is counted.
    for _ in range(11):
        params = cli_params(token="stale-" + proxied.token, device_token=devtok)
        attempt = handshake(proxied.url, params, identity=ident, headers=via("203.0.113.40"))
        assert attempt.hello["auth"]["method"] == "device-token", attempt.hello
        attempt.close()
    assert handshake(proxied.url, cli_params(token=proxied.token),
                     headers=via("203.0.113.40")).ok


def test_wrong_device_tokens_are_limited(proxied):
    ident = Identity()
    devtok = pair_device(proxied, ident)
    forged = devtok[:-4] + ("AAAA" if not devtok.endswith("AAAA") else "BBBB")
    for _ in range(10):
        attempt = handshake(proxied.url, cli_params(device_token=forged), identity=ident,
                            headers=via("203.0.113.41"))
        expect.unauthorized(attempt, "unauthorized: device token mismatch (rotate/reissue "
                            "device token)", details_code="AUTH_DEVICE_TOKEN_MISMATCH",
                            auth_reason="device_token_mismatch",
                            next_step="update_auth_credentials")
    rate_limited(handshake(proxied.url, cli_params(device_token=devtok), identity=ident,
                           headers=via("203.0.113.41")))
    # Another address is not affected; the right shared token clears the lock.
    assert handshake(proxied.url, cli_params(device_token=devtok), identity=ident,
                     headers=via("203.0.113.42")).ok
    assert handshake(proxied.url, cli_params(token=proxied.token),
                     headers=via("203.0.113.41")).ok
    assert handshake(proxied.url, cli_params(device_token=devtok), identity=ident,
                     headers=via("203.0.113.41")).ok


def broken_signature(params):
    sig = bytearray(b64url_decode(params["device"]["signature"]))
    sig[10] ^= 0x01
    params["device"]["signature"] = b64url_encode(bytes(sig))


def test_no_credential_is_refused_before_the_proof(gateway):
    # Whatever the signature, a device with no token can only be unauthorized:
    # that is the answer, and the signature is never checked.
    attempt = handshake(gateway.url, cli_params(), identity=Identity(), edit=broken_signature)
    expect.unauthorized(attempt, "unauthorized: gateway token missing (%s)" %
                        expect.LOCAL_CLI_HINT, details_code="AUTH_TOKEN_MISSING",
                        auth_reason="token_missing", next_step="update_auth_configuration")
    # With the right token the proof is checked as before.
    attempt = handshake(gateway.url, cli_params(token=gateway.token), identity=Identity(),
                        edit=broken_signature)
    expect.device_auth_failed(attempt, "device signature invalid",
                              "DEVICE_AUTH_SIGNATURE_INVALID", "device-signature")


@pytest.mark.parametrize("real_ip", ["127.0.0.1", "::1", "10.9.8.7"])
def test_real_ip_naming_loopback_or_a_trusted_proxy_is_403(make_gateway, real_ip):
    gw = make_gateway(config_extra={"trustedProxies": ["127.0.0.1", "10.0.0.0/8"],
                                    "allowRealIpFallback": True})
    raw = rawws.RawWS(gw.port, extra_headers=b"X-Real-IP: %s\r\n" % real_ip.encode())
    assert raw.status == 403, raw.head
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            raw._fill(deadline)
        except EOFError:
            break
    assert json.loads(raw.buf)["error"]["type"] == "proxy_attribution_required", raw.buf
