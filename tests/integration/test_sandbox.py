"""The sandbox (doc/design.md §4, common/sandbox.c): as root the daemons drop to
clawgate-broker / clawgate-gw, keep no way back, cannot fork or dump core, run
under a seccomp allowlist in kill mode, and a forbidden system call kills them.
Every other test in this suite also runs the daemons sandboxed."""

import os
import pwd
import signal
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from clawgate_test.clawclient import Connection, Identity, cli_params, handshake
from clawgate_test.flows import device_token_connect, pair_device
from clawgate_test.harness import (
    BROKERD,
    GATEWAYD,
    START_TIMEOUT,
    children,
    daemon_env,
    free_port,
    log_tail,
    wait_until,
)

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the daemons drop "
                               "privileges only when started as root (./check runs as root)")
# Calls never allowed, and calls allowed only with other arguments: mmap never
# executable, ioctl only FIONREAD. tcp-connect dies at its socket call.
FORBIDDEN = ["exec", "fork", "socket-inet", "socket-unix", "socket-udp", "getsockopt-error", "ptrace",
             "setuid", "mmap-exec", "ioctl-tty", "tcp-connect"]


def proc_status(pid):
    fields = {}
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


def proc_limit(pid, name):
    """(soft, hard) of the limit line starting with `name` in /proc/PID/limits."""
    for line in Path("/proc/%d/limits" % pid).read_text().splitlines():
        if line.startswith(name):
            soft, hard = line[len(name):].split()[:2]
            return soft, hard
    raise AssertionError("no %r in /proc/%d/limits" % (name, pid))


