"""clawgate's own Control UI (served by gatewayd at /) in headless Chromium:
pairing from the shell, then from the dashboard of an approved browser
(control_ui.mjs drives the browsers; screenshots go to the artifacts dir)."""

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from harness import GATEWAYCTL, Gateway

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


def shared_token(gateway):
    """The shared token in force; "" when the auth mode uses none."""
    if gateway.configured_token or (gateway.state_dir / "gateway.token").exists():
        return gateway.token
    return ""


def run_browser_script(script, node, gateway, artifacts, profiles, **env):
    """Runs a browser script against gateway (more environment in env); returns the
    facts it printed."""
    result = run_node(node, [str(HERE / script)], {
        **env,
        "CLAWGATE_PORT": str(gateway.port),
        "CLAWGATE_TOKEN": shared_token(gateway),
        "CLAWGATE_GATEWAYCTL": str(GATEWAYCTL),
        "CLAWGATE_CONTROL_SOCKET": str(gateway.control_socket),
        "CLAWGATE_ARTIFACTS": str(artifacts),
        "CLAWGATE_PROFILES": str(profiles),
        "PLAYWRIGHT_MODULES": str(node.node_modules),
    }, HERE)
    assert result.returncode == 0, "%s failed:\n%s\n%s" % (script, result.stdout, result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def make_browser_gateway(request):
    """Gateway(**kwargs), started (after prepare(gateway) if given); stopped at the
    end, its logs printed if the test failed."""
    made = []

    def make(prepare=None, **kwargs):
        gw = Gateway(**kwargs)
        made.append(gw)
        if prepare is not None:
            prepare(gw)
        gw.start()
        return gw

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for gw in made:
        gw.stop()
        if failed:
            print("daemon logs in %s:\n%s" % (gw.root, gw.logs()))
        else:
            gw.remove_root()


def shell_gatewayctl(gw):
    """The test build's gatewayctl with gw's socket, shell-quoted as an admin would
    write it into clawgate.gatewayctl."""
    return "%s --socket %s" % (shlex.quote(str(GATEWAYCTL)), shlex.quote(str(gw.control_socket)))


def set_clawgate_gatewayctl(gw):
    config = json.loads(gw.config_path.read_text())
    config["clawgate"] = {"gatewayctl": shell_gatewayctl(gw)}
    gw.config_path.write_text(json.dumps(config))


def test_pairing_two_browsers(node, make_browser_gateway, artifacts, tmp_path):
    """The page shows clawgate.gatewayctl's command; the script runs it as shown."""
    gateway = make_browser_gateway(prepare=set_clawgate_gatewayctl)
    facts = run_browser_script("control_ui.mjs", node, gateway, artifacts, tmp_path,
                               CLAWGATE_PAGE_GATEWAYCTL=shell_gatewayctl(gateway))
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


@pytest.mark.parametrize("mode", ["token", "password", "none"])
def test_opened_without_a_token(node, make_browser_gateway, artifacts, tmp_path, mode):
    """Without clawgate.gatewayctl the page shows the derived command."""
    auth = {"token": {"mode": "token"}, "password": {"mode": "password", "password": "pw-1"},
            "none": {"mode": "none"}}[mode]
    gateway = make_browser_gateway(config_token=False, config_extra={"auth": auth})
    secret = "pw-1" if mode == "password" else shared_token(gateway)
    facts = run_browser_script("token_modes.mjs", node, gateway, artifacts, tmp_path,
                               CLAWGATE_MODE=mode, CLAWGATE_SECRET=secret,
                               CLAWGATE_PAGE_GATEWAYCTL="gatewayctl --socket %s"
                               % os.path.realpath(gateway.control_socket))
    # The wrong secret's refusal is the gateway's own message, shown as it came.
    if mode != "none":
        assert "mismatch" in facts["refusal"], facts
    # Device-token and password entry leave nothing behind but the pending request.
    assert [p["requestId"] for p in gateway.devices()["pending"]] == [facts["requestId"]]
    # A console error for the wrong secret's refusal is expected; nothing else.
    assert all("mismatch" in p or "1008" in p for p in facts["problems"]), facts["problems"]
