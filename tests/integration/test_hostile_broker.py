"""gatewayd against a broker that breaks the protocol: the real gatewayd linked
to a fake brokerd on gateway.sock (protolink.py). A message gatewayd never
receives, one that its link's state does not allow (a second BR_HELLO, a session
message before the hello), or one that does not decode drops the link with a
log line naming the message; gatewayd keeps serving and reconnects by itself."""

import http.client
import os
import socket
import threading
import time

import pytest

from clawgate_test import protolink as pl

TIMEOUT = 10.0


def settings(port):
    return {"version": "fake-brokerd", "port": port, "bind": ["127.0.0.1"],
            "tick_interval_ms": 30000, "handshake_timeout_ms": 10000,
            "max_payload": 1 << 20, "max_buffered": 1 << 20, "max_preauth_per_ip": 32,
            "gatewayctl": "gatewayctl"}


class FakeBroker:
    """gateway.sock, served by the test: one link at a time."""

    def __init__(self, path, port):
        self.port = port
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        # gatewayd reconnects after it dropped to its own account.
        os.chmod(path, 0o777)
        self.sock.listen(4)
        self.sock.settimeout(TIMEOUT)

    def close(self):
        self.sock.close()

    def accept(self):
        conn, _ = self.sock.accept()
        conn.settimeout(TIMEOUT)
        return conn

    @staticmethod
    def recv(conn):
        head = _exact(conn, pl.HDR.size)
        length, msg_type, version, _, _ = pl.HDR.unpack(head)
        assert version == pl.VERSION, version
        return msg_type, pl.decode_payload(msg_type, _exact(conn, length))

    def link(self):
        """Accepts gatewayd's link and answers its GW_HELLO."""
        conn = self.accept()
        msg_type, _ = self.recv(conn)
        assert msg_type == pl.GW_HELLO, msg_type
        conn.sendall(pl.encode(pl.BR_HELLO, settings(self.port)))
        return conn


def _exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("gatewayd closed the link")
        buf += chunk
    return buf


def closed(conn):
    """True iff gatewayd closes the link within TIMEOUT (reading what it sends)."""
    try:
        while conn.recv(65536):
            pass
    except socket.timeout:
        return False
    except ConnectionResetError:
        pass
    return True


def healthz(gw):
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=TIMEOUT)
    try:
        c.request("GET", "/healthz")
        return c.getresponse().status
    finally:
        c.close()


def healthz_becomes(gw, status):
    deadline = time.monotonic() + TIMEOUT
    while healthz(gw) != status:
        assert time.monotonic() < deadline, "/healthz did not answer %d in time" % status
        time.sleep(0.05)


@pytest.fixture
def linked(make_gateway):
    """A real gatewayd with its link to a fake brokerd up."""
    gw = make_gateway(start=False)
    gw.sock_dir.mkdir(mode=0o755)
    broker = FakeBroker(gw.sock_dir / "gateway.sock", gw.port)
    first = {}
    # gatewayd waits for the hello before it listens: answer it meanwhile.
    thread = threading.Thread(target=lambda: first.update(conn=broker.link()))
    thread.start()
    try:
        gw.start_gatewayd()
    finally:
        thread.join(TIMEOUT)
    assert "conn" in first, "gatewayd never linked to the fake brokerd"
    yield gw, broker, first["conn"]
    first["conn"].close()
    broker.close()


AFTER_HELLO = [
    # The BR_HELLO's struct is bigger than any session message's: refused by
    # type and state before it is decoded.
    ("second hello", lambda port: pl.encode(pl.BR_HELLO, settings(port)),
     "brokerd sent PROTO_BR_HELLO after its BR_HELLO"),
    ("gateway-bound type", lambda port: pl.encode(pl.GW_HELLO, {"pid": 1, "worker": 0, "workers": 1}),
     "brokerd sent PROTO_GW_HELLO (type 0x0101), which a gateway never receives"),
    ("unknown type", lambda port: pl.frame(0x7777, b""),
     "brokerd sent unknown (type 0x7777), which a gateway never receives"),
    ("malformed", lambda port: pl.frame(pl.BR_CHALLENGE, b"\x00"),
     "brokerd sent a malformed PROTO_BR_CHALLENGE (1 bytes)"),
    ("no such audience", lambda port: pl.encode(pl.BR_EVENT, {"audience": 7, "event": "x"}),
     "brokerd sent BR_EVENT for audience 7, which does not exist"),
]


@pytest.mark.parametrize("name,message,logged", AFTER_HELLO, ids=[c[0] for c in AFTER_HELLO])
def test_a_violation_drops_the_link_and_gatewayd_reconnects(linked, name, message, logged):
    gw, broker, conn = linked
    healthz_becomes(gw, 200)
    conn.sendall(message(gw.port))
    assert closed(conn), "gatewayd kept a link that sent a %s" % name
    assert gw.gatewayd.logged(logged), logged
    assert gw.gatewayd.logged("lost the link to brokerd")
    assert gw.gatewayd.logged("(protocol violation)")
    # It keeps serving meanwhile, and comes back for a new hello.
    assert healthz(gw) == 503
    again = broker.link()
    try:
        healthz_becomes(gw, 200)
        assert gw.gatewayd.alive()
    finally:
        again.close()


def test_a_session_message_before_the_hello_drops_the_link(linked):
    gw, broker, conn = linked
    conn.close()
    # gatewayd reconnects; this time the broker answers its hello with a challenge.
    second = broker.accept()
    try:
        msg_type, _ = broker.recv(second)
        assert msg_type == pl.GW_HELLO, msg_type
        second.sendall(pl.encode(pl.BR_CHALLENGE, {"conn": 1, "nonce": "n", "ts": 1}))
        assert closed(second)
    finally:
        second.close()
    assert gw.gatewayd.logged("brokerd sent PROTO_BR_CHALLENGE before its BR_HELLO")
    third = broker.link()
    try:
        healthz_becomes(gw, 200)
    finally:
        third.close()
