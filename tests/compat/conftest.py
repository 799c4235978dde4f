"""Fixtures for the compat suite: the real openclaw CLI against real clawgate daemons.

  openclaw      installs Node 24 + openclaw 2026.9.6 once (skips the suite, loudly,
                only when the npm registry cannot be reached)
  local_alias   an /etc/hosts alias `clawgate-test.local` for 127.0.0.1, so the CLI
                sends its device identity (doc/protocol.md §9.3); /etc/hosts is restored
  hosts_alias   hosts_alias(name): the same for another name, for one test
  gateway       brokerd + gatewayd from tests/integration/harness.py"""

import contextlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

import openclaw_cli  # noqa: E402
from single_gateway import gateway, pytest_runtest_makereport  # noqa: E402,F401

HOSTS = Path("/etc/hosts")
ALIAS = "clawgate-test.local"


@pytest.fixture(scope="session")
def openclaw():
    try:
        openclaw_cli.install()
    except openclaw_cli.RegistryUnreachable as exc:
        message = "COMPAT SUITE SKIPPED: %s" % exc
        print("\n" + "!" * 78 + "\n" + message + "\n" + "!" * 78, file=sys.stderr)
        pytest.skip(message)
    return openclaw_cli


@contextlib.contextmanager
def _alias(name):
    """name resolves to 127.0.0.1 (an /etc/hosts line) until the block ends."""
    original = HOSTS.read_bytes()
    if not any(line.split()[1:2] == [name] for line in original.decode().splitlines()
               if line.strip() and not line.startswith("#")):
        HOSTS.write_bytes(original + b"\n127.0.0.1 %s\n" % name.encode())
    try:
        yield name
    finally:
        HOSTS.write_bytes(original)


@pytest.fixture(scope="session")
def local_alias():
    with _alias(ALIAS) as name:
        yield name


@pytest.fixture
def hosts_alias():
    with contextlib.ExitStack() as stack:
        yield lambda name: stack.enter_context(_alias(name))