def expected_ids(account):
    """The uid and gid a daemon started by this test run ends up with."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    pw = pwd.getpwnam(account)
    return pw.pw_uid, pw.pw_gid


def check_sandboxed(daemon, account):
    uid, gid = expected_ids(account)
    status = proc_status(daemon.pid)
    assert status["Uid"] == [str(uid)] * 4, (daemon.name, status["Uid"])
    assert status["Gid"] == [str(gid)] * 4, (daemon.name, status["Gid"])
    if os.geteuid() == 0:
        assert status["Groups"] == [str(gid)], (daemon.name, status["Groups"])
    assert status["NoNewPrivs"] == ["1"], daemon.name
    assert status["Seccomp"] == ["2"], "%s runs without a seccomp filter" % daemon.name
    assert proc_limit(daemon.pid, "Max processes") == ("0", "0"), daemon.name
    assert "seccomp kill" in Path(daemon.log_path).read_text(), \
        "%s is not in seccomp kill mode (./check builds with -Dseccomp=kill)" % daemon.name


class Child:
    """A process of a daemon's, to check like the daemon (its log is the daemon's)."""

    def __init__(self, name, pid, log_path):
        self.name, self.pid, self.log_path = name, pid, log_path


def test_both_daemons_run_sandboxed(gateway):
    assert handshake(gateway.url, cli_params(token=gateway.token)).ok
    check_sandboxed(gateway.broker, "clawgate-broker")
    check_sandboxed(gateway.gatewayd, "clawgate-gw")
    # Both hold secrets (brokerd at rest, gatewayd in transit and the TLS key):
    # no core file may take them along, no process of the same account may read them.
    for daemon in (gateway.broker, gateway.gatewayd):
        assert proc_limit(daemon.pid, "Max core file size") == ("0", "0"), daemon.name
        assert os.stat("/proc/%d/environ" % daemon.pid).st_uid == 0 or os.geteuid() != 0, \
            "%s is dumpable" % daemon.name


def test_gatewayd_reaches_brokerd_only_through_its_dialer(gateway):
    """gatewayd may create no Unix socket (test_forbidden_call_kills_gatewayd's
    socket-unix); its one child, the dialer, is sandboxed as gatewayd's account,
    hands over the broker link when brokerd restarts, and ends with gatewayd."""
    dialers = children(gateway.gatewayd.pid)
    assert len(dialers) == 1, dialers
    dialer = Child("gatewayd's dialer", dialers[0], gateway.gatewayd.log_path)
    check_sandboxed(dialer, "clawgate-gw")
    assert proc_limit(dialer.pid, "Max core file size") == ("0", "0")
    gateway.broker.stop()
    gateway.start_broker()
    wait_until(lambda: handshake(gateway.url, cli_params(token=gateway.token)).ok, 10,
               "gatewayd did not reconnect to brokerd through its dialer in 10 s",
               interval=0.2)
    assert children(gateway.gatewayd.pid) == dialers
    gateway.gatewayd.stop()
    wait_until(lambda: not Path("/proc/%d" % dialer.pid).exists(), 10,
               "the dialer did not end with gatewayd")


@ROOT_ONLY
def test_brokerd_is_chrooted_to_its_state_dir(gateway):
    root = os.readlink("/proc/%d/root" % gateway.broker.pid)
    assert root == os.path.realpath(gateway.state_dir), root
    # Chrooted, it still saves, audits and answers: a whole pairing round.
    ident = Identity()
    device_token = pair_device(gateway, ident)
    assert device_token_connect(gateway, ident, device_token).ok
    assert [p["deviceId"] for p in gateway.devices()["paired"]] == [ident.device_id]
    assert [e["what"] for e in gateway.ctl_ok("audit", json_output=True).json["entries"]] \
        == ["approve"]


def run_selftest(argv, log_path, what, want=-signal.SIGSYS):
    """Runs a daemon with --sandbox-selftest WHAT; it must be killed by SIGSYS (or
    end with status want). Returns its log."""
    with open(log_path, "wb") as log:
        proc = subprocess.run(argv + ["--sandbox-selftest", what], stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              env=daemon_env(), timeout=START_TIMEOUT)
    text = Path(log_path).read_text(errors="replace")
    assert "sandbox self-test: calling %s" % what in text, log_tail(log_path)
    if want != 1:
        assert "FAILED" not in text, log_tail(log_path)
    assert proc.returncode == want, (
        "want status %d, got %d; log:\n%s" % (want, proc.returncode, log_tail(log_path)))
    return text


@pytest.mark.parametrize("what", FORBIDDEN)
def test_forbidden_call_kills_brokerd(make_gateway, what):
    gw = make_gateway(start=False)
    run_selftest([str(BROKERD), "--config", str(gw.config_path), "--state-dir",
                  str(gw.state_dir), "--socket-dir", str(gw.sock_dir)],
                 gw.root / "brokerd.log", what)


@pytest.mark.parametrize("what", FORBIDDEN)
def test_forbidden_call_kills_gatewayd(make_gateway, what):
    gw = make_gateway(start=False)
    gw.start_broker()
    run_selftest([str(GATEWAYD), "--socket-dir", str(gw.sock_dir)], gw.root / "gatewayd.log",
                 what)
    # The broker lives on: it only lost a gateway.
    assert gw.broker.alive()
    assert gw.ctl_ok("status", json_output=True).json["gateways"] == 0


def test_selftest_refuses_unknown_calls(make_gateway):
    """The option only ever makes one of the listed forbidden calls."""
    gw = make_gateway(start=False)
    proc = subprocess.run([str(BROKERD), "--config", str(gw.config_path), "--state-dir",
                           str(gw.state_dir), "--socket-dir", str(gw.sock_dir),
                           "--sandbox-selftest", "open"], capture_output=True, text=True,
                          env=daemon_env(), timeout=START_TIMEOUT, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc
    assert 'unknown call "open"' in proc.stderr, proc.stderr


def run_as(account, argv):
    pw = pwd.getpwnam(account)
    return subprocess.run(argv, capture_output=True, text=True, timeout=START_TIMEOUT,
                          user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
                          stdin=subprocess.DEVNULL)


@ROOT_ONLY
def test_gatewayd_user_cannot_open_the_state_dir(gateway):
    gw_uid = pwd.getpwnam("clawgate-gw").pw_uid
    broker_uid = pwd.getpwnam("clawgate-broker").pw_uid
    # gatewayd listens before it drops privileges: wait for the drop, boundedly.
    wait_until(lambda: proc_status(gateway.gatewayd.pid)["Uid"][0] == str(gw_uid), 5,
               "gatewayd never dropped to clawgate-gw", interval=0.02)
    st = os.stat(gateway.state_dir)
    assert st.st_uid == broker_uid and stat.S_IMODE(st.st_mode) == 0o700, st
    # Only the state dir may stand in the way, not the test's private root.
    os.chmod(gateway.root, 0o755)
    registry = gateway.state_dir / "registry.json"
    assert registry.exists()
    for argv in (["ls", str(gateway.state_dir)], ["cat", str(registry)]):
        proc = run_as("clawgate-gw", argv)
        assert proc.returncode != 0, proc
        assert "Permission denied" in proc.stderr, proc
    # The broker's account can: the refusal is the split, not a broken set-up.
    assert run_as("clawgate-broker", ["cat", str(registry)]).returncode == 0


# ---- relay mode: gatewayd may open TCP connections, to the upstream's port only ----

def relay_gateway(make_gateway, **kwargs):
    """A gateway in relay mode; nothing listens at the upstream's port."""
    upstream_port = free_port()
    gw = make_gateway(config_clawgate={"relay": {"upstream": "ws://127.0.0.1:%d" %
                                                 upstream_port}}, **kwargs)
    return gw, upstream_port


