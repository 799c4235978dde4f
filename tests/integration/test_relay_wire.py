"""Relay mode on the wire, against a scripted upstream in the test (no OpenClaw
needed): the upgrade's headers, the connect handed upstream without `device` and
`auth`, hello-ok with clawgate's auth, frames passed through untouched both ways
but for clawgate's pairing methods and the upstream's pairing events, pings
answered on each side, closes passed through, and an upstream that refuses the
upgrade or never says hello."""

import base64
import hashlib
import json
import socket
import struct
import time

import pytest

from clawgate_test import flows
from clawgate_test.clawclient import Connection, Identity, cli_params, sign_device
from clawgate_test.harness import wait_until
from clawgate_test.rawws import GUID, frame

TIMEOUT = 5.0
UPSTREAM_AUTH = {"method": "trusted-proxy", "role": "operator", "scopes": ["operator.admin"],
                 "recoveryScope": "x"}


class ScriptedConn:
    """The upstream's end of one relayed connection: server frames out, masked
    client frames in."""

    def __init__(self, sock, head):
        self.sock = sock
        self.buf = b""
        lines = head.decode().split("\r\n")
        self.request_line = lines[0]
        self.headers = [tuple(p.strip() for p in line.split(":", 1)) for line in lines[1:]
                        if line]

    def header(self, name):
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        assert len(values) <= 1, "header %s sent %d times: %r" % (name, len(values),
                                                                  self.headers)
        return values[0] if values else None

    def _read_n(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("gatewayd closed the upstream connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        b0, b1 = self._read_n(2, deadline)
        assert b1 & 0x80, "gatewayd sent its upstream an unmasked frame"
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack(">H", self._read_n(2, deadline))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._read_n(8, deadline))[0]
        mask = self._read_n(4, deadline)
        data = self._read_n(n, deadline)
        return b0 & 0x0f, bytes(b ^ mask[i % 4] for i, b in enumerate(data))

    def recv_text(self, timeout=TIMEOUT):
        op, data = self.recv_frame(timeout)
        assert op == 1, "expected a text frame, got opcode %d: %r" % (op, data)
        return data

    def send_raw(self, opcode, payload):
        self.sock.sendall(frame(opcode, payload, mask=False))

    def send(self, obj):
        self.send_raw(1, json.dumps(obj).encode())

    def close(self, code, reason):
        self.send_raw(8, struct.pack(">H", code) + reason.encode())


class ScriptedUpstream:
    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]

    def accept(self, status=101, timeout=TIMEOUT):
        """The next relayed connection: gatewayd's probes of the upstream (a
        connect closed without a byte sent) are passed over, as an OpenClaw
        gateway does."""
        deadline = time.monotonic() + timeout
        while True:
            self.server.settimeout(max(0.01, deadline - time.monotonic()))
            sock, _ = self.server.accept()
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            head = sock.recv(4096)
            if head:
                break
            sock.close()
        sock.settimeout(timeout)
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, "gatewayd closed before its upgrade request was complete"
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        conn = ScriptedConn(sock, head)
        conn.buf = rest
        if status != 101:
            sock.sendall(b"HTTP/1.1 %d Forbidden\r\nConnection: close\r\n\r\n" % status)
            return conn
        key = conn.header("Sec-WebSocket-Key").encode()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        return conn

    def hello(self, conn):
        """The upstream's side of the handshake; returns the connect it received."""
        conn.send({"type": "event", "event": "connect.challenge",
                   "payload": {"nonce": "n", "ts": 1, "capabilities": []}})
        connect = json.loads(conn.recv_text())
        conn.send({"type": "res", "id": connect["id"], "ok": True, "payload": {
            "type": "hello-ok", "protocol": 4, "server": {"connId": "upstream-conn"},
            "features": {"methods": ["health", "chat.send"], "events": ["tick"]},
            "auth": UPSTREAM_AUTH, "policy": {"tickIntervalMs": 30000}}})
        return connect

    def close(self):
        self.server.close()


@pytest.fixture
def scripted():
    up = ScriptedUpstream()
    yield up
    up.close()


