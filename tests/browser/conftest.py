"""Fixtures for the browser suite: clawgate's Control UI in headless Chromium
(gateway, make_gateway and openclaw come from tests/lib/clawgate_test/fixtures.py).

  node        Node 24 and playwright-core from npm, installed once into the compat
              cache (skips the suite, loudly, only when the npm registry cannot be
              reached); Chromium is Debian's (scripts/deps.sh)
  artifacts   the directory the screenshots go to (<build dir>/artifacts/browser,
              or $CLAWGATE_ARTIFACTS)"""

import os
from pathlib import Path

import pytest

from clawgate_test import openclaw_cli
from clawgate_test.fixtures import skip_loudly
from clawgate_test.harness import BUILD

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
        skip_loudly("BROWSER SUITE SKIPPED: %s" % exc)
    assert CHROMIUM.exists(), "%s is missing: run ./check as root (scripts/deps.sh)" % CHROMIUM
    return Node(binary, modules)


@pytest.fixture(scope="session")
def artifacts():
    path = Path(os.environ.get("CLAWGATE_ARTIFACTS", BUILD / "artifacts" / "browser"))
    path.mkdir(parents=True, exist_ok=True)
    return path
