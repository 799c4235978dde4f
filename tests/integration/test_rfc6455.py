"""RFC 6455 conformance of gatewayd's frame path, against the
test-only echo endpoint (`gatewayd --test-echo`: every upgrade becomes an echo
of text messages through the same ws.c/wslay path, with no challenge; no config
key can enable it). Server frames are parsed by python3-wsproto, an independent
implementation; the frames sent are crafted byte by byte (rawws.frame) so that
invalid ones can be sent too. Every test runs twice: against wslay's frame path
(sessions) and against the pass-through path the relay uses (`--test-echo=pass`),
which keeps every rule but the UTF-8 check, left to the far end."""

import socket
import struct
import time

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Pong,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate

from clawgate_test.fixtures import track
from clawgate_test.harness import Gateway
from clawgate_test.rawws import frame

MAX_PAYLOAD = 26214400
MAX_FRAGMENTS = 1024
TIMEOUT = 10.0


@pytest.fixture(scope="module", params=["wslay", "pass"])
def echo(request):
    gw = Gateway()
    gw.start(gatewayd_args=["--test-echo" if request.param == "wslay" else "--test-echo=pass"])
    gw.frame_path = request.param
    yield gw
    gw.stop()
    gw.remove_root()


pytestmark = pytest.mark.usefixtures("close_tracked")


class Echo:
    """One connection: wsproto does the handshake and parses what the server sends."""

    def __init__(self, port, extensions=()):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        track(self.sock)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.sock.sendall(self.ws.send(Request(host="127.0.0.1:%d" % port, target="/",
                                               extensions=list(extensions))))
        self.pending = []
        self.accept = self._next(AcceptConnection)

    def _next(self, kind=None):
        deadline = time.monotonic() + TIMEOUT
        while not self.pending:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.sock.recv(1 << 20)
            self.ws.receive_data(data or None)
            self.pending.extend(self.ws.events())
            if not data and not self.pending:
                raise EOFError("the server closed the TCP connection")
        event = self.pending.pop(0)
        if kind is not None:
            assert isinstance(event, kind), "want %s, got %r" % (kind.__name__, event)
        return event

    def send(self, data):
        self.sock.sendall(data)

    def message(self):
        """The next whole message (wsproto may deliver it in parts)."""
        parts = []
        while True:
            event = self._next()
            assert isinstance(event, (TextMessage, BytesMessage)), event
            parts.append(event.data)
            if event.message_finished:
                return "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)

    def close_code(self):
        """The server's close (code, reason), skipping nothing."""
        event = self._next()
        assert isinstance(event, CloseConnection), "want the close, got %r" % (event,)
        return event.code, event.reason


def text(payload, **kw):
    return frame(1, payload.encode() if isinstance(payload, str) else payload, **kw)


def close_frame(code, reason=b""):
    return frame(8, struct.pack(">H", code) + reason)


