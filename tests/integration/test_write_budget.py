"""What a paired device can make brokerd write: a shared-token reconnect writes
nothing (its token is handed out again, not minted anew), a rename to the same
label writes nothing, and changing calls over the gateway have a budget per device
and per gateway link, refused in the shape of a rate limit (retryable, with
retryAfterMs) naming the limit. Nothing the client was told succeeded is lost when
brokerd is killed."""

import os

from clawgate_test.clawclient import Identity, cli_params, handshake
from clawgate_test.flows import device_token_connect, pair_device

DEVICE_BURST = 10           # RPCLIMIT_DEVICE_BURST
DEVICE_EVERY_MS = 2000      # RPCLIMIT_DEVICE_EVERY_MS
PAIRING = ("operator.pairing",)


def registry_stamp(gw):
    """The registry file's inode and mtime: an atomic rewrite changes both."""
    st = os.stat(gw.state_dir / "registry.json")
    return st.st_ino, st.st_mtime_ns


def audit_lines(gw):
    return (gw.state_dir / "audit.log").read_text().splitlines()


def shared_token_connect(gw, identity, scopes=("operator.read",)):
    attempt = handshake(gw.url, cli_params(token=gw.token, scopes=scopes), identity=identity)
    auth = attempt.hello["auth"]
    attempt.close()
    return auth


def test_shared_token_reconnects_write_nothing(gateway):
    device = Identity()
    token = pair_device(gateway, device)
    stamp = registry_stamp(gateway)
    for _ in range(100):
        auth = shared_token_connect(gateway, device)
        assert auth["method"] == "token", auth
        # The token it holds, again: nothing new to save.
        assert auth["deviceToken"] == token
    assert registry_stamp(gateway) == stamp, "a shared-token reconnect rewrote the registry"
    # What the client was told survives a crash: the token still admits it.
    gateway.kill()
    gateway.start()
    session = device_token_connect(gateway, device, token)
    assert session.ok, "the device token handed out before the crash was lost"
    session.close()
    # After a restart brokerd holds only hashes: the first shared-token connect
    # mints (and saves) a new token, the next ones get that one again.
    fresh = shared_token_connect(gateway, device)["deviceToken"]
    assert fresh != token
    stamp = registry_stamp(gateway)
    assert shared_token_connect(gateway, device)["deviceToken"] == fresh
    assert registry_stamp(gateway) == stamp


def test_a_rename_to_the_same_label_writes_nothing(gateway):
    device = Identity()
    token = pair_device(gateway, device, scopes=PAIRING)
    session = device_token_connect(gateway, device, token, scopes=PAIRING)
    assert session.ok
    params = {"deviceId": device.device_id, "label": "desk"}
    assert session.conn.request("device.pair.rename", params)["ok"] is True
    stamp, lines = registry_stamp(gateway), audit_lines(gateway)
    for _ in range(5):
        assert session.conn.request("device.pair.rename", params)["ok"] is True
    assert registry_stamp(gateway) == stamp
    assert audit_lines(gateway) == lines
    session.close()


def test_a_rename_loop_is_rate_limited(gateway):
    device = Identity()
    token = pair_device(gateway, device, scopes=PAIRING)
    session = device_token_connect(gateway, device, token, scopes=PAIRING)
    assert session.ok
    answers = [session.conn.request("device.pair.rename",
                                    {"deviceId": device.device_id, "label": "name %d" % i})
               for i in range(DEVICE_BURST + 5)]
    ok = [i for i, a in enumerate(answers) if a["ok"]]
    refused = [a for a in answers if not a["ok"]]
    # The first ones pass; the rest are refused (a refill may let one more by).
    assert DEVICE_BURST <= len(ok) <= DEVICE_BURST + 1, answers
    error = refused[0]["error"]
    assert error["code"] == "UNAVAILABLE", error
    assert error["retryable"] is True
    assert 0 < error["retryAfterMs"] <= DEVICE_EVERY_MS
    assert error["message"].startswith("rate limited: too many device changes from this "
                                       "device (at most 10 at once, then one every 2000 ms)")
    assert error["details"]["code"] == "RATE_LIMITED"
    assert error["details"]["limit"] == "device"
    # Every rename that was acknowledged is on disk and audited; none other is.
    renames = [line for line in audit_lines(gateway) if '"what":"rename"' in line]
    assert len(renames) == len(ok)
    assert gateway.paired_entry(device.device_id)["operatorLabel"] == "name %d" % ok[-1]
    # Reads are not budgeted.
    assert session.conn.request("device.pair.list", {})["ok"] is True
    session.close()