def relay_gateway(make_gateway, up):
    return make_gateway(config_clawgate={"relay": {
        "upstream": "ws://127.0.0.1:%d" % up.port, "userHeader": "x-clawgate-user",
        "requiredHeaders": ["x-clawgate-relay", "x-second"]}})


def open_client(gw, params):
    """A client through the connect frame; the res is for the caller to read."""
    conn = Connection.open(gw.url)
    challenge = conn.read_challenge()
    conn.send({"type": "req", "id": "connect-1", "method": "connect", "params": params})
    return conn, challenge


def relayed_session(gw, up, scopes=("operator.read", "operator.pairing")):
    params = cli_params(token=gw.token, scopes=scopes)
    client, _ = open_client(gw, params)
    conn = up.accept()
    connect = up.hello(conn)
    res = client.recv()
    assert res["ok"] is True, res
    return client, conn, connect, res["payload"]


def test_the_upgrade_the_connect_and_hello_ok(make_gateway, scripted):
    gw = relay_gateway(make_gateway, scripted)
    params = cli_params(token=gw.token, scopes=("operator.read", "operator.pairing"))
    params["locale"] = "de-DE"
    client, challenge = open_client(gw, params)
    assert challenge["capabilities"] == ["model-catalog-snapshot"]
    conn = scripted.accept()
    assert conn.request_line == "GET / HTTP/1.1"
    expected = {
        "Host": "127.0.0.1:%d" % scripted.port, "Upgrade": "websocket",
        "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "x-clawgate-user": "clawgate", "x-clawgate-relay": "1", "x-second": "1",
        # A loopback client is forwarded as the placeholder, never as itself.
        "X-Forwarded-For": "192.0.2.1",
        "x-openclaw-scopes": "operator.read,operator.pairing",
        "X-Forwarded-Host": "127.0.0.1:%d" % gw.port, "X-Forwarded-Proto": "http",
    }
    for name, value in expected.items():
        assert conn.header(name) == value, (name, conn.headers)
    assert len(base64.b64decode(conn.header("Sec-WebSocket-Key"))) == 16
    assert conn.header("Origin") is None
    assert len(conn.headers) == len(expected) + 1, conn.headers

    connect = scripted.hello(conn)
    # The client's connect, without its secret and its device, otherwise as sent.
    sent = dict(params)
    del sent["auth"]
    assert connect == {"type": "req", "id": "connect-1", "method": "connect",
                       "params": sent}, connect
    res = client.recv()
    assert res["ok"] is True and res["id"] == "connect-1", res
    hello = res["payload"]
    assert hello["server"] == {"connId": "upstream-conn"}, hello
    assert hello["features"]["methods"] == ["health", "chat.send"], hello
    assert hello["auth"]["method"] == "token" and hello["auth"]["role"] == "operator"
    assert hello["auth"]["scopes"] == ["operator.read", "operator.pairing"], hello["auth"]
    assert hello["auth"]["recoveryScope"] != "x", hello["auth"]


def test_frames_pass_through_but_pairing_stays_clawgates(make_gateway, scripted):
    gw = relay_gateway(make_gateway, scripted)
    client, conn, _, _ = relayed_session(gw, scripted)

    # Client to upstream: the very bytes, whatever their spacing.
    text = '{"type":"req",  "id":"r1","method":"chat.send","params":{"x":1.50e1,"s":"\\u00e9"}}'
    client.send_text(text)
    assert conn.recv_text() == text.encode()
    # device.pair.* is clawgate's: answered from its table, never forwarded.
    listing = client.request("device.pair.list")
    assert listing["ok"] is True and listing["payload"]["paired"] == [], listing
    client.send_text('{"type":"req","id":"r2","method":"health"}')
    assert conn.recv_text() == b'{"type":"req","id":"r2","method":"health"}'

    # Upstream to client: its pairing events dropped, everything else as sent.
    conn.send({"type": "event", "event": "device.pair.requested", "payload": {}, "seq": 1})
    event = '{"type":"event","event":"chat","payload":{"n":1e3},"seq":2}'
    conn.send_raw(1, event.encode())
    assert client.recv_text() == event

    # Pings are answered on each side by whoever receives them.
    conn.send_raw(9, b"up")
    op, data = conn.recv_frame()
    assert (op, data) == (10, b"up")
    client.ping()

    # The upstream's close reaches the client with its code and reason.
    conn.close(4001, "gateway policy changed")
    assert client.expect_close() == (4001, "gateway policy changed")


