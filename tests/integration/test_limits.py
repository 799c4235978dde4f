"""Resource limits and timeouts of gatewayd (doc/protocol.md §1): the
request head caps, the head deadline against slowloris, message size limits
before and after hello, unauthenticated sockets per address, and behaviour at
the process's open-file limit."""

import json
import os
import socket
import time

from clawgate_test import expect, rawws
from clawgate_test.clawclient import Closed, Connection, cli_params, handshake
from clawgate_test.harness import wait_until

MAX_PAYLOAD = 26214400


def http_exchange(port, request, timeout=5.0):
    """Sends raw bytes and returns everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    raise AssertionError("the server did not close within %.0f s: %r" % (timeout, out[:200]))


def status_of(response):
    return int(response.split(b" ", 2)[1])


def test_request_head_over_8192_bytes_is_431(gateway):
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 8200 + b"\r\n\r\n"
    response = http_exchange(gateway.port, head)
    assert status_of(response) == 431, response[:200]
    assert b"exceeds 8192 bytes" in response


def test_more_than_64_header_fields_is_431(gateway):
    fields = b"".join(b"X-F%d: v\r\n" % i for i in range(64))
    response = http_exchange(gateway.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
    assert status_of(response) == 431, response[:200]
    assert b"more than 64 header fields" in response
    # 63 extra fields + Host = 64: still fine.
    fields = b"".join(b"X-F%d: v\r\n" % i for i in range(63))
    ok = http_exchange(gateway.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
    assert status_of(ok) == 200, ok[:200]


def test_malformed_head_is_400(gateway):
    response = http_exchange(gateway.port, b"GET / HTTP/1.1\nHost: x\r\n\r\n")
    assert status_of(response) == 400, response[:200]


def test_a_head_that_never_ends_is_dropped(gateway):
    """Slowloris: a line now and then never completes the head; the head's
    deadline (3 s from its first byte, test_accept_budget.py times it) drops the
    socket without an answer."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=2.0) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            try:
                s.sendall(b"X-A: b\r\n")
                data = s.recv(1024)
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                data = b""
            assert data == b"", "the server answered a head that never ended: %r" % data
            return
        raise AssertionError("the slow head was still open after 25 s")


def test_post_auth_limit_is_policy_max_payload(gateway):
    attempt = handshake(gateway.url, cli_params(token=gateway.token))
    assert attempt.hello["policy"]["maxPayload"] == MAX_PAYLOAD
    # Larger than the pre-auth 64 KiB, within maxPayload: an answer, no close.
    big = {"type": "req", "id": "big", "method": "nope", "params": {"pad": "x" * 200000}}
    attempt.conn.send(big)
    assert attempt.conn.recv()["id"] == "big"
    frame = json.dumps({"type": "req", "id": "huge", "method": "nope", "params": {"pad": ""}})
    frame = frame[:-3] + "x" * (MAX_PAYLOAD + 1 - len(frame)) + frame[-3:]
    assert len(frame) == MAX_PAYLOAD + 1
    try:
        attempt.conn.send_text(frame, timeout=30)
    except Closed as closed:
        assert (closed.code, closed.reason) == (1009, ""), closed
        return
    expect.closed_without_res(attempt.conn, 1009, "")


def test_unauthenticated_sockets_per_address(make_gateway):
    gw = make_gateway(broker_env={"OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP": "4"})
    waiting = []
    for _ in range(4):
        conn = Connection.open(gw.url)
        conn.read_challenge()
        waiting.append(conn)
    refused = rawws.RawWS(gw.port)
    assert refused.status == 503, refused.head
    body = http_body(refused)
    assert b"Too many unauthenticated sockets" in body, body
    # One of the four authenticates: its place is free again.
    res = waiting[0].request("connect", cli_params(token=gw.token))
    assert res["ok"] is True, res
    conn = Connection.open(gw.url)
    conn.read_challenge()
    # A closed one frees its place too.
    waiting[1].close()
    wait_until(lambda: rawws.RawWS(gw.port).status == 101, 5,
               "a closed socket's place was not freed")


def http_body(raw):
    """The rest of an HTTP answer after its head, up to the server's close."""
    while True:
        try:
            raw._fill(time.monotonic() + 5)
        except EOFError:
            return raw.buf


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# gatewayd's own descriptors (stdio, listeners, broker link, epoll, ...) plus a few:
# prlimit(1) sets it at exec, since a process that dropped privileges cannot be
# prlimit'ed from outside without CAP_SYS_PTRACE.
FD_LIMIT = 14


def test_at_the_open_file_limit_gatewayd_pauses_and_resumes(make_gateway):
    gateway = make_gateway(start=False)
    gateway.start_broker()
    gateway.start_gatewayd(prefix=["prlimit", "--nofile=%d:%d" % (FD_LIMIT, FD_LIMIT), "--"])
    pid = gateway.gatewayd.pid
    assert len(os.listdir("/proc/%d/fd" % pid)) < FD_LIMIT
    # More clients than descriptors: the kernel completes the TCP handshakes,
    # gatewayd accepts what it can and must then wait, not spin.
    clients = [socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
               for _ in range(12)]
    time.sleep(1)
    before = cpu_seconds(pid)
    time.sleep(2)
    used = cpu_seconds(pid) - before
    assert gateway.gatewayd.alive(), gateway.logs()
    assert used < 0.5, "gatewayd used %.2f s of CPU in 2 s at the fd limit: it spins" % used
    assert "failed: Too many open files; pausing it" in gateway.log_text("gatewayd")
    for c in clients:
        c.close()
    # Descriptors are free again: it accepts and serves.
    assert handshake(gateway.url, cli_params(token=gateway.token), timeout=10).ok


def test_slow_consumer_is_closed(gateway):
    """A client that sends requests and reads nothing: once more than
    policy.maxBufferedBytes (50 MiB) of answers wait for it, gatewayd closes it
    (1008 `slow consumer`, queued behind the backlog the client never reads)
    and keeps serving everyone else."""
    raw = rawws.RawWS(gateway.port)
    raw.recv_frame()
    raw.send(rawws.text(json.dumps({"type": "req", "id": "c", "method": "connect",
                                    "params": cli_params(token=gateway.token)})))
    _, _, payload = raw.recv_frame()
    assert json.loads(payload)["ok"] is True, payload
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # Each request is answered by gatewayd itself with an error of ~450 bytes.
    request = rawws.text(json.dumps({"type": "req", "id": "i" * 120, "method": "m" * 250}))
    batch = request * 1000
    log = gateway.root / "gatewayd.log"
    # Generous bounds: under AddressSanitizer on a loaded machine gatewayd may take a
    # while to read and answer 50 MiB worth of requests.
    raw.sock.settimeout(30)
    try:
        for _ in range(200):                  # up to ~85 MB of requests
            raw.send(batch)
            if "slow consumer" in log.read_text():
                break
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    wait_until(lambda: "slow consumer" in log.read_text(), 90,
               "no slow-consumer close in the log", interval=0.2)
    assert "closing 127.0.0.1: slow consumer (" in log.read_text()
    raw.close()
    assert handshake(gateway.url, cli_params(token=gateway.token)).ok
