"""gatewayctl doctor: brokerd remembers its recent refusals (a bounded ring) and
explains each distinct one with its cause and the exact fix, plus the
installation facts it knows. Each refusal kind the harness can produce is
produced here, then read back as text and as --json."""

import json

import pytest

from clawgate_test.clawclient import Identity, cli_params, control_ui_params, handshake
from clawgate_test.flows import device_token_connect, pair_device, request_pairing

RING = 256


@pytest.fixture
def proxied(make_gateway):
    return make_gateway(config_extra={"trustedProxies": ["127.0.0.1"]})


def refuse(gw, params, **kw):
    attempt = handshake(gw.url, params, **kw)
    assert not attempt.ok, attempt.res
    attempt.expect_close()
    return attempt


def doctor(gw, *args):
    result = gw.ctl("doctor", *args, json_output=True)
    assert result.rc == 0, result
    return result.json


def by_kind(answer):
    kinds = {}
    for p in answer["problems"]:
        kinds.setdefault(p["kind"], []).append(p)
    return kinds


def test_doctor_explains_each_refusal_with_its_fix(proxied):
    gw = proxied
    pending = Identity()
    request_id = request_pairing(gw, pending)
    refuse(gw, cli_params(), identity=Identity())                       # token missing
    refuse(gw, cli_params(token="not-" + gw.token))                      # token mismatch
    stale = Identity()
    old_token = pair_device(gw, stale)
    gw.ctl_ok("devices", "remove", stale.device_id)
    refuse(gw, cli_params(device_token=old_token), identity=stale)      # stale device token
    refuse(gw, control_ui_params(token=gw.token), identity=Identity(), version="v2",
           origin="https://evil.example")                               # origin refused
    refuse(gw, control_ui_params(token=gw.token),
           origin="http://127.0.0.1:%d" % gw.port)                      # no secure context
    params = cli_params(token=gw.token)
    params.update(minProtocol=5, maxProtocol=6)
    refuse(gw, params)                                                  # protocol mismatch
    for _ in range(10):
        refuse(gw, cli_params(token="wrong-" + gw.token),
               headers={"X-Forwarded-For": "203.0.113.9"})
    refuse(gw, cli_params(token=gw.token), headers={"X-Forwarded-For": "203.0.113.9"})

    answer = doctor(gw)
    kinds = by_kind(answer)
    where = answer["install"]["secretWhere"]
    assert where == "gateway.auth.token in %s" % gw.config_path, where

    (pair,) = [p for p in kinds["pairing-required"] if p["deviceId"] == pending.device_id]
    assert pair["deviceId"] == pending.device_id and pair["requestId"] == request_id, pair
    assert "devices approve %s" % request_id in pair["fix"], pair
    assert "verification code %s %s" % (pending.device_id[:3], pending.device_id[3:6]) in \
        pair["fix"], pair
    for kind in ("token-missing", "token-mismatch"):
        fix = kinds[kind][0]["fix"]
        assert where in fix and "#token=" in fix and "--token" in fix, fix
        assert "Control UI's settings" in fix, fix
    (stale_p,) = kinds["stale-device-token"]
    assert stale_p["deviceId"] == stale.device_id, stale_p
    assert "devices remove %s" % stale.device_id in stale_p["fix"], stale_p
    (origin,) = kinds["origin-not-allowed"]
    assert origin["origin"] == "https://evil.example", origin
    assert "\"https://evil.example\" to gateway.controlUi.allowedOrigins" in origin["fix"]
    (insecure,) = kinds["control-ui-insecure-context"]
    assert "gateway.tls.enabled" in insecure["fix"] and "autoGenerate" in insecure["fix"]
    assert "protocol 4" in kinds["protocol-mismatch"][0]["fix"]
    (limited,) = kinds["rate-limited"]
    assert limited["address"] == "203.0.113.9" and limited["viaProxy"] is True, limited
    assert limited["liftsAtMs"] > limited["lastAtMs"], limited
    assert "it lifts at " in limited["fix"], limited
    # The ten wrong tokens from that address are one problem, counted.
    wrong = [p for p in kinds["token-mismatch"] if p["address"] == "203.0.113.9"]
    assert len(wrong) == 1 and wrong[0]["count"] == 10, wrong
    assert wrong[0]["firstAtMs"] <= wrong[0]["lastAtMs"]

    text = gw.ctl("doctor")
    assert text.rc == 1, text           # problems were listed
    for kind in kinds:
        assert "[%s]" % kind in text.stdout, text.stdout
    assert "devices approve %s" % request_id in text.stdout
    assert "gatewayd: 1 connected" in text.stdout, text.stdout


