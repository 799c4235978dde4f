#!/usr/bin/python3
"""Writes the seed corpus in corpus/<target>/: a few valid and a few broken
inputs per fuzz target, so that libFuzzer starts from the interesting shapes.
Run from anywhere; the seeds are committed, this script documents them."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

CONNECT = {
    "type": "req", "id": "1", "method": "connect",
    "params": {
        "minProtocol": 4, "maxProtocol": 4,
        "client": {"id": "cli", "version": "2026.1.0", "platform": "linux",
                   "deviceFamily": "Linux", "mode": "cli",
                   "instanceId": "0b7c5d1e-1111-4222-8333-444455556666"},
        "caps": [], "role": "operator", "scopes": ["operator.read", "operator.pairing"],
        "auth": {"token": "t" * 43},
        "device": {"id": "a" * 64, "publicKey": "b" * 43, "signature": "c" * 86,
                   "signedAt": 1764000000000, "nonce": "0b7c5d1e-1111-4222-8333-444455556666"},
    },
}


def frame(opcode, payload, fin=True, mask=b"\x01\x02\x03\x04", rsv=0):
    """One client frame (masked, as RFC 6455 requires of clients)."""
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


# The broker link (proto/proto.h): a 16-byte header, then fields in the order of
# proto.c's tables; big-endian integers, strings and blobs with a u32 length.
PROTO_VERSION = 8
BR_HELLO, BR_CHALLENGE, BR_ACCEPT, BR_REJECT, BR_RPC_RESULT = (0x0201, 0x0202, 0x0203,
                                                              0x0204, 0x0205)
BR_EVENT, BR_CLOSE, GW_HELLO = 0x0301, 0x0302, 0x0101


def proto_frame(msg_type, payload, version=PROTO_VERSION):
    return struct.pack(">IHHII", len(payload), msg_type, version, 0, 0) + payload


def pstr(s):
    raw = s.encode()
    return struct.pack(">I", len(raw)) + raw


def pblob(value):
    return struct.pack(">I", len(value)) + value


def pval_obj(**items):
    """A pval object of string, int and bool values."""
    out = b"{"
    for key, v in items.items():
        out += b"s" + pstr(key)
        if isinstance(v, bool):
            out += b"t" if v else b"f"
        elif isinstance(v, int):
            out += b"i" + struct.pack(">q", v)
        else:
            out += b"s" + pstr(v)
    return out + b"}"


def perror(code, message, details=b""):
    return pstr(code) + pstr(message) + pblob(details) + b"\x02" + struct.pack(">q", 1000)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    upgrade = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1:18789\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               b"Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:18789\r\n"
               b"X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n"
               b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
    write("http", "upgrade", upgrade)
    write("http", "status-page", b"GET /?x=1 HTTP/1.0\r\n\r\n")
    write("http", "post", b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc")
    write("http", "folded", b"GET / HTTP/1.1\r\nHost: h\r\n x\r\n\r\n")
    write("http", "version12", upgrade.replace(b"Version: 13", b"Version: 12"))

    connect = json.dumps(CONNECT).encode()
    write("handshake", "connect", connect)
    bad = json.loads(json.dumps(CONNECT))
    bad["params"]["client"]["id"] = "nope"
    bad["params"]["extra"] = [1, {"a": None}]
    write("handshake", "bad-params", json.dumps(bad).encode())
    write("handshake", "not-connect", b'{"type":"req","id":"2","method":"health"}')
    write("handshake", "not-request", b'{"type":"event","event":"x"}')
    write("handshake", "deep", b"[" * 40 + b"]" * 40)

    write("rpc", "approve", json.dumps({"type": "req", "id": "7", "method": "device.pair.approve",
                                        "params": {"requestId": "r1", "scopes": ["a", "b"]}}).encode())
    write("rpc", "unknown", b'{"type":"req","id":"8","method":"chat.send","params":{"x":1}}')
    write("rpc", "dup-key", b'{"type":"req","id":"9","id":"9","method":"health"}')

    # Frame seeds: the first byte is the chunk size minus one (fuzz_frames.c).
    write("frames", "connect", b"\x07" + frame(1, connect))
    write("frames", "ping-close", b"\xff" + frame(9, b"hi") + frame(8, struct.pack(">H", 1000)))
    write("frames", "fragmented", b"\x02" + frame(1, connect[:10], fin=False) + frame(9, b"")
          + frame(0, connect[10:], fin=False) + frame(0, b"", fin=True))
    write("frames", "bad-utf8", b"\x10" + frame(1, b"\xce\xba\xe1\xbd", fin=False)
          + frame(0, b"\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"))
    write("frames", "rsv-binary", b"\x40" + frame(1, b"x", rsv=4) + frame(2, b"\x00\x01"))
    write("frames", "long", b"\xff" + frame(1, b'"' + b"x" * 70000 + b'"'))

    # Ticket seeds (fuzz_ticket.c): a session's fields laid out as a ticket
    # (proto.h), then link, conn and two bytes picking the bit to flip;
    # device-less and bound.
    fields = struct.pack(">QQI", 0, 1, 0x15) + bytes([0, 1])
    write("ticket", "shared-operator", fields + bytes(32) + bytes(16)
          + struct.pack("<QQ", 3, 7) + bytes([0, 5]))
    bound = struct.pack(">QQI", 9, 1, 0) + bytes([1, 2]) + bytes(range(32))
    write("ticket", "bound-node", bound + bytes(16) + struct.pack("<QQ", 1, 1)
          + bytes([2, 40]))


    # Broker-link seeds (fuzz_brokerlink.c): frames brokerd sends after its hello,
    # one kind per seed and all of them in a row, plus a few it never sends.
    ticket = struct.pack(">QQI", 1, 1, 0x15) + bytes([0, 2]) + bytes(range(32)) + bytes(16)
    link = {
        "challenge": proto_frame(BR_CHALLENGE, struct.pack(">Q", 1) + pstr("n" * 36)
                                 + struct.pack(">q", 1764000000000)),
        "accept": proto_frame(BR_ACCEPT, struct.pack(">Q", 1) + pstr("operator")
                              + struct.pack(">I", 2) + pstr("operator.read")
                              + pstr("operator.pairing") + pstr("device-token")
                              + pstr("a" * 64) + pstr("") + struct.pack(">q", 1764000000000)
                              + pstr("") + b"\x01" + pstr("loopback") + ticket),
        "reject": proto_frame(BR_REJECT, struct.pack(">QH", 2, 1008) + pstr("pairing required")
                              + b"\x01" + perror("NOT_PAIRED", "pairing required",
                                                 pval_obj(requestId="r1"))
                              + pstr("loopback") + pstr("r1") + struct.pack(">I", 250)),
        "rpc-result": proto_frame(BR_RPC_RESULT, struct.pack(">Q", 3) + pstr("7") + b"\x01"
                                  + pblob(pval_obj(ok=True, ts=1)) + perror("", "")),
        "rpc-error": proto_frame(BR_RPC_RESULT, struct.pack(">Q", 3) + pstr("8") + b"\x00"
                                 + pblob(b"") + perror("FORBIDDEN", "missing scope")),
        "event": proto_frame(BR_EVENT, b"\x01" + struct.pack(">Q", 0)
                             + pstr("device.pair.requested")
                             + pblob(pval_obj(requestId="r1", deviceId="a" * 64, ts=5))),
        "close-device": proto_frame(BR_CLOSE, b"\x00" + bytes(range(32)) + b"\x03"
                                    + struct.pack(">QH", 0, 1008) + pstr("device removed")),
        "close-shared": proto_frame(BR_CLOSE, b"\x01" + bytes(32) + b"\x00"
                                    + struct.pack(">QH", 0, 4001) + pstr("gateway auth changed")),
    }
    for name, data in link.items():
        write("brokerlink", name, data)
    write("brokerlink", "all", b"".join(link.values()))
    write("brokerlink", "second-hello", proto_frame(BR_HELLO, pstr("x")))
    write("brokerlink", "gateway-type", proto_frame(GW_HELLO, struct.pack(">II", 1, 0)))
    write("brokerlink", "old-version", proto_frame(BR_CHALLENGE, b"", version=1))


if __name__ == "__main__":
    main()