def test_the_clients_close_reaches_the_upstream(make_gateway, scripted):
    gw = relay_gateway(make_gateway, scripted)
    client, conn, _, _ = relayed_session(gw, scripted)
    client.close()
    op, data = conn.recv_frame()
    assert op == 8 and struct.unpack(">H", data[:2])[0] == 1000, (op, data)


def test_an_upstream_closing_without_a_code_closes_normally(make_gateway, scripted):
    gw = relay_gateway(make_gateway, scripted)
    client, conn, _, _ = relayed_session(gw, scripted)
    conn.sock.close()
    assert client.expect_close() == (1000, "")


def test_clawgates_pairing_events_reach_a_relayed_admin_without_seq(make_gateway, scripted):
    """...and a device that must pair first is refused by clawgate alone."""
    gw = relay_gateway(make_gateway, scripted)
    client, conn, _, _ = relayed_session(gw, scripted)
    flows.request_pairing(gw, Identity())
    event = client.wait_event("device.pair.requested")
    assert "seq" not in event, event
    # The refused device never reached the upstream.
    with pytest.raises(socket.timeout):
        scripted.accept(timeout=0.5)
    conn.sock.close()


def test_removing_the_device_closes_both_sides(make_gateway, scripted):
    gw = relay_gateway(make_gateway, scripted)
    device = Identity()
    gw.ctl_ok("devices", "approve", flows.request_pairing(gw, device))
    client = Connection.open(gw.url)
    challenge = client.read_challenge()
    params = cli_params(token=gw.token)
    sign_device(params, device, nonce=challenge["nonce"], signed_at=challenge["ts"],
                version="v3")
    client.send({"type": "req", "id": "connect-1", "method": "connect", "params": params})
    conn = scripted.accept()
    connect = scripted.hello(conn)
    assert "device" not in connect["params"] and "auth" not in connect["params"], connect
    res = client.recv()
    assert res["ok"] is True and res["payload"]["auth"]["deviceToken"], res
    gw.ctl_ok("devices", "remove", device.device_id)
    code, reason = client.expect_close()
    assert code == 1008, (code, reason)
    op, data = conn.recv_frame()
    assert op == 8 and data == struct.pack(">H", code) + reason.encode(), (op, data)


@pytest.mark.parametrize("status", [403, 503])
def test_an_upstream_refusing_the_upgrade_is_unavailable(make_gateway, scripted, status):
    gw = relay_gateway(make_gateway, scripted)
    client, _ = open_client(gw, cli_params(token=gw.token))
    scripted.accept(status=status)
    res = client.recv()
    assert res["ok"] is False and res["error"]["code"] == "UNAVAILABLE", res
    assert res["error"]["retryable"] is True, res
    assert client.expect_close() == (1013, "upstream gateway unavailable")
    assert "upgrade refused with HTTP %d" % status in gw.log_text("gatewayd")


def test_an_upstream_that_never_says_hello_is_unavailable(make_gateway, scripted):
    gw = relay_gateway(make_gateway, scripted)
    client, _ = open_client(gw, cli_params(token=gw.token))
    conn = scripted.accept()
    res = client.recv(timeout=30)
    assert res["ok"] is False and res["error"]["code"] == "UNAVAILABLE", res
    assert client.expect_close() == (1013, "upstream gateway unavailable")
    assert "no hello within the handshake timeout" in gw.log_text("gatewayd")
    conn.sock.close()


