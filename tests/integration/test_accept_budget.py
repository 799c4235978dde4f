"""Descriptors before the upgrade: one address may hold only so many sockets
that have not sent their request (64, an IPv6 /64 counting as one address),
a reserve of descriptors near the open-file limit keeps loopback clients and
established sessions served, and the request head has a deadline and a minimum
rate. clawgate(7): LIMITS.

Remote addresses without leaving the host: the test moves its thread into a
network namespace of its own (unshare), puts private addresses on that
namespace's loopback interface, and starts the daemons from there; gatewayd
binds "lan" inside it, so 10.77.0.x are remote clients to it while 127.0.0.1
stays the admin's loopback."""

import json
import select
import socket
import subprocess
import time

import pytest

from clawgate_test import netns, rawws
from clawgate_test.clawclient import cli_params
from clawgate_test.harness import wait_until

PER_ADDRESS = 64
ATTACKER = "10.77.0.1"
OTHER = "10.77.0.2"
FRESH = ["10.77.0.%d" % i for i in range(10, 14)]
V6_NET = "fd00:77:0:1::"

def private_netns():
    """This thread (and every process it starts) in a new network namespace with
    lo up and the test's addresses on it; back in the original one afterwards."""
    return netns.private_netns([ATTACKER, OTHER] + FRESH)


def start_lan_gateway(make_gateway, nofile):
    gw = make_gateway(start=False, config_extra={"bind": "lan"})
    gw.start_broker()
    gw.start_gatewayd(prefix=["prlimit", "--nofile=%d:%d" % (nofile, nofile), "--"])
    return gw


def open_from(source, port, count, host=None, family=socket.AF_INET):
    """count TCP connections from source that send nothing."""
    socks = []
    for _ in range(count):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(5)
        s.bind((source, 0))
        s.connect((host or source, port))
        socks.append(s)
    return socks


def closed_by_server(s, within):
    """What the server sent before closing s, or None if it is still open."""
    s.settimeout(within)
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return data
            data += chunk
    except socket.timeout:
        return None
    except ConnectionResetError:
        return data


def split_open_closed(socks, within=0.2):
    """(still open, closed or answered by the server) after within seconds: the
    server writes to a socket only to refuse it."""
    time.sleep(within)
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN)
    readable = {fd for fd, _ in poller.poll(0)}
    still = [s for s in socks if s.fileno() not in readable]
    return still, [s for s in socks if s.fileno() in readable]


def raw_handshake(port, token, addr="127.0.0.1", source=None, limit=3.0):
    """A shared-token connect over a raw socket made in this thread (so in its
    network namespace), done within limit seconds; returns the open RawWS."""
    start = time.monotonic()
    ws = rawws.RawWS(port, addr=addr, source=source, timeout=limit)
    assert ws.status == 101, ws.head
    _, op, payload = ws.recv_frame(limit)
    assert op == 1 and json.loads(payload)["event"] == "connect.challenge", payload
    ws.send(rawws.text(json.dumps({"type": "req", "id": "c1", "method": "connect",
                                   "params": cli_params(token=token)})))
    res = json.loads(ws.recv_frame(limit)[2])
    assert res["id"] == "c1" and res["ok"] is True, res
    elapsed = time.monotonic() - start
    assert elapsed < limit, "the handshake took %.1f s" % elapsed
    return ws


def raw_request(ws, method, timeout=3.0):
    ws.send(rawws.text(json.dumps({"type": "req", "id": "r1", "method": method})))
    while True:
        frame = json.loads(ws.recv_frame(timeout)[2])
        if frame["type"] == "res":
            return frame


def close_all(socks):
    for s in socks:
        s.close()


