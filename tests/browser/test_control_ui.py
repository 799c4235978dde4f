"""clawgate's own Control UI (served by gatewayd at /) in headless Chromium:
pairing from the shell, then from the dashboard of an approved browser
(control_ui.mjs drives the browsers; screenshots go to the artifacts dir)."""

import json
import os
import subprocess
from pathlib import Path

from harness import GATEWAYCTL

HERE = Path(__file__).resolve().parent
SCRIPT_TIMEOUT = 240


def run_node(node, args, env_extra, cwd):
    env = dict(os.environ, **env_extra)
    return subprocess.run([str(node.binary)] + args, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=SCRIPT_TIMEOUT, stdin=subprocess.DEVNULL)


def test_ed25519_of_the_page(node):
    """The page's own Ed25519 and SHA-2 against RFC 8032 and the captured vectors."""
    result = run_node(node, ["--test", str(HERE / "ed25519.test.mjs")], {}, HERE)
    assert result.returncode == 0, result.stdout + result.stderr


def run_browser_script(script, node, gateway, artifacts, profiles):
    """Runs a browser script against gateway; returns the facts it printed."""
    result = run_node(node, [str(HERE / script)], {
        "CLAWGATE_PORT": str(gateway.port),
        "CLAWGATE_TOKEN": gateway.token,
        "CLAWGATE_GATEWAYCTL": str(GATEWAYCTL),
        "CLAWGATE_CONTROL_SOCKET": str(gateway.control_socket),
        "CLAWGATE_ARTIFACTS": str(artifacts),
        "CLAWGATE_PROFILES": str(profiles),
        "PLAYWRIGHT_MODULES": str(node.node_modules),
    }, HERE)
    assert result.returncode == 0, "%s failed:\n%s\n%s" % (script, result.stdout, result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_pairing_two_browsers(node, gateway, artifacts, tmp_path):
    facts = run_browser_script("control_ui.mjs", node, gateway, artifacts, tmp_path)
    assert facts["problems"] == []

    # What the broker holds afterwards: the first browser paired with what it asked
    # for, the removed (then rejected) second one pending again under its newest request.
    listing = gateway.devices()
    paired = {d["deviceId"]: d for d in listing["paired"]}
    assert set(paired) == {facts["first"]["deviceId"]}
    first = paired[facts["first"]["deviceId"]]
    assert first["clientId"] == "openclaw-control-ui" and first["clientMode"] == "webchat"
    assert {"operator.admin", "operator.pairing", "operator.read"} <= set(first["scopes"])
    assert [p["requestId"] for p in listing["pending"]] == [facts["secondLast"]["requestId"]]
    for name in ("01-first-browser-pairing-required", "02-first-browser-dashboard",
                 "03-second-browser-pairing-required", "04-first-browser-sees-second-request",
                 "05-second-browser-connected", "06-first-browser-two-devices",
                 "07-first-browser-after-remove", "08-first-browser-after-reject"):
        assert (artifacts / (name + ".png")).stat().st_size > 1000, name
