"""Runs the browser scripts of tests/browser/ (Node with playwright-core driving
Debian's Chromium) against a gateway, and reads the facts they print."""

import json
import os
import subprocess

from .harness import GATEWAYCTL, REPO

SCRIPTS = REPO / "tests" / "browser"
SCRIPT_TIMEOUT = 240


def run_node(node, args, env_extra, cwd):
    env = dict(os.environ, **env_extra)
    return subprocess.run([str(node.binary)] + args, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=SCRIPT_TIMEOUT, stdin=subprocess.DEVNULL)


def shared_token(gateway):
    """The shared token in force; "" when the auth mode uses none."""
    if gateway.configured_token or (gateway.state_dir / "gateway.token").exists():
        return gateway.token
    return ""


def run_browser_script(script, node, gateway, artifacts, profiles, **env):
    """Runs a browser script against gateway (more environment in env); returns the
    facts it printed."""
    result = run_node(node, [str(SCRIPTS / script)], {
        **env,
        "CLAWGATE_PORT": str(gateway.port),
        "CLAWGATE_TOKEN": shared_token(gateway),
        "CLAWGATE_GATEWAYCTL": str(GATEWAYCTL),
        "CLAWGATE_CONTROL_SOCKET": str(gateway.control_socket),
        "CLAWGATE_ARTIFACTS": str(artifacts),
        "CLAWGATE_PROFILES": str(profiles),
        "PLAYWRIGHT_MODULES": str(node.node_modules),
    }, SCRIPTS)
    assert result.returncode == 0, "%s failed:\n%s\n%s" % (script, result.stdout, result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])
