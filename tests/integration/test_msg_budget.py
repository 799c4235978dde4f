"""The budget of one gatewayd worker for large WebSocket messages in flight
(gatewayd/msgbudget.h): a message over 64 KiB reserves its announced length
before it is read; one that does not fit waits (its connection is not read)
until room frees, at most a bounded time (then close 1013); a message holding
room that arrives too slowly is cut (1008) while others wait. Both frame paths:
wslay's (sessions before the relay) and pass mode (the relay's), through the
test-only echo endpoint. The budget here is 1 MiB, with short deadlines."""

import socket
import struct
import threading
import time

import pytest

from clawgate_test.fixtures import close_all_tracked, track
from clawgate_test.harness import Gateway
from clawgate_test.rawws import RawWS, frame

KIB = 1024
BUDGET_KIB = 1024
SMALL = 64 * KIB


def start(path, wait_ms, grace_ms):
    gw = Gateway()
    gw.start(gatewayd_args=["--test-echo" if path == "wslay" else "--test-echo=pass",
                            "--test-msg-budget=%d,%d,%d" % (BUDGET_KIB, wait_ms, grace_ms)])
    return gw


@pytest.fixture(scope="module", params=["wslay", "pass"])
def path(request):
    return request.param


@pytest.fixture(scope="module")
def gw(path):
    """Waits up to 3 s; a holder must keep 1 MiB/s after 1.5 s."""
    g = start(path, 3000, 1500)
    yield g
    g.stop()
    g.remove_root()


@pytest.fixture(scope="module")
def gw_short_wait(path):
    """Waits up to 1 s; a holder has 10 s of grace."""
    g = start(path, 1000, 10000)
    yield g
    g.stop()
    g.remove_root()


@pytest.fixture(autouse=True)
def close_and_settle():
    yield
    close_all_tracked()
    # gatewayd frees what the closed connections held once it reads their EOF.
    time.sleep(0.3)


def connect(g):
    ws = RawWS(g.port, timeout=10.0)
    assert ws.status == 101, ws.head
    ws.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    track(ws)
    return ws


def payload(n, fill=b"a"):
    return fill * n


def send_in_background(ws, data):
    """sendall from a thread: a paused connection is not read, so the kernel's
    buffers fill and the send blocks until gatewayd reads again."""
    t = threading.Thread(target=lambda: _send_quietly(ws, data), daemon=True)
    t.start()
    return t


def _send_quietly(ws, data):
    try:
        ws.send(data)
    except OSError:
        pass


def expect_echo(ws, body, timeout=10.0):
    fin, op, got = ws.recv_frame(timeout)
    assert (fin, op) == (True, 1), (fin, op, got[:80])
    assert got == body, "echo of %d bytes came back as %d bytes" % (len(body), len(got))


def expect_nothing(ws, seconds):
    """Nothing arrives within seconds (the connection waits for room)."""
    try:
        fin, op, got = ws.recv_frame(seconds)
    except socket.timeout:
        return
    raise AssertionError("a frame arrived while the budget had no room: op %d, %d bytes"
                         % (op, len(got)))


def split(data, at):
    return data[:at], data[at:]


def test_a_message_waits_for_room_then_completes(gw):
    a_body, b_body = payload(600 * KIB, b"a"), payload(600 * KIB, b"b")
    a_first, a_rest = split(frame(1, a_body), 100 * KIB)
    b_frame = frame(1, b_body)
    a = connect(gw)
    b = connect(gw)
    a.send(a_first)
    time.sleep(0.2)
    send_in_background(b, b_frame)
    # 600 + 600 KiB do not fit in 1 MiB: b's message is not read, let alone echoed.
    expect_nothing(b, 0.8)
    a.send(a_rest)
    expect_echo(a, a_body)
    expect_echo(b, b_body)


def test_small_messages_never_wait(gw):
    a = connect(gw)
    a_first, _ = split(frame(1, payload(1000 * KIB)), 10 * KIB)
    a.send(a_first)
    time.sleep(0.2)
    c = connect(gw)
    small = payload(SMALL, b"c")
    c.send(frame(1, small))
    expect_echo(c, small, timeout=2.0)
    # Fragments add up: a message of small frames over 64 KiB reserves too,
    # and waits behind a's 1000 KiB.
    d = connect(gw)
    frames = frame(1, payload(40 * KIB, b"d"), fin=False) + frame(0, payload(40 * KIB, b"d"))
    send_in_background(d, frames)
    expect_nothing(d, 0.8)


def test_slow_holder_is_cut_while_others_wait(gw):
    a_first, _ = split(frame(1, payload(600 * KIB)), 20 * KIB)
    b_body = payload(600 * KIB, b"b")
    b_frame = frame(1, b_body)
    a = connect(gw)
    a.send(a_first)
    time.sleep(0.2)
    b = connect(gw)
    send_in_background(b, b_frame)
    # a's deadline: 1.5 s of grace + 600 KiB at 1 MiB/s, about 2.1 s.
    code, reason, _ = a.recv_close(timeout=6.0)
    assert code == 1008, (code, reason)
    assert "too slowly" in reason and "others wait" in reason, reason
    expect_echo(b, b_body)


def test_slow_holder_is_left_alone_while_nobody_waits(gw):
    a = connect(gw)
    body = payload(600 * KIB)
    a_first, a_rest = split(frame(1, body), 20 * KIB)
    a.send(a_first)
    expect_nothing(a, 3.0)
    a.send(a_rest)
    expect_echo(a, body)


def test_the_wait_is_bounded(gw_short_wait):
    a_body = payload(600 * KIB)
    a_first, a_rest = split(frame(1, a_body), 20 * KIB)
    b_frame = frame(1, payload(600 * KIB, b"b"))
    a = connect(gw_short_wait)
    a.send(a_first)
    time.sleep(0.2)
    b = connect(gw_short_wait)
    send_in_background(b, b_frame)
    code, reason, _ = b.recv_close(timeout=5.0)
    assert code == 1013, (code, reason)
    assert reason == "gateway busy: large messages in flight exceed the 1 MiB budget; retry later"
    # The holder is not cut: nobody waits any more.
    a.send(a_rest)
    expect_echo(a, a_body)
    assert "large-message budget full" in gw_short_wait.log_text("gatewayd")


def test_a_message_over_the_whole_budget_is_refused_at_once(gw):
    a = connect(gw)
    a.send(frame(1, payload(1100 * KIB))[:4 * KIB])
    code, reason, _ = a.recv_close(timeout=3.0)
    assert code == 1013, (code, reason)
    assert reason == ("gateway busy: a 1100 KiB message exceeds the 1 MiB budget for large "
                      "messages in flight; retry later"), reason
