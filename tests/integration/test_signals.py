"""Signals a running daemon gets from its surroundings must not end it: SIGHUP
(logrotate's `kill -HUP`, an admin's "reload") reloads brokerd's configuration
(test_reload.py says what that applies) and is logged and ignored by gatewayd,
the --workers supervisor and its workers; SIGPIPE is ignored everywhere. Sessions established before stay open, new connects work, and the
SIGTERM afterwards (the fixture's stop) still ends each daemon with status 0.
The harness fails the test if a daemon dies of a signal the test did not send
(Daemon.signal counts it as sent)."""

import os
import signal
import time
from pathlib import Path

from clawgate_test.clawclient import cli_params, handshake
from clawgate_test.harness import children

BROKERD_HUP = "brokerd: info: reload: the configuration has not changed"
GATEWAYD_HUP = "gatewayd: info: SIGHUP ignored: gatewayd has no reload of its own"


def wait_logged(path, text, count=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        found = Path(path).read_text(errors="replace").count(text)
        if found >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def ignores(pid, sig):
    """Whether /proc says the process ignores sig (its SigIgn mask)."""
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    raise AssertionError("no SigIgn in /proc/%d/status" % pid)


def still_serving(gw, session, gateways=1):
    """The session from before answers through brokerd, a new connect works, and
    brokerd still counts every gateway process's link."""
    assert session.conn.request("health")["ok"] is True
    fresh = handshake(gw.url, cli_params(token=gw.token))
    assert fresh.ok, fresh.error
    assert fresh.conn.request("health")["ok"] is True
    assert gw.ctl_ok("status", json_output=True).json["gateways"] == gateways


def test_sighup_leaves_brokerd_serving(gateway):
    session = handshake(gateway.url, cli_params(token=gateway.token))
    assert session.ok
    pid = gateway.broker.pid
    gateway.broker.signal(signal.SIGHUP)
    assert wait_logged(gateway.broker.log_path, BROKERD_HUP) == 1, gateway.logs()
    assert gateway.broker.alive() and gateway.broker.pid == pid
    # gatewayd's link to this broker was not lost: no reconnect, no 1012.
    still_serving(gateway, session)
    assert not gateway.gatewayd.logged("lost the link to brokerd")


def test_sighup_leaves_gatewayd_serving(gateway):
    session = handshake(gateway.url, cli_params(token=gateway.token))
    assert session.ok
    gateway.gatewayd.signal(signal.SIGHUP)
    assert wait_logged(gateway.gatewayd.log_path, GATEWAYD_HUP) == 1, gateway.logs()
    assert gateway.gatewayd.alive()
    line = next(l for l in Path(gateway.gatewayd.log_path).read_text().splitlines()
                if GATEWAYD_HUP in l)
    assert "systemctl reload brokerd" in line, line
    assert "systemctl restart brokerd gatewayd" in line, line
    still_serving(gateway, session)
    # A second one is no different (the handler stays).
    gateway.gatewayd.signal(signal.SIGHUP)
    assert wait_logged(gateway.gatewayd.log_path, GATEWAYD_HUP, 2) == 2
    still_serving(gateway, session)


def test_sighup_leaves_the_workers_serving(make_gateway):
    gw = make_gateway(gatewayd_args=["--workers", "2"])
    workers = children(gw.gatewayd.pid)
    assert len(workers) == 2, workers
    sessions = [handshake(gw.url, cli_params(token=gw.token)) for _ in range(6)]
    assert all(s.ok for s in sessions)
    # To the supervisor alone (kill -HUP <MainPID>): it logs, the workers hear nothing.
    gw.gatewayd.signal(signal.SIGHUP)
    assert wait_logged(gw.gatewayd.log_path, GATEWAYD_HUP) == 1, gw.logs()
    # To every process of the service (systemctl kill -s HUP gatewayd).
    for pid in workers:
        os.kill(pid, signal.SIGHUP)
    gw.gatewayd.signal(signal.SIGHUP)
    assert wait_logged(gw.gatewayd.log_path, GATEWAYD_HUP, 4) == 4, gw.logs()
    time.sleep(0.2)
    assert gw.gatewayd.alive() and children(gw.gatewayd.pid) == workers
    assert not gw.gatewayd.logged("stopping the other workers")
    for s in sessions:
        still_serving(gw, s, gateways=2)


def test_sigpipe_is_ignored_by_every_daemon_process(make_gateway):
    gw = make_gateway(gatewayd_args=["--workers", "2"])
    session = handshake(gw.url, cli_params(token=gw.token))
    assert session.ok
    workers = children(gw.gatewayd.pid)
    pids = [gw.broker.pid, gw.gatewayd.pid] + workers
    for pid in pids:
        assert ignores(pid, signal.SIGPIPE), "pid %d does not ignore SIGPIPE" % pid
    gw.broker.signal(signal.SIGPIPE)
    gw.gatewayd.signal(signal.SIGPIPE)
    for pid in workers:
        os.kill(pid, signal.SIGPIPE)
    time.sleep(0.3)
    assert gw.broker.alive() and gw.gatewayd.alive()
    assert children(gw.gatewayd.pid) == workers
    still_serving(gw, session, gateways=2)
