"""Shared-token checks and device proof (doc/protocol.md §3.3, §4.1, §5): exact codes,
messages, details and close reasons; and no pairing request without the secret."""

import hashlib

import pytest

from clawgate_test import expect
from clawgate_test.clawclient import (
    Connection,
    Identity,
    b64url_decode,
    b64url_encode,
    cli_params,
    control_ui_params,
    handshake,
    sign_device,
)
from clawgate_test.flows import device_token_connect, pair_device

TOKEN_MISSING = "unauthorized: gateway token missing (%s)" % expect.LOCAL_CLI_HINT
TOKEN_MISMATCH = "unauthorized: gateway token mismatch (%s)" % expect.LOCAL_CLI_HINT


def assert_no_pairing_request(gw):
    assert gw.devices()["pending"] == [], "a request was created without a valid shared secret"


def test_token_missing(gateway):
    attempt = handshake(gateway.url, cli_params(), identity=Identity())
    expect.unauthorized(attempt, TOKEN_MISSING, details_code="AUTH_TOKEN_MISSING",
                        auth_reason="token_missing", next_step="update_auth_configuration")
    assert_no_pairing_request(gateway)


def test_device_less_without_secret_needs_device_identity(gateway):
    # §4.1 step 7: no device and no shared secret offered -> NOT_PAIRED, not "unauthorized".
    attempt = handshake(gateway.url, cli_params())
    expect.rejected(attempt, code="NOT_PAIRED", message="device identity required",
                    details={"code": "DEVICE_IDENTITY_REQUIRED"})
    assert_no_pairing_request(gateway)


def test_token_mismatch_device_less(gateway):
    attempt = handshake(gateway.url, cli_params(token="not-the-token"))
    expect.unauthorized(attempt, TOKEN_MISMATCH, details_code="AUTH_TOKEN_MISMATCH",
                        auth_reason="token_mismatch", next_step="update_auth_credentials")


def test_token_mismatch_with_device_may_retry_with_device_token(gateway):
    attempt = handshake(gateway.url, cli_params(token="not-the-token"), identity=Identity())
    expect.unauthorized(attempt, TOKEN_MISMATCH, details_code="AUTH_TOKEN_MISMATCH",
                        auth_reason="token_mismatch", next_step="retry_with_device_token",
                        can_retry=True)
    assert_no_pairing_request(gateway)


def test_token_prefix_or_extension_does_not_match(gateway):
    for wrong in (gateway.token[:-1], gateway.token + "x"):
        attempt = handshake(gateway.url, cli_params(token=wrong))
        assert attempt.error["details"]["code"] == "AUTH_TOKEN_MISMATCH", attempt.error
        attempt.expect_close()
    # An empty token is no secret at all (§4.1 step 6: token_missing).
    attempt = handshake(gateway.url, cli_params(token=""), identity=Identity())
    assert attempt.error["details"]["code"] == "AUTH_TOKEN_MISSING", attempt.error
    attempt.expect_close()


def test_shared_token_may_come_as_password(gateway):
    hello = handshake(gateway.url, cli_params(password=gateway.token)).hello
    assert hello["auth"]["method"] == "token"
    assert hello["auth"]["scopes"] == ["operator.read"]


def test_device_less_non_cli_operator_gets_no_scopes(gateway):
    params = cli_params(token=gateway.token, client_id="test", mode="test",
                        scopes=["operator.admin"])
    attempt = handshake(gateway.url, params)
    assert attempt.hello["auth"]["scopes"] == []
    expect.forbidden(attempt.conn.request("device.pair.list", {}), "operator.pairing")


def test_control_ui_without_device_identity(gateway):
    attempt = handshake(gateway.url, control_ui_params(token=gateway.token),
                        origin="http://127.0.0.1:%d" % gateway.port)
    expect.rejected(attempt, code="INVALID_REQUEST",
                    message="control ui requires device identity (use HTTPS or localhost "
                            "secure context)",
                    details={"code": "CONTROL_UI_DEVICE_IDENTITY_REQUIRED"})


# ---- device proof, in the §3.3 order ----

def flip_signature_bit(params):
    sig = bytearray(b64url_decode(params["device"]["signature"]))
    sig[10] ^= 0x01
    params["device"]["signature"] = b64url_encode(bytes(sig))


def replace_signature_tail(params):
    sig = params["device"]["signature"]
    params["device"]["signature"] = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BA")