def test_one_address_beyond_its_budget_does_not_starve_others(make_gateway):
    with private_netns():
        # 256 descriptors: without a per-address budget the attacker's 400
        # sockets take them all and everyone else waits for their timeouts.
        gw = start_lan_gateway(make_gateway, 256)
        established = raw_handshake(gw.port, gw.token)
        flood = open_from(ATTACKER, gw.port, 400)
        try:
            # A second address, the loopback admin and an established session
            # are served in normal time.
            raw_handshake(gw.port, gw.token, addr=OTHER, source=OTHER).close()
            raw_handshake(gw.port, gw.token).close()
            res = raw_request(established, "health")
            assert res["ok"] is True, res
            still, closed = split_open_closed(flood)
            assert len(still) == PER_ADDRESS, (len(still), len(closed))
            answers = [closed_by_server(s, 1) for s in closed[:20]]
            assert any(a and a.startswith(b"HTTP/1.1 503") and
                       b"at most 64 sockets per client address" in a for a in answers), answers
            # The budget is of open sockets: closing some frees their places.
            close_all(still[:10])
            wait_until(lambda: len(split_open_closed(
                open_from(ATTACKER, gw.port, 1), within=0.3)[0]) == 1, 5,
                "a closed socket's place in the budget was not freed")
            assert gw.gatewayd.logged("over the 64 sockets one address may hold")
        finally:
            close_all(flood)
            established.close()


def test_the_reserve_keeps_loopback_and_newcomers_served(make_gateway):
    with private_netns():
        # 200 descriptors, a reserve of 32: four addresses within their budget
        # (256 sockets) reach into it.
        gw = start_lan_gateway(make_gateway, 200)
        flood = []
        try:
            for i in range(3):
                flood += open_from(FRESH[i], gw.port, PER_ADDRESS)
            # The loopback admin's sockets never count: it is served while the
            # remote ones hold all they may.
            flood += open_from(FRESH[3], gw.port, PER_ADDRESS)
            raw_handshake(gw.port, gw.token).close()
            # A newcomer takes the place of the oldest pending socket and is served.
            raw_handshake(gw.port, gw.token, addr=OTHER, source=OTHER).close()
            still, closed = split_open_closed(flood)
            assert len(closed) > 0 and len(still) < 200 - 32, (len(still), len(closed))
            # The oldest went first.
            assert closed_by_server(flood[0], 0.1) is not None
            assert gw.gatewayd.logged("pending ones dropped for newer ones")
        finally:
            close_all(flood)


def test_an_ipv6_64_is_one_address(make_gateway):
    with private_netns():
        added = subprocess.run(["ip", "addr", "add", V6_NET + "1/128", "dev", "lo", "nodad"],
                               capture_output=True)
        if added.returncode != 0:
            pytest.skip("no IPv6 in the namespace: %s" % added.stderr.decode().strip())
        subprocess.run(["ip", "addr", "add", V6_NET + "2/128", "dev", "lo", "nodad"], check=True)
        gw = start_lan_gateway(make_gateway, 1024)
        first = open_from(V6_NET + "1", gw.port, PER_ADDRESS // 2, family=socket.AF_INET6)
        second = open_from(V6_NET + "2", gw.port, PER_ADDRESS // 2 + 8,
                           host=V6_NET + "1", family=socket.AF_INET6)
        try:
            time.sleep(0.5)
            still, closed = split_open_closed(first + second)
            assert (len(still), len(closed)) == (PER_ADDRESS, 8)
        finally:
            close_all(first + second)


def test_a_trickled_head_is_cut_off_and_an_idle_socket_dropped(gateway):
    """Minimum rate: 3 s from the head's first byte; an idle socket (a browser's
    preconnect) may wait up to 10 s from the accept. Both are dropped unanswered."""
    trickle = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
    idle = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
    start = time.monotonic()
    head = b"GET / HTTP/1.1\r\nHost: x\r\n"
    cut_at = None
    try:
        for i in range(12):
            try:
                trickle.sendall(head[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                cut_at = time.monotonic() - start
                break
            if closed_by_server(trickle, 1.0) is not None:
                cut_at = time.monotonic() - start
                break
        assert cut_at is not None, "a head trickled at 1 byte/s was still open after 12 s"
        assert 2.5 <= cut_at <= 5.0, "the trickled head was cut off after %.1f s" % cut_at
        assert closed_by_server(idle, 0.1) is None, "an idle socket was dropped within 5 s"
        answer = closed_by_server(idle, 12.5 - (time.monotonic() - start))
        assert answer == b"", "an idle socket got %r instead of a close after 10 s" % answer
        assert time.monotonic() - start >= 9.5
    finally:
        trickle.close()
        idle.close()
