"""Relay mode's guard (systemd/clawgate-relay-guard@.service.in loading
systemd/clawgate-relay-guard.nft): over loopback only clawgate-gw and the upstream's
own account may connect to the upstream's port; `gatewayctl relay check` says
whether it is in place for brokerd's upstream. The nftables tests need root;
everything happens in a network namespace the test makes and removes, never on
the host's own rule set or interfaces."""

import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clawgate_test.harness import GATEWAYCTL, REPO, daemon_env, ensure_accounts, free_port

NEEDS_ROOT_AND_NFT = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None,
    reason="needs root and nft (apt-get install nftables; scripts/deps.sh lists it): "
    "nftables and network namespaces (./check runs as root)")

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


def relay_check(netns, gw):
    """gatewayctl relay check, run where the guard is (the namespace)."""
    proc = subprocess.run(["ip", "netns", "exec", netns.name, str(GATEWAYCTL), "--socket",
                           str(gw.control_socket), "relay", "check"], capture_output=True,
                          text=True, timeout=TIMEOUT, env=daemon_env(), stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout + proc.stderr


def test_status_names_the_upstream_and_relay_check_knows_relay_off(make_gateway):
    port = free_port()
    gw = make_gateway(config_clawgate={"relay": {"upstream": "ws://127.0.0.1:%d" % port}})
    assert "relay mode: upstream ws://127.0.0.1:%d (whether only clawgate can reach it: " \
        "gatewayctl relay check)" % port in gw.ctl_ok("status").stdout
    assert gw.ctl_ok("status", json_output=True).json["relay"] == {
        "upstream": "ws://127.0.0.1:%d" % port, "addr": "127.0.0.1", "port": port,
        "guard": "nftables"}
    plain = make_gateway()
    assert "relay" not in plain.ctl_ok("status", json_output=True).json
    assert "relay mode" not in plain.ctl_ok("status").stdout
    result = plain.ctl_ok("relay", "check")
    assert "relay mode is off" in result.stdout, result


@NEEDS_ROOT_AND_NFT
def test_relay_check_tells_an_unguarded_upstream(make_gateway, netns, listener):
    port = listener
    gw = make_gateway(config_clawgate={"relay": {"upstream": "ws://127.0.0.1:%d" % port}})
    rc, out = relay_check(netns, gw)
    assert rc == 1, out
    assert "unguarded: any local process can reach the upstream at ws://127.0.0.1:%d as " \
        "clawgate's identity; run `systemctl enable --now clawgate-relay-guard@%d`" % (
            port, port) in out, out
    netns.run(guard_command(port))
    rc, out = relay_check(netns, gw)
    gw_uid, up_uid = pwd.getpwnam("clawgate-gw").pw_uid, pwd.getpwnam(UPSTREAM_USER).pw_uid
    assert rc == 0, out
    assert "guarded: over loopback only uids " in out and \
        "%d (clawgate-gw)" % gw_uid in out and "%d (%s)" % (up_uid, UPSTREAM_USER) in out, out
    # A guard for another port guards nothing here.
    netns.run(guard_command(port + 1 if port < 65535 else port - 1))
    rc, out = relay_check(netns, gw)
    assert rc == 1 and "unguarded" in out, out


@NEEDS_ROOT_AND_NFT
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
