"""The real openclaw CLI against clawgate, unchanged (doc/protocol.md §7.3, §9.4).
Each simulated person or device has its own HOME, so its own CLI identity."""

import json
import re

REQUEST_ID = re.compile(r"device pairing required \(requestId: ([0-9a-f-]{36})\)")


def out(result):
    return result.stdout + result.stderr


def admin_args(gw):
    """A device-less admin: loopback --url with the shared token (§4.4)."""
    return ["--url", "ws://127.0.0.1:%d" % gw.port, "--token", gw.token]


def device_args(gw, alias):
    """A device-bearing client: a `.local` name makes the CLI sign its identity (§9.3)."""
    return ["--url", "ws://%s:%d" % (alias, gw.port), "--token", gw.token]


def request_pairing(openclaw, gw, alias, home):
    """`cron list` creates the CLI's identity and is refused until approval."""
    result = openclaw.run_cli(home, "cron", "list", *device_args(gw, alias))
    assert result.returncode == 1, result
    match = REQUEST_ID.search(out(result))
    assert match, "no requestId in the CLI's output: %r" % out(result)
    return match.group(1)


def cli_device_id(openclaw, gw, admin_home, request_id):
    listing = openclaw.run_cli(admin_home, "devices", "list", "--json", *admin_args(gw))
    assert listing.returncode == 0, listing
    pending = json.loads(listing.stdout)["pending"]
    return next(p["deviceId"] for p in pending if p["requestId"] == request_id)


def test_device_less_admin_calls_health(openclaw, gateway, tmp_path):
    result = openclaw.run_cli(tmp_path, "gateway", "call", "health", *admin_args(gateway))
    assert result.returncode == 0, result
    assert "Gateway call: health" in result.stdout
    assert json.loads(result.stdout[result.stdout.index("{"):])["ok"] is True


def test_pair_approve_with_the_cli_then_connect_on_the_device_token(
        openclaw, gateway, local_alias, tmp_path):
    admin, device = tmp_path / "admin", tmp_path / "device"
    request_id = request_pairing(openclaw, gateway, local_alias, device)

    listing = openclaw.run_cli(admin, "devices", "list", *admin_args(gateway))
    assert listing.returncode == 0, listing
    assert "Pending (1)" in listing.stdout and "new pairing" in listing.stdout, listing.stdout
    assert request_id in gateway.ctl_ok("devices", "list").stdout

    preview = openclaw.run_cli(admin, "devices", "approve", "--latest", *admin_args(gateway))
    assert preview.returncode == 1, preview
    assert "Selected pending device request %s" % request_id in out(preview), out(preview)
    assert gateway.devices()["paired"] == [], "--latest must only preview"

    device_id = cli_device_id(openclaw, gateway, admin, request_id)
    approved = openclaw.run_cli(admin, "devices", "approve", request_id, *admin_args(gateway))
    assert approved.returncode == 0, approved
    assert "Approved %s (%s)" % (device_id, request_id) in out(approved), out(approved)

    health = openclaw.run_cli(device, "gateway", "call", "health",
                              *device_args(gateway, local_alias))
    assert health.returncode == 0, health

    # A command that keeps its session stores the device token the hello-ok delivered;
    # clawgate does not implement cron.list, so only the handshake is of interest.
    cron = openclaw.run_cli(device, "cron", "list", *device_args(gateway, local_alias))
    assert "unknown method: cron.list" in out(cron), out(cron)
    # With the gateway as the CLI's remote and no --url/--token, only the device token
    # can authenticate it (doc/protocol.md §9.4).
    (device / ".openclaw" / "openclaw.json").write_text(json.dumps({"gateway": {
        "mode": "remote",
        "remote": {"url": "ws://%s:%d" % (local_alias, gateway.port), "transport": "direct"},
    }}))
    on_token = openclaw.run_cli(device, "gateway", "call", "health")
    assert on_token.returncode == 0, on_token
    assert "method=device-token" in gateway.logs(), gateway.logs()
    assert [p["deviceId"] for p in gateway.devices()["paired"]] == [device_id]

    removed = openclaw.run_cli(admin, "devices", "remove", device_id, *admin_args(gateway))
    assert removed.returncode == 0, removed
    assert "Removed %s" % device_id in out(removed), out(removed)
    refused = openclaw.run_cli(device, "gateway", "call", "health")
    assert refused.returncode != 0, refused


