"""Relay mode's guard (systemd/clawgate-relay-guard@.service.in loading
systemd/clawgate-relay-guard.nft): over loopback only clawgate-gw and the upstream's
own account may connect to the upstream's port. Root only (nftables); everything
happens in a network namespace the test makes and removes, never on the host's
own rule set or interfaces."""

import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clawgate_test.harness import REPO, ensure_accounts, free_port

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: nftables and network "
                       "namespaces (./check runs as root)"),
    pytest.mark.skipif(shutil.which("nft") is None, reason="no nft: apt-get install nftables "
                       "(scripts/deps.sh lists it)"),
]

UNIT = REPO / "systemd" / "clawgate-relay-guard@.service.in"
TIMEOUT = 10
UPSTREAM_USER = "daemon"    # stands for the upstream's own account

# Connects to 127.0.0.1 and ::1 on the port in argv[1]; prints one word per
# address: "connected" or the errno's name.
CONNECT = r"""
import errno, socket, sys
for family, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((addr, int(sys.argv[1])))
        print("connected")
    except OSError as exc:
        print(errno.errorcode.get(exc.errno, str(exc)))
    finally:
        s.close()
"""

# Accepts on 127.0.0.1 and ::1 at the port in argv[1] for at most 60 s.
LISTEN = r"""
import selectors, socket, sys, time
sel = selectors.DefaultSelector()
for family, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(sys.argv[1])))
    s.listen(16)
    sel.register(s, selectors.EVENT_READ)
print("listening", flush=True)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    for key, _ in sel.select(timeout=0.5):
        key.fileobj.accept()[0].close()
"""


def guard_command(port):
    """The unit's ExecStart, as systemd would run it for instance `port`, with the
    rule set from this checkout."""
    (line,) = [l for l in UNIT.read_text().splitlines() if l.startswith("ExecStart=")]
    line = line[len("ExecStart="):]
    line = line.replace("@datadir@/clawgate/", str(REPO / "systemd") + "/")
    line = line.replace("%i", str(port)).replace("${UPSTREAM_USER}", UPSTREAM_USER)
    assert not re.search(r"[%@$]", line), line
    return shlex.split(line)


def stop_command():
    (line,) = [l for l in UNIT.read_text().splitlines() if l.startswith("ExecStop=")]
    return shlex.split(line[len("ExecStop="):])


class Netns:
    def __init__(self):
        self.name = "clawgate-guard-%d" % os.getpid()

    def run(self, argv, user=None, check=True):
        prefix = ["ip", "netns", "exec", self.name]
        if user is not None:
            pw = pwd.getpwnam(user)
            prefix += ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
                       "--clear-groups"]
        proc = subprocess.run(prefix + list(argv), capture_output=True, text=True,
                              timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        if check:
            assert proc.returncode == 0, proc
        return proc

    def popen(self, argv):
        return subprocess.Popen(["ip", "netns", "exec", self.name] + list(argv),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                stdin=subprocess.DEVNULL)

    def __enter__(self):
        subprocess.run(["ip", "netns", "add", self.name], check=True, timeout=TIMEOUT)
        try:
            self.run(["ip", "link", "set", "lo", "up"])
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        # The table goes with the namespace; deleting it first also checks that the
        # unit's ExecStop works.
        self.run(stop_command(), check=False)
        subprocess.run(["ip", "netns", "delete", self.name], timeout=TIMEOUT)


@pytest.fixture
def netns():
    ensure_accounts()
    with Netns() as ns:
        yield ns


@pytest.fixture
def listener(netns):
    port = free_port()
    proc = netns.popen([sys.executable, "-c", LISTEN, str(port)])
    try:
        assert proc.stdout.readline().strip() == "listening", proc.stdout.read()
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)


def connect_as(netns, user, port):
    return netns.run([sys.executable, "-c", CONNECT, str(port)], user=user).stdout.split()


def test_only_clawgate_and_the_upstream_reach_the_upstream_port(netns, listener):
    port = listener
    # Without the guard anyone connects: the refusal below is the guard's doing.
    assert connect_as(netns, "nobody", port) == ["connected", "connected"]
    netns.run(guard_command(port))
    listed = netns.run(["nft", "list", "table", "inet", "clawgate_guard"]).stdout
    assert "tcp dport %d" % port in listed, listed
    assert connect_as(netns, "nobody", port) == ["ECONNREFUSED", "ECONNREFUSED"]
    assert connect_as(netns, "clawgate-gw", port) == ["connected", "connected"]
    assert connect_as(netns, UPSTREAM_USER, port) == ["connected", "connected"]
    # Loading it again replaces the table rather than adding a second one.
    netns.run(guard_command(port))
    listed = netns.run(["nft", "list", "ruleset"]).stdout
    assert listed.count("table inet clawgate_guard") == 1, listed
    netns.run(stop_command())
    assert "clawgate_guard" not in netns.run(["nft", "list", "tables"]).stdout
    assert connect_as(netns, "nobody", port) == ["connected", "connected"]
