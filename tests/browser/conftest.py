"""Fixtures for the browser suite: clawgate's Control UI in headless Chromium.

  node        Node 24 and playwright-core from npm, installed once into the compat
              cache (skips the suite, loudly, only when the npm registry cannot be
              reached); Chromium is Debian's (scripts/deps.sh)
  gateway     brokerd + gatewayd from tests/integration/harness.py
  artifacts   the directory the screenshots go to (<build dir>/artifacts/browser,
              or $CLAWGATE_ARTIFACTS)"""

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
sys.path.insert(0, str(HERE.parent / "compat"))

import openclaw_cli  # noqa: E402
from harness import BUILD  # noqa: E402
from single_gateway import gateway, pytest_runtest_makereport  # noqa: E402,F401

PLAYWRIGHT_PACKAGE = "playwright-core@1.65.1"
CHROMIUM = Path("/usr/bin/chromium")


class Node:
    def __init__(self, binary, node_modules):
        self.binary = binary
        self.node_modules = node_modules


@pytest.fixture(scope="session")
def node():
    try:
        binary = openclaw_cli.install_node()
        modules = openclaw_cli.install_package(PLAYWRIGHT_PACKAGE, "playwright")
    except openclaw_cli.RegistryUnreachable as exc:
        message = "BROWSER SUITE SKIPPED: %s" % exc
        print("\n" + "!" * 78 + "\n" + message + "\n" + "!" * 78, file=sys.stderr)
        pytest.skip(message)
    assert CHROMIUM.exists(), "%s is missing: run ./check as root (scripts/deps.sh)" % CHROMIUM
    return Node(binary, modules)


@pytest.fixture(scope="session")
def artifacts():
    path = Path(os.environ.get("CLAWGATE_ARTIFACTS", BUILD / "artifacts" / "browser"))
    path.mkdir(parents=True, exist_ok=True)
    return path