@pytest.mark.parametrize("edit", [
    flip_signature_bit,
    lambda p: p.update(scopes=["operator.admin"]),           # not what was signed
    lambda p: p["client"].update(platform="macos"),          # v3 covers the platform
    lambda p: replace_signature_tail(p),
], ids=["bit-flip", "scopes-changed", "platform-changed", "tail-replaced"])
def test_tampered_signature(gateway, edit):
    attempt = handshake(gateway.url, cli_params(token=gateway.token), identity=Identity(),
                        edit=edit)
    expect.device_auth_failed(attempt, "device signature invalid",
                              "DEVICE_AUTH_SIGNATURE_INVALID", "device-signature")
    assert_no_pairing_request(gateway)


def test_signature_by_another_key(gateway):
    victim, attacker = Identity(), Identity()

    def use_attackers_signature(params):
        # Signed by the attacker over the victim's fields, presented with the victim's key.
        own = dict(params, device=None)
        sign_device(own, attacker, nonce=params["device"]["nonce"],
                    signed_at=params["device"]["signedAt"], version="v3",
                    device_id=victim.device_id)
        params["device"]["signature"] = own["device"]["signature"]

    attempt = handshake(gateway.url, cli_params(token=gateway.token), identity=victim,
                        edit=use_attackers_signature)
    expect.device_auth_failed(attempt, "device signature invalid",
                              "DEVICE_AUTH_SIGNATURE_INVALID", "device-signature")


@pytest.mark.parametrize("offset_ms", [-200000, 200000], ids=["past", "future"])
def test_stale_signed_at(gateway, offset_ms):
    attempt = handshake(gateway.url, cli_params(token=gateway.token), identity=Identity(),
                        signed_at_offset_ms=offset_ms)
    expect.device_auth_failed(attempt, "device signature expired",
                              "DEVICE_AUTH_SIGNATURE_EXPIRED", "device-signature-stale")


def test_signed_at_within_skew_is_accepted(gateway):
    ident = Identity()
    attempt = handshake(gateway.url, cli_params(token=gateway.token), identity=ident,
                        signed_at_offset_ms=-60000)
    expect.pairing_required(attempt, ident, requested_scopes=["operator.read"])


def test_device_id_not_matching_key(gateway):
    attempt = handshake(gateway.url, cli_params(token=gateway.token), identity=Identity(),
                        device_id=hashlib.sha256(b"someone else").hexdigest())
    expect.device_auth_failed(attempt, "device identity mismatch",
                              "DEVICE_AUTH_DEVICE_ID_MISMATCH", "device-id-mismatch")


def test_blank_nonce(gateway):
    attempt = handshake(gateway.url, cli_params(token=gateway.token), identity=Identity(),
                        nonce="   ")
    expect.device_auth_failed(attempt, "device nonce required", "DEVICE_AUTH_NONCE_REQUIRED",
                              "device-nonce-missing")


def test_nonce_of_another_connection(gateway):
    ident = Identity()
    other = Connection.open(gateway.url)
    other_nonce = other.read_challenge()["nonce"]
    attempt = handshake(gateway.url, cli_params(token=gateway.token), identity=ident,
                        nonce=other_nonce)
    expect.device_auth_failed(attempt, "device nonce mismatch", "DEVICE_AUTH_NONCE_MISMATCH",
                              "device-nonce-mismatch")
    # The nonce still belongs to its own connection, which can use it.
    params = sign_device(cli_params(token=gateway.token), ident, nonce=other_nonce,
                         signed_at=other.challenge["ts"], version="v3")
    res = other.request("connect", params)
    assert res["ok"] is False and res["error"]["code"] == "NOT_PAIRED", res


def test_replayed_connect_of_a_paired_device_is_refused(gateway):
    ident = Identity()
    pair_device(gateway, ident)
    first = handshake(gateway.url, cli_params(token=gateway.token), identity=ident)
    assert first.ok
    first.close()
    # Someone who captured that frame sends it again, byte for byte, on a new socket.
    replay = handshake(gateway.url, first.params)
    expect.device_auth_failed(replay, "device nonce mismatch", "DEVICE_AUTH_NONCE_MISMATCH",
                              "device-nonce-mismatch")


def test_wrong_device_token(gateway):
    ident = Identity()
    real = pair_device(gateway, ident)
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    attempt = device_token_connect(gateway, ident, forged)
    expect.unauthorized(attempt, "unauthorized: device token mismatch (rotate/reissue device "
                                 "token)",
                        details_code="AUTH_DEVICE_TOKEN_MISMATCH",
                        auth_reason="device_token_mismatch", next_step="update_auth_credentials")


def test_device_token_of_another_device(gateway):
    alice, mallory = Identity(), Identity()
    alice_token = pair_device(gateway, alice)
    pair_device(gateway, mallory)
    attempt = device_token_connect(gateway, mallory, alice_token)
    err = attempt.error
    assert err["details"]["code"] == "AUTH_DEVICE_TOKEN_MISMATCH", err
    assert attempt.expect_close()[0] == 1008
