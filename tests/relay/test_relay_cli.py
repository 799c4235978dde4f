"""The real openclaw CLI through clawgate in relay mode: gateway calls are answered
by the upstream OpenClaw gateway, pairing by clawgate."""

import json

from clawgate_test.clawclient import Identity

from test_relay import pair


def admin_args(gw):
    """A device-less admin on loopback with the shared token."""
    return ["--url", "ws://127.0.0.1:%d" % gw.port, "--token", gw.token]


def call(openclaw, home, gw, method):
    result = openclaw.run_cli(home, "gateway", "call", method, "--json", *admin_args(gw))
    assert result.returncode == 0, result
    return json.loads(result.stdout[result.stdout.index("{"):])


def test_gateway_calls_are_answered_by_the_upstream(openclaw, relay, upstream, tmp_path):
    assert call(openclaw, tmp_path, relay, "health")["ok"] is True
    assert "sessions" in call(openclaw, tmp_path, relay, "sessions.list")
    call(openclaw, tmp_path, relay, "status")
    config = call(openclaw, tmp_path, relay, "config.get")
    # The upstream's own configuration: only it could have answered.
    assert '"trusted-proxy"' in json.dumps(config), config


def test_devices_list_shows_clawgates_table(openclaw, relay, tmp_path):
    device = Identity()
    pair(relay, device).close()
    listing = openclaw.run_cli(tmp_path, "devices", "list", "--json", *admin_args(relay))
    assert listing.returncode == 0, listing
    table = json.loads(listing.stdout)
    assert [d["deviceId"] for d in table["paired"]] == [device.device_id], table
