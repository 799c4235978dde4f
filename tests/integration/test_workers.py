"""gatewayd --workers N: N processes on one port, each with its
own broker link; SIGTERM to the supervisor closes every session 1012 and all
exit 0 (checked by the fixture's stop)."""

import os
import re
import time
from pathlib import Path

from clawgate_test.clawclient import cli_params, handshake
from clawgate_test.harness import children


def sockets_of(pid):
    count = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            count += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except OSError:
            pass
    return count


def test_three_workers_share_the_port(make_gateway):
    gw = make_gateway(gatewayd_args=["--workers", "3"])
    workers = children(gw.gatewayd.pid)
    assert len(workers) == 3, workers
    # Each worker has its own broker link.
    deadline = time.monotonic() + 10
    while True:
        links = re.findall(r"gatewayd pid (\d+) worker (\d+) connected", gw.log_text("brokerd"))
        if len(links) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sorted(int(pid) for pid, _ in links) == sorted(workers), links
    assert sorted(int(w) for _, w in links) == [0, 1, 2], links
    idle = {pid: sockets_of(pid) for pid in workers}
    sessions = [handshake(gw.url, cli_params(token=gw.token)) for _ in range(24)]
    assert all(s.ok for s in sessions)
    busy = [pid for pid in workers if sockets_of(pid) > idle[pid]]
    assert len(busy) >= 2, "all 24 connections went to one worker: %r" % idle
    status = gw.ctl_ok("status", json_output=True).json
    assert status["gateways"] == 3, status
    gw.gatewayd.stop()
    gw.gatewayd = None
    for s in sessions:
        assert s.expect_close() == (1012, "service restart")


def test_a_dead_worker_stops_the_gateway(make_gateway):
    gw = make_gateway(gatewayd_args=["--workers", "2"])
    first, second = children(gw.gatewayd.pid)
    os.kill(first, 9)
    # The supervisor stops the other worker and exits 1 for systemd to restart.
    assert gw.gatewayd.proc.wait(10) == 1
    assert not Path("/proc/%d" % second).exists() or \
        Path("/proc/%d/stat" % second).read_text().split()[2] == "Z"
    log = gw.log_text("gatewayd")
    assert "was killed by signal 9" in log and "stopping the other workers" in log, log
    gw.gatewayd = None