def test_doctor_filters_by_device_and_reports_installation(make_gateway):
    gateway = make_gateway(config_token=False)
    empty = gateway.ctl("doctor")
    assert empty.rc == 0, empty
    assert "no refusals among the last 0" in empty.stdout, empty.stdout
    install = doctor(gateway)["install"]
    assert install["stateDirMode"] == "0700" and install["stateDirPrivate"] is True, install
    assert install["gateways"] == 1 and install["port"] == gateway.port, install
    assert install["secretSource"] in ("file", "generated"), install
    assert install["secretWhere"].startswith("in %s/gateway.token" % install["stateDir"])
    assert install["tls"] is False, install

    a, b = Identity(), Identity()
    request_pairing(gateway, a)
    request_pairing(gateway, b)
    answer = doctor(gateway, "--device", a.device_id)
    assert [p["deviceId"] for p in answer["problems"]] == [a.device_id], answer
    text = gateway.ctl("doctor", "--device", b.device_id)
    assert b.device_id in text.stdout and a.device_id not in text.stdout, text.stdout
    usage = gateway.ctl("devices", "list", "--device", a.device_id)
    assert usage.rc == 2 and "--device only goes with doctor" in usage.stderr, usage


def test_an_approved_request_is_resolved_not_a_problem(gateway):
    waiting, approved = Identity(), Identity()
    request_pairing(gateway, waiting)
    request_id = request_pairing(gateway, approved)
    assert gateway.ctl("doctor").rc == 1                # two open requests
    gateway.ctl_ok("devices", "approve", request_id)
    pairs = {p["deviceId"]: p for p in doctor(gateway)["problems"]}
    assert pairs[approved.device_id]["resolved"] is True, pairs
    assert "nothing left to do" in pairs[approved.device_id]["fix"], pairs
    assert pairs[waiting.device_id]["resolved"] is False, pairs
    assert gateway.ctl("doctor").rc == 1                # one still waits
    only = gateway.ctl("doctor", "--device", approved.device_id)
    assert only.rc == 0 and "resolved: nothing left to do" in only.stdout, only
    gateway.ctl_ok("devices", "reject", request_pairing(gateway, waiting))
    # Rejected is not paired: still a problem, with the approve command.
    text = gateway.ctl("doctor", "--device", waiting.device_id)
    assert text.rc == 1 and "fix: " in text.stdout, text


def test_ring_keeps_the_newest_refusals_only(gateway):
    params = cli_params(token=gateway.token)
    params.update(minProtocol=5, maxProtocol=6)
    for _ in range(RING + 10):
        refuse(gateway, params)
    answer = doctor(gateway)
    assert answer["refusalsKept"] == RING and answer["refusalsCapacity"] == RING, answer
    (p,) = answer["problems"]
    assert p["kind"] == "protocol-mismatch" and p["count"] == RING, p


def test_client_text_is_escaped(gateway):
    name = 'Kitchen "quoted" \\ back'
    params = cli_params(token=gateway.token)
    params["client"]["displayName"] = name
    refuse(gateway, params, identity=Identity())
    result = gateway.ctl("doctor", json_output=True)
    assert result.rc == 0, result
    (p,) = json.loads(result.stdout)["problems"]
    assert p["displayName"] == name, p
    text = gateway.ctl("doctor")
    assert "\"%s\"" % name in text.stdout, text.stdout
    assert "\x1b" not in text.stdout + result.stdout