def test_another_upstream_port_from_a_restarted_broker_waits_for_gatewayd(make_gateway,
                                                                          scripted):
    """gatewayd's sandbox connects to the upstream port it started with only: a
    brokerd restarted with another one is relayed to as before."""
    gw = relay_gateway(make_gateway, scripted)
    other = ScriptedUpstream()
    try:
        config = json.loads(gw.config_path.read_text())
        config["clawgate"]["relay"]["upstream"] = "ws://127.0.0.1:%d" % other.port
        gw.config_path.write_text(json.dumps(config))
        gw.broker.stop()
        gw.start_broker()
        wait_until(lambda: "clawgate.relay changed (another upstream port, which gatewayd's "
                   "sandbox does not reach): gatewayd keeps relaying as it started until it "
                   "restarts: systemctl restart gatewayd" in gw.log_text("gatewayd"),
                   TIMEOUT, "gatewayd to notice the new relay settings")
        # Still the first upstream (the second would never answer).
        client, conn, _, _ = relayed_session(gw, scripted)
        client.send_text('{"type":"req","id":"h","method":"health"}')
        assert conn.recv_text() == b'{"type":"req","id":"h","method":"health"}'
        conn.sock.close()
    finally:
        other.close()


def test_a_client_that_does_not_read_holds_the_upstream_back(make_gateway, scripted):
    """With the client not reading, gatewayd stops reading the upstream (its
    sender blocks) rather than buffering towards the slow-consumer close; the
    session lives on and the client gets every event once it reads."""
    gw = relay_gateway(make_gateway, scripted)
    client, conn, _, _ = relayed_session(gw, scripted)
    payload = "x" * 65000
    sent = 0
    conn.sock.settimeout(3.0)
    try:
        # Twice policy.maxBufferedBytes (50 MiB): without back-pressure gatewayd
        # would have closed the client long before.
        while sent < 1600:
            conn.sock.sendall(frame(1, json.dumps({"type": "event", "event": "chat",
                                                   "payload": {"n": sent, "p": payload}})
                                    .encode(), mask=False))
            sent += 1
    except socket.timeout:
        pass
    assert sent < 1600, "gatewayd read 100 MiB from the upstream for a client that reads none"
    got = [json.loads(client.recv_text(timeout=10))["payload"]["n"] for _ in range(sent - 1)]
    assert got == list(range(sent - 1))
    conn.sock.close()


def test_a_proxied_client_is_forwarded_as_itself_with_its_origin(make_gateway, scripted):
    """Behind a trusted proxy the client's own address is X-Forwarded-For, set
    rather than appended to; the Origin clawgate checked goes along."""
    origin = "https://relay.example:8443"
    gw = make_gateway(
        config_clawgate={"relay": {"upstream": "ws://127.0.0.1:%d" % scripted.port}},
        config_extra={"trustedProxies": ["127.0.0.1"],
                      "controlUi": {"allowedOrigins": [origin]}})
    client = Connection.open(gw.url, origin=origin, headers={
        "X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https", "x-openclaw-scopes": "operator.admin",
        "x-clawgate-user": "mallory"})
    client.read_challenge()
    client.send({"type": "req", "id": "connect-1", "method": "connect",
                 "params": cli_params(token=gw.token)})
    conn = scripted.accept()
    assert conn.header("X-Forwarded-For") == "203.0.113.9", conn.headers
    assert conn.header("Origin") == origin, conn.headers
    assert conn.header("X-Forwarded-Host") == "127.0.0.1:%d" % gw.port, conn.headers
    assert conn.header("X-Forwarded-Proto") == "http", conn.headers
    # What clawgate approved: nothing for a device-less client that is not local
    # (an empty header, which the upstream reads as no scope, not as all).
    assert conn.header("x-openclaw-scopes") == "", conn.headers
    # The defaults of clawgate.relay: userHeader x-clawgate-user, user clawgate.
    assert conn.header("x-clawgate-user") == "clawgate", conn.headers
    scripted.hello(conn)
    assert client.recv()["ok"] is True
    conn.sock.close()


def test_a_relayed_session_gets_no_tick_from_clawgate(make_gateway, scripted):
    """The upstream sends its own ticks (tickIntervalMs 30000); clawgate's, which
    every other session gets within 30 s of gatewayd's start, would be a second
    stream with its own seq."""
    gw = relay_gateway(make_gateway, scripted)
    client, conn, _, _ = relayed_session(gw, scripted)
    with pytest.raises(TimeoutError):
        frame_text = client.recv_text(timeout=31)
        pytest.fail("a frame the upstream did not send: %r" % frame_text)
    conn.sock.close()
