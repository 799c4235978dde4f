"""clawgate's own Control UI (served by gatewayd at /) in headless Chromium:
pairing from the shell, then from the dashboard of an approved browser
(control_ui.mjs drives the browsers; screenshots go to the artifacts dir)."""

import json
import os
import shlex

import pytest

from clawgate_test.browser import SCRIPTS, run_browser_script, run_node, shared_token
from clawgate_test.harness import GATEWAYCTL


def test_device_key_of_the_page(node, gateway):
    """The page's Ed25519 and SHA-256 where WebCrypto cannot serve (TweetNaCl.js and
    CryptoJS, as gatewayd serves them) against RFC 8032 and the captured vectors."""
    result = run_node(node, ["--test", str(SCRIPTS / "keys.test.mjs")],
                      {"CLAWGATE_PORT": str(gateway.port)}, SCRIPTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_device_text_is_shown_escaped(node):
    """The page's shown(): device-chosen names cannot reorder or hide text."""
    result = run_node(node, ["--test", str(SCRIPTS / "shown.test.mjs")], {}, SCRIPTS)
    assert result.returncode == 0, result.stdout + result.stderr


def shell_gatewayctl(gw):
    """The test build's gatewayctl with gw's socket, shell-quoted as an admin would
    write it into clawgate.gatewayctl."""
    return "%s --socket %s" % (shlex.quote(str(GATEWAYCTL)), shlex.quote(str(gw.control_socket)))


def set_clawgate_gatewayctl(gw):
    config = json.loads(gw.config_path.read_text())
    config["clawgate"] = {"gatewayctl": shell_gatewayctl(gw)}
    gw.config_path.write_text(json.dumps(config))


def test_pairing_two_browsers(node, make_gateway, artifacts, tmp_path):
    """The page shows clawgate.gatewayctl's command; the script runs it as shown."""
    gateway = make_gateway(start=False)
    set_clawgate_gatewayctl(gateway)
    gateway.start()
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
def test_opened_without_a_token(node, make_gateway, artifacts, tmp_path, mode):
    """Without clawgate.gatewayctl the page shows the derived command."""
    auth = {"token": {"mode": "token"}, "password": {"mode": "password", "password": "pw-1"},
            "none": {"mode": "none"}}[mode]
    gateway = make_gateway(config_token=False, config_extra={"auth": auth})
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
