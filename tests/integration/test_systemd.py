"""What the systemd units rely on, without systemd as PID 1: gatewayd serves the
listening sockets systemd passes (sd_listen_fds; systemd-socket-activate passes
them here the same way), both daemons report READY=1 and STOPPING=1 on
$NOTIFY_SOCKET (sd_notify's protocol), from inside their sandbox, and their log
lines carry the journal's <N> priority when $JOURNAL_STREAM names their stderr."""

import grp
import os
import pwd
import re
import secrets
import signal
import socket
import subprocess

import pytest

from clawgate_test.clawclient import cli_params, handshake
from clawgate_test.harness import (
    BROKERD,
    BUILD,
    SANITIZER_ENV,
    daemon_env,
    free_port,
    port_accepts,
    wait_until,
)

NOTIFY_TIMEOUT = 10.0


def unit_directives(path):
    """{(section, key): [values]} of a unit file, list-valued keys split on spaces."""
    found, section = {}, None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        found.setdefault((section, key.strip()), []).extend(value.split())
    return found


@pytest.fixture(scope="module")
def installed_units(tmp_path_factory):
    """The unit directory as `meson install` stages it from the build dir."""
    stage = tmp_path_factory.mktemp("stage")
    proc = subprocess.run(["meson", "install", "-C", str(BUILD), "--no-rebuild", "--quiet",
                           "--destdir", str(stage)], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc
    units = list(stage.glob("**/lib/systemd/system/gatewayd.service"))
    assert len(units) == 1, "meson install staged gatewayd.service %d times" % len(units)
    return units[0].parent


def test_restarting_brokerd_leaves_gatewayd_alone(installed_units):
    """gatewayd outlives brokerd's restarts (test_gateway_lifecycle.py): the unit
    must not propagate brokerd's stop or restart to it, yet start brokerd first."""
    unit = unit_directives(installed_units / "gatewayd.service")
    for key in ("Requires", "Requisite", "BindsTo", "PartOf", "Upholds"):
        assert "brokerd.service" not in unit.get(("Unit", key), []), \
            "gatewayd.service has %s=brokerd.service" % key
    assert "brokerd.service" in unit.get(("Unit", "Wants"), []), unit
    assert "brokerd.service" in unit.get(("Unit", "After"), []), unit
    # Without its sockets gatewayd serves nothing (PrivateNetwork=yes).
    assert "gatewayd.socket" in unit.get(("Unit", "Requires"), []), unit
    assert "gatewayd.socket" in unit.get(("Unit", "After"), []), unit
    assert unit.get(("Service", "Restart")) == ["on-failure"], unit
    broker = unit_directives(installed_units / "brokerd.service")
    for key in ("Requires", "BindsTo", "PartOf", "Wants"):
        assert "gatewayd.service" not in broker.get(("Unit", key), []), broker


def test_brokerd_unit_checks_its_configuration_first(installed_units):
    """brokerd.service runs brokerd --check-config before brokerd, with the same
    arguments (so the same config file and state dir), as the same user."""
    unit = unit_directives(installed_units / "brokerd.service")
    start = unit[("Service", "ExecStart")]
    assert unit.get(("Service", "ExecStartPre")) == [start[0], "--check-config", *start[1:]], unit


def test_brokerd_unit_reloads_with_sighup(installed_units, make_gateway):
    """systemctl reload brokerd runs the unit's ExecReload, which must reach brokerd's
    reload (test_reload.py): run here with $MAINPID as systemd would expand it."""
    unit = unit_directives(installed_units / "brokerd.service")
    reload_cmd = unit.get(("Service", "ExecReload"))
    assert reload_cmd is not None and "$MAINPID" in reload_cmd, unit
    gw = make_gateway()
    argv = [str(gw.broker.pid) if arg == "$MAINPID" else arg for arg in reload_cmd]
    subprocess.run(argv, check=True, timeout=10, stdin=subprocess.DEVNULL)
    wait_until(lambda: gw.broker.logged("reload: the configuration has not changed"), 5,
               "brokerd logged no reload after the unit's ExecReload")
    assert gw.broker.alive()


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
    log = gw.log_text("gatewayd")
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
    # The admin's config, which holds the token: root's, readable by brokerd's group.
    os.chown(gw.config_path, 0, broker.pw_gid)
    os.chmod(gw.config_path, 0o640)
    as_broker = ["setpriv", "--reuid=clawgate-broker", "--regid=clawgate-broker",
                 "--groups=clawgate-gw,clawgate-admin", "--"]
    # The unit's ExecStartPre, as that account: the state dir systemd made is fine.
    check = subprocess.run([*as_broker, str(BROKERD), "--check-config", "--config",
                            str(gw.config_path), "--state-dir", str(gw.state_dir)],
                           capture_output=True, text=True, timeout=NOTIFY_TIMEOUT,
                           env=daemon_env(), stdin=subprocess.DEVNULL)
    assert check.returncode == 0 and "configuration OK" in check.stdout, check
    gw.start_broker(prefix=as_broker)
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


# sd-daemon.h: SD_ERR <3>, SD_WARNING <4>, SD_INFO <6>, SD_DEBUG <7>.
PRIORITY = {"error": "3", "warning": "4", "info": "6", "debug": "7"}
PREFIXED = re.compile(r"^<(\d)>(brokerd|gatewayd): (error|warning|info|debug): ")


def journal_stream(path):
    """$JOURNAL_STREAM as systemd sets it for a service whose stderr is path."""
    path.touch()
    st = os.stat(path)
    return "%d:%d" % (st.st_dev, st.st_ino)


def assert_prefixed(path, want_levels):
    lines = path.read_text().splitlines()
    assert lines, "%s is empty" % path
    seen = set()
    for line in lines:
        m = PREFIXED.match(line)
        assert m, "a line of %s without its journal priority: %r" % (path.name, line)
        assert m.group(1) == PRIORITY[m.group(3)], "wrong priority: %r" % line
        seen.add(m.group(3))
    assert want_levels <= seen, "%s has no %s lines" % (path.name, want_levels - seen)


def test_logs_carry_journal_priorities_when_stderr_is_the_journal(make_gateway):
    gw = make_gateway(start=False)
    broker_stream = {"JOURNAL_STREAM": journal_stream(gw.root / "brokerd.log")}
    gw.extra_env = broker_stream
    gw.start_broker()
    gw.extra_env = {"JOURNAL_STREAM": journal_stream(gw.root / "gatewayd.log")}
    gw.start_gatewayd()
    assert handshake(gw.url, cli_params(token=gw.token)).ok
    gw.gatewayd.signal(signal.SIGHUP)
    # A warning: gatewayd loses brokerd (and finds it again).
    gw.broker.stop()
    gw.extra_env = broker_stream
    gw.start_broker()
    wait_until(lambda: handshake(gw.url, cli_params(token=gw.token)).ok, 10,
               "gatewayd did not reconnect to brokerd", interval=0.2)
    gw.stop()
    assert_prefixed(gw.root / "brokerd.log", {"info", "debug"})
    assert_prefixed(gw.root / "gatewayd.log", {"warning", "info", "debug"})
    assert "<4>gatewayd: warning: lost the link to brokerd" in gw.log_text("gatewayd")


def test_a_fatal_error_is_priority_err(tmp_path):
    """What `journalctl -p err -u brokerd` shows: the line a failed start ends with."""
    log = tmp_path / "brokerd.log"
    env = daemon_env({"JOURNAL_STREAM": journal_stream(log)})
    with open(log, "ab") as out:
        proc = subprocess.run([str(BROKERD), "--config", str(tmp_path / "missing.json"),
                               "--state-dir", str(tmp_path / "state"),
                               "--socket-dir", str(tmp_path / "run")],
                              stdout=out, stderr=out, env=env, timeout=10,
                              stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc
    text = log.read_text()
    assert text.startswith("<3>brokerd: error: configuration file "), text


def test_no_priority_prefix_unless_stderr_is_the_journal(make_gateway):
    """Without $JOURNAL_STREAM, or with one naming another file (inherited by a
    process whose stderr was redirected), lines stay as a terminal shows them."""
    gw = make_gateway(start=False)
    gw.start_broker()
    gw.extra_env = {"JOURNAL_STREAM": journal_stream(gw.root / "brokerd.log")}
    gw.start_gatewayd()
    assert handshake(gw.url, cli_params(token=gw.token)).ok
    gw.stop()
    for name in ("brokerd.log", "gatewayd.log"):
        text = (gw.root / name).read_text()
        assert text and not re.search(r"^<\d>", text, re.M), "%s:\n%s" % (name, text)
        assert re.search(r"^%s: info: " % name[:-4], text, re.M), text