def test_reject_with_the_cli(openclaw, gateway, local_alias, tmp_path):
    admin, device = tmp_path / "admin", tmp_path / "device"
    request_id = request_pairing(openclaw, gateway, local_alias, device)
    device_id = cli_device_id(openclaw, gateway, admin, request_id)

    rejected = openclaw.run_cli(admin, "devices", "reject", request_id, *admin_args(gateway))
    assert rejected.returncode == 0, rejected
    assert "Rejected %s" % device_id in out(rejected), out(rejected)
    assert gateway.devices() == {"pending": [], "paired": []}

    again = openclaw.run_cli(admin, "devices", "reject", request_id, *admin_args(gateway))
    assert again.returncode != 0 and "unknown requestId" in out(again), out(again)
    unknown = openclaw.run_cli(admin, "devices", "approve", request_id, *admin_args(gateway))
    assert unknown.returncode == 1, unknown
    assert "No pending device request matches %s" % request_id in out(unknown), out(unknown)


def test_gatewayctl_approval_serves_the_cli_the_same(openclaw, gateway, local_alias, tmp_path):
    admin, device = tmp_path / "admin", tmp_path / "device"
    request_id = request_pairing(openclaw, gateway, local_alias, device)
    gateway.ctl_ok("devices", "approve", request_id)

    health = openclaw.run_cli(device, "gateway", "call", "health",
                              *device_args(gateway, local_alias))
    assert health.returncode == 0, health
    listing = openclaw.run_cli(admin, "devices", "list", "--json", *admin_args(gateway))
    assert listing.returncode == 0, listing
    paired = json.loads(listing.stdout)["paired"]
    assert [p["deviceId"] for p in paired] == [gateway.devices()["paired"][0]["deviceId"]]


def pair_with_stored_token(openclaw, gw, alias, device):
    """Pairs the CLI at `device` (approved with gatewayctl) and lets it store its
    device token; returns its device id."""
    request_id = request_pairing(openclaw, gw, alias, device)
    gw.ctl_ok("devices", "approve", request_id)
    cron = openclaw.run_cli(device, "cron", "list", *device_args(gw, alias))
    assert "unknown method: cron.list" in out(cron), out(cron)
    (device / ".openclaw" / "openclaw.json").write_text(json.dumps({"gateway": {
        "mode": "remote",
        "remote": {"url": "ws://%s:%d" % (alias, gw.port), "transport": "direct"},
    }}))
    return gw.devices()["paired"][0]["deviceId"]


def cli_json(result):
    assert result.returncode == 0, result
    return json.loads(result.stdout[result.stdout.index("{"):])


def test_rename_rotate_revoke_and_clear_with_the_cli(openclaw, gateway, local_alias, tmp_path):
    admin, device = tmp_path / "admin", tmp_path / "device"
    device_id = pair_with_stored_token(openclaw, gateway, local_alias, device)
    assert openclaw.run_cli(device, "gateway", "call", "health").returncode == 0

    renamed = openclaw.run_cli(admin, "devices", "rename", "--device", device_id,
                               "--name", "Kitchen laptop", *admin_args(gateway))
    assert renamed.returncode == 0, renamed
    assert "Renamed %s → Kitchen laptop" % device_id in out(renamed), out(renamed)
    assert gateway.devices()["paired"][0]["operatorLabel"] == "Kitchen laptop"

    rotated = cli_json(openclaw.run_cli(admin, "devices", "rotate", "--device", device_id,
                                        "--role", "operator", *admin_args(gateway)))
    assert rotated["deviceId"] == device_id and rotated["role"] == "operator", rotated
    assert rotated["tokenDelivery"] == "withheld-cross-device" and "token" not in rotated
    stale = openclaw.run_cli(device, "gateway", "call", "health")
    assert stale.returncode != 0 and "device token mismatch" in out(stale), out(stale)

    # The shared token gets the device a fresh device token; revoke then kills that one.
    fresh = openclaw.run_cli(device, "cron", "list", *device_args(gateway, local_alias))
    assert "unknown method: cron.list" in out(fresh), out(fresh)
    assert openclaw.run_cli(device, "gateway", "call", "health").returncode == 0
    revoked = cli_json(openclaw.run_cli(admin, "devices", "revoke", "--device", device_id,
                                        "--role", "operator", *admin_args(gateway)))
    assert revoked["deviceId"] == device_id and isinstance(revoked["revokedAtMs"], int)
    refused = openclaw.run_cli(device, "gateway", "call", "health")
    assert refused.returncode != 0 and "device token mismatch" in out(refused), out(refused)

    cleared = openclaw.run_cli(admin, "devices", "clear", "--yes", *admin_args(gateway))
    assert cleared.returncode == 0, cleared
    assert "Cleared 1 paired device" in out(cleared), out(cleared)
    assert gateway.devices() == {"pending": [], "paired": []}
