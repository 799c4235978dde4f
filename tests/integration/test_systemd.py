"""What the systemd units rely on, without systemd as PID 1: gatewayd serves the
listening sockets systemd passes (sd_listen_fds; systemd-socket-activate passes
them here the same way), and both daemons report READY=1 and STOPPING=1 on
$NOTIFY_SOCKET (sd_notify's protocol), from inside their sandbox."""

import grp
import os
import pwd
import secrets
import socket

import pytest

from clawclient import cli_params, handshake
from harness import SANITIZER_ENV, free_port, port_accepts

NOTIFY_TIMEOUT = 10.0


def test_gatewayd_serves_the_sockets_systemd_passes(make_gateway):
    gw = make_gateway(start=False)
    gw.start_broker()
    port = free_port()
    # systemd-socket-activate binds the port, then execs gatewayd on the first
    # connection with LISTEN_FDS set, as gatewayd.socket would.
    prefix = ["systemd-socket-activate", "-l", "127.0.0.1:%d" % port]
    for key, value in SANITIZER_ENV.items():
        prefix += ["-E", "%s=%s" % (key, value)]
    gw.start_gatewayd(prefix=prefix, wait_port=port)
    assert handshake("ws://127.0.0.1:%d/" % port, cli_params(token=gw.token)).ok
    log = (gw.root / "gatewayd.log").read_text()
    assert "serving the 1 socket(s) systemd passed" in log, log
    assert "listening on 127.0.0.1:%d" % port in log, log
    assert "sandbox entered" in log, log
    # gateway.port (from the config) does not apply when systemd passes sockets.
    assert not port_accepts(gw.port)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start the daemons as their "
                    "accounts (./check runs as root)")
def test_daemons_work_with_the_credentials_of_the_units(make_gateway):
    """brokerd.service starts brokerd as clawgate-broker, in the groups clawgate-gw
    and clawgate-admin, with its state and socket dirs made by systemd;
    gatewayd.service starts gatewayd as clawgate-gw. Neither is root, so neither
    drops anything: the sockets must still reach their groups."""
    gw = make_gateway(start=False)
    broker = pwd.getpwnam("clawgate-broker")
    os.chmod(gw.root, 0o755)
    for d in (gw.state_dir, gw.sock_dir):
        d.mkdir(mode=0o700 if d == gw.state_dir else 0o755)
        os.chown(d, broker.pw_uid, broker.pw_gid)
    gw.start_broker(prefix=["setpriv", "--reuid=clawgate-broker", "--regid=clawgate-broker",
                            "--groups=clawgate-gw,clawgate-admin", "--"])
    gw.start_gatewayd(prefix=["setpriv", "--reuid=clawgate-gw", "--regid=clawgate-gw",
                              "--clear-groups", "--"])
    assert os.stat(gw.sock_dir / "gateway.sock").st_gid == grp.getgrnam("clawgate-gw").gr_gid
    assert os.stat(gw.control_socket).st_gid == grp.getgrnam("clawgate-admin").gr_gid
    assert handshake(gw.url, cli_params(token=gw.token)).ok
    assert gw.ctl_ok("status", json_output=True).json["gateways"] == 1


def notify_socket(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(NOTIFY_TIMEOUT)
    return sock


def notifications(sock):
    """Every message waiting on sock, until none comes for a moment."""
    messages = []
    sock.settimeout(NOTIFY_TIMEOUT)
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except socket.timeout:
            return messages
        sock.settimeout(0.5)


def test_both_daemons_notify_ready_and_stopping(make_gateway):
    gw = make_gateway(start=False)
    broker_sock = notify_socket(str(gw.root / "notify-broker.sock"))
    # gatewayd's in the abstract namespace, the other form $NOTIFY_SOCKET takes.
    abstract = "clawgate-test-%s" % secrets.token_hex(8)
    gatewayd_sock = notify_socket("\0" + abstract)
    try:
        gw.extra_env = {"NOTIFY_SOCKET": str(gw.root / "notify-broker.sock")}
        gw.start_broker()
        gw.extra_env = {"NOTIFY_SOCKET": "@" + abstract}
        gw.start_gatewayd()
        assert notifications(broker_sock) == ["READY=1"]
        assert notifications(gatewayd_sock) == ["READY=1"]
        assert handshake(gw.url, cli_params(token=gw.token)).ok
        gw.stop()
        assert notifications(broker_sock) == ["STOPPING=1"]
        assert notifications(gatewayd_sock) == ["STOPPING=1"]
    finally:
        broker_sock.close()
        gatewayd_sock.close()
