"""The control socket's authorization (doc/design.md §1, brokerd/control.c): brokerd
checks the SO_PEERCRED credentials of every gatewayctl command; only root, the
clawgate-admin group and brokerd's own user may administer. The socket's mode is
a first gate only: these tests open it to everyone to reach the broker's check."""

import grp
import os
import pwd
import subprocess

import pytest

from clawgate_test import protolink as pl
from clawgate_test.harness import CTL_TIMEOUT, GATEWAYCTL, daemon_env

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run gatewayctl "
                                "as other users (./check runs as root)")


def ctl_as(gw, *args, groups=()):
    """gatewayctl as nobody, with the given supplementary groups."""
    pw = pwd.getpwnam("nobody")
    return subprocess.run([str(GATEWAYCTL), "--socket", str(gw.control_socket), *args],
                          capture_output=True, text=True, timeout=CTL_TIMEOUT,
                          env=daemon_env(), stdin=subprocess.DEVNULL, user=pw.pw_uid,
                          group=pw.pw_gid,
                          extra_groups=[grp.getgrnam(g).gr_gid for g in groups])


def open_to_everyone(gw):
    os.chmod(gw.root, 0o755)
    os.chmod(gw.sock_dir, 0o755)
    os.chmod(gw.control_socket, 0o666)


def test_socket_belongs_to_the_admin_group(gateway):
    st = os.stat(gateway.control_socket)
    assert st.st_gid == grp.getgrnam("clawgate-admin").gr_gid
    assert st.st_mode & 0o777 == 0o660
    gw_sock = os.stat(gateway.sock_dir / "gateway.sock")
    assert gw_sock.st_gid == grp.getgrnam("clawgate-gw").gr_gid


@pytest.mark.parametrize("args", [
    ["devices", "list"],
    ["status"],
    ["devices", "approve", "--latest"],
    ["devices", "remove", "0" * 64],
    ["token", "generate"],
    ["dashboard"],
])
def test_unprivileged_user_is_refused(make_gateway, args):
    gw = make_gateway(config_token=False)
    token = gw.token_file_contents()
    open_to_everyone(gw)
    result = ctl_as(gw, *args)
    assert result.returncode == 4, result       # permission denied
    uid = pwd.getpwnam("nobody").pw_uid
    assert "permission denied: uid %d" % uid in result.stderr, result.stderr
    assert "clawgate-admin" in result.stderr, result.stderr
    assert "usermod -aG clawgate-admin" in result.stderr, "the message should give the fix"
    assert result.stdout == "", "a refused command must show nothing: %r" % result.stdout
    assert gw.token_file_contents() == token, "a refused token generate changed the token"
    gw.stop()
    assert "control: refused" in gw.log_text("brokerd")


def test_admin_group_member_is_admitted(gateway):
    open_to_everyone(gateway)
    result = ctl_as(gateway, "devices", "list", "--json", groups=["clawgate-admin"])
    assert result.returncode == 0, result
    assert '"pending"' in result.stdout


def test_socket_mode_turns_others_away_with_the_fix(gateway):
    """Without the test's chmod the socket itself refuses; gatewayctl says why."""
    os.chmod(gateway.root, 0o755)
    result = ctl_as(gateway, "devices", "list")
    assert result.returncode == 4, result       # permission denied
    assert "permission denied" in result.stderr, result.stderr
    assert "usermod -aG clawgate-admin" in result.stderr, result.stderr


# As nobody: one command frame (type and version from the arguments) whose payload is not a CTL_APPROVE at all, then
# the answer's header and its ok byte (proto/proto.h's frame layout).
RAW_COMMAND = r"""
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
payload = b"\xff" * 7
s.sendall(struct.pack(">IHHII", len(payload), int(sys.argv[2]), int(sys.argv[3]), 1, 0) + payload)
head = b""
while len(head) < 17:
    chunk = s.recv(17 - len(head))
    if not chunk:
        sys.exit("closed")
    head += chunk
length, kind = struct.unpack(">IH", head[:6])
print("0x%04x ok=%d" % (kind, head[16]))
"""


def test_a_non_admins_command_is_refused_before_it_is_decoded(gateway):
    """The command table is checked first: a peer who may not run a command is
    refused without its payload being read, even a payload that would not decode."""
    open_to_everyone(gateway)
    pw = pwd.getpwnam("nobody")
    result = subprocess.run(["/usr/bin/python3", "-c", RAW_COMMAND, str(gateway.control_socket),
                             str(pl.CTL_APPROVE), str(pl.VERSION)], capture_output=True,
                            text=True, timeout=CTL_TIMEOUT, user=pw.pw_uid, group=pw.pw_gid,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result
    assert result.stdout.strip() == "0x%04x ok=0" % pl.CTL_RESULT, result     # refused
    gateway.stop()
    log = (gateway.root / "brokerd.log").read_text()
    assert "control: refused PROTO_CTL_APPROVE from uid %d" % pw.pw_uid in log, log
    assert "malformed" not in log, log


# As nobody: open N connections, say nothing, and report once all are connected;
# then wait to be killed.
IDLE_CLIENTS = r"""
import socket, sys, time
socks = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
print("connected", flush=True)
time.sleep(60)
"""


def test_others_cannot_take_the_admins_places(gateway):
    """Peers that may not administer are told so at their first command and hold
    places of their own: twenty idle ones leave gatewayctl working for root."""
    open_to_everyone(gateway)
    pw = pwd.getpwnam("nobody")
    idle = subprocess.Popen(["/usr/bin/python3", "-c", IDLE_CLIENTS,
                             str(gateway.control_socket), "20"], stdout=subprocess.PIPE,
                            text=True, user=pw.pw_uid, group=pw.pw_gid,
                            stdin=subprocess.DEVNULL)
    try:
        assert idle.stdout.readline().strip() == "connected"
        assert gateway.ctl_ok("status", json_output=True).json
        assert "clients that may not administer are connected, the limit" in \
            gateway.log_text("brokerd")
    finally:
        idle.kill()
        idle.wait()


def test_a_silent_client_is_dropped_and_one_command_is_answered_per_connection(gateway):
    import socket
    import struct
    import time

    silent = socket.socket(socket.AF_UNIX)
    silent.settimeout(20)
    silent.connect(str(gateway.control_socket))
    started = time.monotonic()
    assert silent.recv(1) == b""            # closed by brokerd, no answer
    assert 9 <= time.monotonic() - started <= 15
    assert "sent no command within 10 s: dropped" in gateway.log_text("brokerd")
    silent.close()

    # Two status commands in one write: the first is answered, then the connection ends.
    frame = struct.pack(">IHHII", 0, pl.CTL_STATUS, pl.VERSION, 1, 0)
    two = socket.socket(socket.AF_UNIX)
    two.settimeout(10)
    two.connect(str(gateway.control_socket))
    two.sendall(frame + frame)
    got = b""
    while True:
        chunk = two.recv(65536)
        if not chunk:
            break
        got += chunk
    length, kind = struct.unpack(">IH", got[:6])
    assert kind == pl.CTL_RESULT and len(got) == 16 + length, (kind, len(got), length)
