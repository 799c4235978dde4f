"""The test client itself against the captured vectors (doc/protocol.md §3.4):
building connect params the way the real CLI (vector A) and Control UI (vector B)
do and signing them must give exactly the captured payloads, and the captured
signatures must verify (their negatives must not). Needs no daemon."""

import hashlib
import json

import pytest

from clawgate_test.clawclient import (
    Identity,
    b64url_decode,
    b64url_encode,
    cli_params,
    control_ui_params,
    device_id_for,
    normalize_metadata,
    sign_device,
    signature_payload,
    token_slot,
    verify_signature,
)
from clawgate_test.harness import REPO

VECTORS = REPO / "tests" / "vectors" / "signatures.json"
SHARED_TOKEN = "test-token-0123456789abcdef0123456789abcdef"
# What the clients had from the connect.challenge when the vectors were captured.
A_NONCE, A_SIGNED_AT = "d1fb90d0-671c-4cbf-950f-ddf281376c5e", 1795511295036
B_NONCE, B_SIGNED_AT = "e062c755-f66e-4af9-bf13-0909bc4e064d", 1795511575441


def load_vectors():
    return json.loads(VECTORS.read_text())


# Names for parametrizing; a missing file fails the tests below, not the whole session.
VECTOR_NAMES = [v["name"] for v in load_vectors()] if VECTORS.is_file() else ["missing"]


def vector(name):
    (found,) = [v for v in load_vectors() if v["name"] == name]
    return found


def test_vector_a_cli_v3_payload_from_cli_params():
    a = vector("A-cli-v3")
    params = cli_params(token=SHARED_TOKEN, scopes=["operator.read"])
    assert params["client"]["platform"] == "linux"
    assert params["client"]["deviceFamily"] == "Linux"
    payload = signature_payload("v3", params, device_id=a["deviceId"], nonce=A_NONCE,
                                signed_at=A_SIGNED_AT)
    assert payload == a["payload"]
    assert verify_signature(a["publicKey"], payload, a["signature"])
    # The CLI signs v3 only: the same fields laid out as v2 do not verify.
    v2 = signature_payload("v2", params, device_id=a["deviceId"], nonce=A_NONCE,
                           signed_at=A_SIGNED_AT)
    assert not verify_signature(a["publicKey"], v2, a["signature"])


def test_vector_b_control_ui_v2_payload_from_control_ui_params():
    b = vector("B-control-ui-v2")
    params = control_ui_params(token=SHARED_TOKEN)
    # The UI sends its secret twice; only auth.token is signed.
    assert params["auth"] == {"token": SHARED_TOKEN, "password": SHARED_TOKEN}
    payload = signature_payload("v2", params, device_id=b["deviceId"], nonce=B_NONCE,
                                signed_at=B_SIGNED_AT)
    assert payload == b["payload"]
    assert verify_signature(b["publicKey"], payload, b["signature"])
    v3 = signature_payload("v3", params, device_id=b["deviceId"], nonce=B_NONCE,
                           signed_at=B_SIGNED_AT)
    assert not verify_signature(b["publicKey"], v3, b["signature"])


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_signatures_json_entry(name):
    entry = vector(name)
    raw = b64url_decode(entry["publicKey"])
    assert len(raw) == 32
    assert device_id_for(raw) == entry["deviceId"]
    assert entry["payload"].split("|")[:2] == [entry["version"], entry["deviceId"]]
    assert verify_signature(entry["publicKey"], entry["payload"], entry["signature"]) \
        is entry["expect_valid"]


def test_sign_device_round_trip_with_a_fresh_identity():
    ident = Identity()
    params = cli_params(token=SHARED_TOKEN, scopes=["operator.pairing", "operator.read"])
    sign_device(params, ident, nonce=A_NONCE, signed_at=A_SIGNED_AT, version="v3")
    dev = params["device"]
    assert set(dev) == {"id", "publicKey", "signature", "nonce", "signedAt"}
    assert len(dev["publicKey"]) == 43 and "=" not in dev["publicKey"]
    assert len(dev["signature"]) == 86 and "=" not in dev["signature"]
    assert dev["id"] == hashlib.sha256(b64url_decode(dev["publicKey"])).hexdigest()
    payload = signature_payload("v3", params, device_id=dev["id"], nonce=dev["nonce"],
                                signed_at=dev["signedAt"])
    assert payload.endswith("|operator.pairing,operator.read|%d|%s|%s|linux|linux" % (
        A_SIGNED_AT, SHARED_TOKEN, A_NONCE))
    assert verify_signature(dev["publicKey"], payload, dev["signature"])
    # Padded and standard-alphabet spellings of the same key and signature verify too.
    std_key = b64url_encode(ident.public_raw).replace("-", "+").replace("_", "/") + "="
    assert verify_signature(std_key, payload, dev["signature"] + "==")
    assert not verify_signature(dev["publicKey"], payload + "x", dev["signature"])


@pytest.mark.parametrize("auth, slot", [
    (None, ""),
    ({}, ""),
    ({"token": "T"}, "T"),
    ({"token": "", "deviceToken": "D"}, ""),          # "" counts and gives an empty slot
    ({"deviceToken": "D"}, "D"),
    ({"deviceToken": "D", "bootstrapToken": "B"}, "D"),
    ({"bootstrapToken": "B"}, "B"),
    ({"password": "P"}, ""),                          # a password is never signed
    ({"password": "P", "deviceToken": "D"}, "D"),
    ({"token": None, "deviceToken": "D"}, "D"),       # null is absent
])
def test_token_slot_rule(auth, slot):
    assert token_slot(auth) == slot


def test_device_token_client_signs_its_device_token():
    params = cli_params(device_token="D" * 43)
    assert params["auth"] == {"deviceToken": "D" * 43}
    payload = signature_payload("v3", params, device_id="x", nonce="n", signed_at=1)
    assert payload == "v3|x|cli|cli|operator|operator.read|1|%s|n|linux|linux" % ("D" * 43)


def test_payload_defaults_and_scope_order():
    params = cli_params(scopes=None, role=None, platform=" MacOS ", device_family=None)
    assert "scopes" not in params and "role" not in params and "auth" not in params
    assert signature_payload("v3", params, device_id="x", nonce="n", signed_at=5) == \
        "v3|x|cli|cli|operator||5||n|macos|"
    params = cli_params(scopes=["b", "a", "b"])     # as sent: no sort, no dedupe
    assert signature_payload("v2", params, device_id="x", nonce="n", signed_at=5) == \
        "v2|x|cli|cli|operator|b,a,b|5||n"


@pytest.mark.parametrize("raw, norm", [
    ("Linux", "linux"), ("  Linux x86_64 ", "linux x86_64"), (None, ""), ("", ""),
    ("ÄÖ-Win", "ÄÖ-win"),                              # only ASCII A-Z is lower-cased
])
def test_normalize_metadata(raw, norm):
    assert normalize_metadata(raw) == norm
