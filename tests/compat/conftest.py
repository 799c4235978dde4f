"""Fixtures for the compat suite: the real openclaw CLI against real clawgate daemons
(gateway and openclaw come from tests/lib/clawgate_test/fixtures.py).

  local_alias   an /etc/hosts alias `clawgate-test.local` for 127.0.0.1, so the CLI
                sends its device identity (doc/protocol.md §9.3); /etc/hosts is restored
  hosts_alias   hosts_alias(name): the same for another name, for one test"""

import contextlib
from pathlib import Path

import pytest

HOSTS = Path("/etc/hosts")
ALIAS = "clawgate-test.local"


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
