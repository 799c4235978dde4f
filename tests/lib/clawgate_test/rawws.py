"""A raw WebSocket client for what a library will not do: several frames in one
write (to queue them behind a connect), a request head sent byte by byte, raw
frames with any opcode, flags or payload. Only the upgrade check and the frame
layout of RFC 6455 §5.2 are implemented; every wait is bounded."""

import base64
import hashlib
import os
import socket
import struct
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TIMEOUT = 5.0


def upgrade_request(host, key, extra=b""):
    return (b"GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
            % (host, key)) + extra + b"\r\n"


def frame(opcode, payload, *, fin=True, rsv=0, mask=True):
    """One frame as a client sends it (masked unless mask=False)."""
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def text(s):
    return frame(1, s.encode() if isinstance(s, str) else s)


class RawWS:
    def __init__(self, port, *, extra_headers=b"", timeout=TIMEOUT, addr="127.0.0.1",
                 host=None, source=None):
        """Connects to addr:port (from the address source, if given); host is the
        Host header (default 127.0.0.1:port)."""
        self.sock = socket.create_connection(
            (addr, port), timeout=timeout,
            source_address=(source, 0) if source is not None else None)
        self.buf = b""
        key = base64.b64encode(os.urandom(16))
        host = host or "127.0.0.1:%d" % port
        self.sock.sendall(upgrade_request(host.encode(), key, extra_headers))
        head = self._read_until(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1(key + GUID).digest())
            assert b"Sec-WebSocket-Accept: " + want in head, head
        self.head = head

    def _fill(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("server closed the TCP connection")
        self.buf += chunk

    def _read_until(self, marker, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            self._fill(deadline)
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_n(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, data):
        self.sock.sendall(data)

    def recv_frame(self, timeout=TIMEOUT):
        """(fin, opcode, payload) of the next server frame (servers do not mask)."""
        deadline = time.monotonic() + timeout
        b0, b1 = self._read_n(2, deadline)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack(">H", self._read_n(2, deadline))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._read_n(8, deadline))[0]
        assert not b1 & 0x80, "the server masked a frame"
        return bool(b0 & 0x80), b0 & 0x0f, self._read_n(n, deadline)

    def recv_close(self, timeout=TIMEOUT):
        """Skips data frames up to the close; returns (code, reason, skipped texts)."""
        skipped = []
        while True:
            _, op, payload = self.recv_frame(timeout)
            if op == 8:
                if not payload:
                    return 1005, "", skipped
                return struct.unpack(">H", payload[:2])[0], payload[2:].decode(), skipped
            skipped.append(payload)

    def close(self):
        self.sock.close()