@pytest.mark.parametrize("size", [0, 125, 126, 127, 128, 65535, 65536, 1 << 20])
def test_echo_sizes(echo, size):
    c = Echo(echo.port)
    payload = ("0123456789abcdef" * (size // 16 + 1))[:size]
    c.send(text(payload))
    assert c.message() == payload


def test_chopped_writes(echo):
    c = Echo(echo.port)
    data = text("chopped " * 40) + text("second")
    for i in range(len(data)):
        c.send(data[i:i + 1])
    assert c.message() == "chopped " * 40
    assert c.message() == "second"


def test_ping_pong(echo):
    c = Echo(echo.port)
    c.send(frame(9, b"same payload"))
    assert c._next(Pong).payload == b"same payload"
    c.send(b"".join(frame(9, b"%d" % i) for i in range(10)))
    assert [c._next(Pong).payload for _ in range(10)] == [b"%d" % i for i in range(10)]


def test_ping_over_125_bytes_fails(echo):
    c = Echo(echo.port)
    c.send(frame(9, b"x" * 126))
    assert c.close_code()[0] == 1002


@pytest.mark.parametrize("rsv", [1, 2, 4])
def test_rsv_bits_without_extension_fail(echo, rsv):
    c = Echo(echo.port)
    c.send(text("hi", rsv=rsv))
    assert c.close_code()[0] == 1002


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcodes_fail(echo, opcode):
    c = Echo(echo.port)
    c.send(frame(opcode, b"x"))
    assert c.close_code()[0] == 1002


def test_fragments_with_interleaved_control_frames(echo):
    c = Echo(echo.port)
    c.send(text("frag", fin=False) + frame(9, b"p1") + frame(0, b"men", fin=False)
           + frame(10, b"unsolicited pong") + frame(0, b"ted", fin=True))
    assert c._next(Pong).payload == b"p1"
    assert c.message() == "fragmented"


def test_continuation_without_start_fails(echo):
    c = Echo(echo.port)
    c.send(frame(0, b"x"))
    assert c.close_code()[0] == 1002


def test_new_message_inside_a_fragmented_one_fails(echo):
    c = Echo(echo.port)
    c.send(text("a", fin=False) + text("b"))
    assert c.close_code()[0] == 1002


def test_fragmented_control_frame_fails(echo):
    c = Echo(echo.port)
    c.send(frame(9, b"a", fin=False) + frame(0, b"b"))
    assert c.close_code()[0] == 1002


def wslay_only(echo):
    if echo.frame_path != "wslay":
        pytest.skip("pass mode leaves UTF-8 to the far end (test_pass_mode_leaves_utf8_alone)")


def test_invalid_utf8_fails_1007(echo):
    wslay_only(echo)
    c = Echo(echo.port)
    c.send(text(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"))
    assert c.close_code()[0] == 1007


def test_utf8_split_across_fragments(echo):
    c = Echo(echo.port)
    kappa = "κόσμε".encode()
    c.send(text(kappa[:1], fin=False) + frame(0, kappa[1:4], fin=False) + frame(0, kappa[4:]))
    assert c.message() == "κόσμε"


def test_invalid_utf8_fails_fast(echo):
    """The server closes on the first bad fragment, before the message ends."""
    wslay_only(echo)
    c = Echo(echo.port)
    c.send(text(b"ok \xff", fin=False))
    assert c.close_code()[0] == 1007


def test_pass_mode_leaves_utf8_alone(echo):
    """Relayed text reaches the far end byte for byte, which checks it (read raw:
    wsproto would refuse it)."""
    if echo.frame_path != "pass":
        pytest.skip("wslay's path checks UTF-8 (test_invalid_utf8_fails_1007)")
    c = Echo(echo.port)
    payload = b"ok \xff \xed\xa0\x80"
    c.send(text(payload, fin=False) + frame(0, b"!"))
    want = b"\x81" + bytes([len(payload) + 1]) + payload + b"!"
    got = b""
    deadline = time.monotonic() + TIMEOUT
    while len(got) < len(want) and time.monotonic() < deadline:
        c.sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = c.sock.recv(len(want) - len(got))
        if not chunk:
            break
        got += chunk
    assert got == want


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1011, 3000, 4999])
def test_valid_close_codes_are_echoed(echo, code):
    c = Echo(echo.port)
    c.send(close_frame(code, b"bye"))
    assert c.close_code()[0] == code


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
def test_invalid_close_codes_fail(echo, code):
    c = Echo(echo.port)
    c.send(close_frame(code))
    assert c.close_code()[0] == 1002


def test_one_byte_close_payload_fails(echo):
    c = Echo(echo.port)
    c.send(frame(8, b"\x03"))
    assert c.close_code()[0] == 1002


def test_empty_close_is_answered(echo):
    c = Echo(echo.port)
    c.send(frame(8, b""))
    assert c.close_code()[0] in (1000, 1005)


def test_data_after_close_is_ignored(echo):
    c = Echo(echo.port)
    c.send(close_frame(1000) + text("after close"))
    assert c.close_code()[0] == 1000
    # Then only the end of the stream (wsproto reports it as a 1006 close).
    try:
        event = c._next()
    except EOFError:
        return
    assert isinstance(event, CloseConnection) and event.code == 1006, event


def test_permessage_deflate_is_declined(echo):
    c = Echo(echo.port, extensions=[PerMessageDeflate()])
    assert c.accept.extensions == []
    c.send(text("plain"))
    assert c.message() == "plain"


def test_binary_messages_are_refused_1003(echo):
    c = Echo(echo.port)
    c.send(frame(2, b"\x00\x01"))
    assert c.close_code()[0] == 1003


def test_unmasked_client_frame_fails(echo):
    c = Echo(echo.port)
    c.send(frame(1, b"hi", mask=False))
    assert c.close_code()[0] == 1002


def test_message_size_limit(echo):
    c = Echo(echo.port)
    c.send(text("x" * MAX_PAYLOAD))
    assert len(c.message()) == MAX_PAYLOAD
    c.send(text("x" * (MAX_PAYLOAD + 1)))
    assert c.close_code()[0] == 1009


def test_fragment_count_limit(echo):
    c = Echo(echo.port)
    c.send(text("a", fin=False) + frame(0, b"b", fin=False) * (MAX_FRAGMENTS - 2)
           + frame(0, b"c"))
    assert c.message() == "a" + "b" * (MAX_FRAGMENTS - 2) + "c"
    c.send(text("a", fin=False) + frame(0, b"b", fin=False) * (MAX_FRAGMENTS - 1)
           + frame(0, b"c"))
    assert c.close_code() == (1009, "too many fragments")
