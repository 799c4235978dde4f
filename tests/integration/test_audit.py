"""The audit log (doc/design.md §1, §5): every approval, rejection, removal, rename,
token rotation and revocation and shared-token change is one JSON line in
<state>/audit.log naming who did it, and `gatewayctl audit [--json]` shows it
(served by brokerd: gatewayctl never reads the state dir)."""

import json
import os

from clawgate_test.clawclient import Identity, cli_params, handshake
from clawgate_test.flows import admin_session, device_token_connect, pair_device, request_pairing

CTL_WHO = "uid %d" % os.getuid()


def audit(gw):
    result = gw.ctl_ok("audit", json_output=True)
    assert set(result.json) == {"entries", "unreadable"}, result
    return result.json


def summary(entries):
    return [(e["what"], e.get("deviceId"), e.get("requestId"), e.get("role"), e["who"])
            for e in entries]


def test_every_decision_is_audited_with_who_did_it(make_gateway):
    gw = make_gateway(config_token=False)
    assert audit(gw) == {"entries": [], "unreadable": 0}
    a, b, c = Identity(), Identity(), Identity()

    # gatewayctl: approve, rename, rotate, revoke, remove.
    rid_a = request_pairing(gw, a)
    gw.ctl_ok("devices", "approve", rid_a)
    gw.ctl_ok("devices", "rename", a.device_id, "laptop")
    gw.ctl_ok("devices", "rotate", a.device_id)
    gw.ctl_ok("devices", "revoke", a.device_id)
    gw.ctl_ok("devices", "remove", a.device_id)
    # A device-less admin CLI over the gateway: reject.
    admin = admin_session(gw, ["operator.pairing"])
    rid_b = request_pairing(gw, b)
    assert admin.request("device.pair.reject", {"requestId": rid_b})["ok"] is True
    # A paired device acting on itself: rotate its own token.
    scopes = ("operator.pairing", "operator.read")
    token = pair_device(gw, c, scopes)
    rid_c = [e for e in audit(gw)["entries"] if e["deviceId"] == c.device_id][0]["requestId"]
    me = device_token_connect(gw, c, token, scopes=scopes)
    assert me.conn.request("device.token.rotate", {"deviceId": c.device_id,
                                                   "role": "operator"})["ok"] is True
    # The shared token.
    gw.ctl_ok("token", "rotate")

    log = audit(gw)
    assert log["unreadable"] == 0, log
    assert summary(log["entries"]) == [
        ("approve", a.device_id, rid_a, "operator", CTL_WHO),
        ("rename", a.device_id, None, None, CTL_WHO),
        ("rotate", a.device_id, None, "operator", CTL_WHO),
        ("revoke", a.device_id, None, "operator", CTL_WHO),
        ("remove", a.device_id, None, None, CTL_WHO),
        ("reject", b.device_id, rid_b, "operator", "device-less operator"),
        ("approve", c.device_id, rid_c, "operator", CTL_WHO),
        ("rotate", c.device_id, None, "operator", "device %s" % c.device_id),
        ("shared-token-rotate", None, None, None, CTL_WHO),
    ], log
    times = [e["ts"] for e in log["entries"]]
    assert times == sorted(times), times

    # The file holds exactly these entries, one JSON object per line, and no secret.
    text = (gw.state_dir / "audit.log").read_text()
    assert text.endswith("\n")
    assert [json.loads(line) for line in text.splitlines()] == log["entries"]
    assert gw.token_file_contents() not in text
    assert (gw.state_dir / "audit.log").stat().st_mode & 0o777 == 0o600

    # The table shows the same, and the log survives a restart.
    table = gw.ctl_ok("audit").stdout
    for what in ("approve", "rename", "rotate", "revoke", "remove", "reject",
                 "shared-token-rotate", "device-less operator", CTL_WHO):
        assert what in table, table
    gw.restart()
    assert audit(gw) == log


def test_refused_commands_are_not_audited(gateway):
    assert gateway.ctl("devices", "approve", "no-such-request").rc == 1
    assert gateway.ctl("devices", "revoke", "no-such-device").rc == 1
    admin = admin_session(gateway, ["operator.read"])
    assert admin.request("device.pair.reject", {"requestId": "x"})["ok"] is False
    assert audit(gateway)["entries"] == []
    assert "empty" in gateway.ctl_ok("audit").stdout


def test_silent_approval_is_audited(make_gateway):
    gw = make_gateway(config_extra={"nodes": {"pairing": {"autoApproveLocal": True}}})
    ident = Identity()
    assert handshake(gw.url, cli_params(token=gw.token), identity=ident).ok
    (entry,) = audit(gw)["entries"]
    assert entry["what"] == "approve" and entry["deviceId"] == ident.device_id, entry
    assert entry["who"] == "auto-approval (local device)", entry


def test_a_line_cut_short_by_a_crash_is_skipped(gateway):
    ident = Identity()
    gateway.ctl_ok("devices", "approve", request_pairing(gateway, ident))
    gateway.kill()
    with open(gateway.state_dir / "audit.log", "a") as f:
        f.write('{"what":"remove","deviceId":"')
    gateway.start()
    gateway.ctl_ok("devices", "remove", ident.device_id)
    log = audit(gateway)
    # brokerd ended the torn line at start-up: it is skipped, and the entries
    # before and after it are intact.
    assert [e["what"] for e in log["entries"]] == ["approve", "remove"], log
    assert log["unreadable"] == 1, log
    assert "not audit entries" in gateway.ctl_ok("audit").stdout