def gatewayd_selftest(gw, what, want=-signal.SIGSYS):
    """gw's brokerd must be running."""
    return run_selftest([str(GATEWAYD), "--socket-dir", str(gw.sock_dir)],
                        gw.root / "gatewayd.log", what, want)


def test_without_relay_landlock_forbids_every_tcp_connect(gateway):
    assert "landlock ABI" in gateway.log_text("gatewayd")
    assert "(tcp connect: none, no bind), no-new-privs" in gateway.log_text("gatewayd")


def test_relay_mode_names_its_sandbox_layers(echo_relay):
    # A relayed connect needs an upstream that answers: the echo upstream.
    gw, up = echo_relay()
    upstream_port = up.port
    conn = Connection.open(gw.url)
    conn.read_challenge()
    assert conn.request("connect", cli_params(token=gw.token))["ok"]
    assert len(up.connects()) == 1
    check_sandboxed(gw.gatewayd, "clawgate-gw")
    assert "seccomp kill, landlock ABI" in gw.log_text("gatewayd")
    assert "(tcp connect: port %d only, no bind), no-new-privs" % upstream_port in \
        gw.log_text("gatewayd")


def test_relay_mode_refuses_a_connect_to_another_port(make_gateway):
    """The socket is allowed in relay mode; Landlock lets the connect to the
    upstream's port through and refuses one to the next port."""
    gw, upstream_port = relay_gateway(make_gateway, start=False)
    gw.start_broker()
    with socket.socket() as upstream:
        upstream.bind(("127.0.0.1", upstream_port))
        upstream.listen(1)
        text = gatewayd_selftest(gw, "tcp-connect", want=0)
    assert "connect to 127.0.0.1:%d, the allowed port: connected" % upstream_port in text, text
    assert "connect to 127.0.0.1:%d refused (EACCES)" % (upstream_port + 1) in text, text


def test_relay_mode_allows_tcp_stream_sockets_only(make_gateway):
    gw, _ = relay_gateway(make_gateway, start=False)
    gw.start_broker()
    # A TCP stream socket and SO_ERROR are no longer forbidden: the self-test says so.
    for what in ("socket-inet", "getsockopt-error"):
        text = gatewayd_selftest(gw, what, want=1)
        assert "%s returned" % what in text and "the seccomp filter does not forbid it" in \
            text, text
    for what in ("socket-udp", "exec", "setuid"):
        gatewayd_selftest(gw, what)


def test_gatewayd_wipes_a_secret_from_its_environment(make_gateway):
    """The shared secret is brokerd's: one that reaches gatewayd's environment is
    wiped from /proc/PID/environ and the log says where it belongs."""
    gw = make_gateway(start=False)
    gw.start_broker()
    gw.start_gatewayd(prefix=["env", "OPENCLAW_GATEWAY_TOKEN=leaked-" + gw.token,
                              "OPENCLAW_GATEWAY_PASSWORD=leaked-password"])
    environ = Path("/proc/%d/environ" % gw.gatewayd.pid).read_bytes()
    assert b"leaked-" not in environ
    for name in ("OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_PASSWORD"):
        assert gw.gatewayd.logged("%s was in gatewayd's environment" % name), name
    assert handshake(gw.url, cli_params(token=gw.token)).ok
