#!/usr/bin/python3
"""Writes the seed corpus in corpus/<target>/: a few valid and a few broken
inputs per fuzz target, so that libFuzzer starts from the interesting shapes.
Run it with Debian's python3 and the test package on its path (the gateway
link seeds are encoded by the test harness's protolink.py):
    PYTHONPATH=tests/lib /usr/bin/python3 tests/fuzz/make_seeds.py
The seeds are committed; this script documents them."""
import json
import os
import struct

from clawgate_test import protolink as pl
from clawgate_test.clawclient import cli_params

HERE = os.path.dirname(os.path.abspath(__file__))

# fuzz_gwlink.c's shared token.
GWLINK_TOKEN = "fuzz-shared-token-0123456789"
ZERO_TICKET = bytes(pl.TICKET_LEN)  # fuzz_gwlink.c splices in the last accepted one

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

    gwlink_seeds()


def rpc(method, req_id, **params):
    """GW_RPC of the last accepted session (its conn and ticket spliced in)."""
    bits = {"request_id": pl.RPC_REQUEST_ID, "device_id": pl.RPC_DEVICE_ID,
            "role": pl.RPC_ROLE, "label": pl.RPC_LABEL, "scopes": pl.RPC_SCOPES}
    msg = {"conn": 0, "ticket": ZERO_TICKET, "id": str(req_id), "method": method,
           "params": sum(bits[k] for k in params)}
    msg.update(params)
    return pl.encode(pl.GW_RPC, msg, req_id)


def gwlink_seeds():
    """Frame streams a gatewayd sends on gateway.sock (fuzz_gwlink.c)."""
    hello = pl.encode(pl.GW_HELLO, {"pid": 4242, "worker": 0, "workers": 64})
    admin = cli_params(token=GWLINK_TOKEN, scopes=("operator.admin", "operator.pairing",
                                                   "operator.read"))
    session = (hello + pl.encode(pl.GW_CHALLENGE, {"conn": 1}, 2)
               + pl.encode(pl.GW_CONNECT, pl.connect_msg(1, admin), 3))
    device = "ab" * 32
    write("gwlink", "admin-session-rpcs", session
          + rpc("health", 4) + rpc("status", 5) + rpc("device.pair.list", 6)
          + rpc("device.pair.approve", 7, request_id="0b7c5d1e-1111-4222-8333-444455556666")
          + rpc("device.pair.rename", 8, device_id=device, label="Kitchen laptop")
          + rpc("device.token.rotate", 9, device_id=device, role="operator",
                scopes=["operator.read"])
          + rpc("device.token.revoke", 10, device_id=device, role="node")
          + rpc("device.pair.remove", 11, device_id=device)
          + rpc("chat.send", 12)
          + pl.encode(pl.GW_SESSION_CLOSED, {"conn": 0, "ticket": ZERO_TICKET}, 13))
    refused = {"kind": "PROXY_UNTRUSTED", "addr": "192.0.2.1", "peer": "", "code": 403,
               "reason": "proxy client attribution is required", "client_id": "cli",
               "client_mode": "cli", "device_id": device, "origin": "", "count": 3}
    write("gwlink", "gateway-reports", hello + pl.encode(pl.GW_REFUSED, refused, 2)
          + pl.encode(pl.GW_REFUSED, dict(refused, kind="BAD_UPGRADE", code=400), 3)
          + pl.encode(pl.GW_UPSTREAM, {"reachable": 0, "at_ms": 1764000000000,
                                       "last_ok_ms": 0, "error": "Connection refused"}, 4))
    write("gwlink", "wrong-token", hello + pl.encode(pl.GW_CHALLENGE, {"conn": 7}, 2)
          + pl.encode(pl.GW_CONNECT, pl.connect_msg(7, cli_params(token="wrong")), 3)
          + pl.encode(pl.GW_CLOSED, {"conn": 7}, 4))
    unsigned = cli_params(token=GWLINK_TOKEN)
    unsigned["device"] = {"id": device, "publicKey": "b" * 43, "signature": "c" * 86,
                          "signedAt": 1764000000000,
                          "nonce": "0b7c5d1e-1111-4222-8333-444455556666"}
    write("gwlink", "device-connect", hello + pl.encode(pl.GW_CHALLENGE, {"conn": 3}, 2)
          + pl.encode(pl.GW_CONNECT, pl.connect_msg(3, unsigned, peer_ip="192.0.2.1"), 3))
    write("gwlink", "challenge-before-hello", pl.encode(pl.GW_CHALLENGE, {"conn": 1}))
    write("gwlink", "forged-ticket", hello + pl.encode(pl.GW_RPC, {
        "conn": 5, "ticket": b"\x01" * pl.TICKET_LEN, "id": "1", "method": "health"}, 2))
    write("gwlink", "bad-version", pl.frame(pl.GW_HELLO, struct.pack(">II", 1, 0),
                                            version=pl.VERSION + 1))


    # Broker-link seeds (fuzz_brokerlink.c): frames brokerd sends after its hello,
    # one kind per seed and all of them in a row, plus a few it never sends.
    ticket = struct.pack(">QQI", 1, 1, 0x15) + bytes([0, 2]) + bytes(range(32)) + bytes(16)
    error = {"code": "", "message": "", "details": b"", "retryable": 0, "retry_after_ms": 0}
    link = {
        "challenge": pl.encode(pl.BR_CHALLENGE, {"conn": 1, "nonce": "n" * 36,
                                                 "ts": 1764000000000}),
        "accept": pl.encode(pl.BR_ACCEPT, {
            "conn": 1, "role": "operator", "scopes": ["operator.read", "operator.pairing"],
            "method": "device-token", "device_id": "a" * 64, "issued_at_ms": 1764000000000,
            "flags": 1, "locality": "loopback", "ticket": ticket}),
        "reject": pl.encode(pl.BR_REJECT, {
            "conn": 2, "close_code": 1008, "close_reason": "pairing required", "has_error": 1,
            "code": "NOT_PAIRED", "message": "pairing required",
            "details": pl.pval_encode({"requestId": "r1"}), "retryable": 2,
            "retry_after_ms": 1000, "locality": "loopback", "pairing_request_id": "r1",
            "delay_ms": 250}),
        "rpc-result": pl.encode(pl.BR_RPC_RESULT, dict(
            error, conn=3, id="7", ok=1, payload=pl.pval_encode({"ok": True, "ts": 1}))),
        "rpc-error": pl.encode(pl.BR_RPC_RESULT, dict(
            error, conn=3, id="8", ok=0, code="FORBIDDEN", message="missing scope")),
        "event": pl.encode(pl.BR_EVENT, {
            "audience": 1, "event": "device.pair.requested",
            "payload": pl.pval_encode({"requestId": "r1", "deviceId": "a" * 64, "ts": 5}),
            "device": bytes.fromhex("a" * 64)}),
        "close-device": pl.encode(pl.BR_CLOSE, {
            "target": pl.CLOSE_TARGET_DEVICE, "device": bytes(range(32)), "roles": 3,
            "code": 1008, "reason": "device removed"}),
        "close-shared": pl.encode(pl.BR_CLOSE, {
            "target": pl.CLOSE_TARGET_SHARED, "code": 4001, "reason": "gateway auth changed"}),
        "config": pl.encode(pl.BR_CONFIG, {
            "trusted_proxies": ["10.0.0.0/8", "::1"], "allow_real_ip_fallback": 1,
            "gatewayctl": "gatewayctl --socket /run/clawgate/control.sock"}),
        # TLS files and a relay, which the fuzzed gatewayd (no TLS, no relay)
        # keeps for its restart: it reads no file.
        "config-tls-relay": pl.encode(pl.BR_CONFIG, {
            "gatewayctl": "gatewayctl", "tls_enabled": 1,
            "tls_cert_path": "/etc/clawgate/cert.pem", "tls_key_path": "/etc/clawgate/key.pem",
            "relay_addr": "127.0.0.1", "relay_port": 28811, "relay_host": "127.0.0.1:28811",
            "relay_user_header": "x-clawgate-user", "relay_user": "clawgate",
            "relay_required_headers": ["x-clawgate-relay"],
            "relay_client_ip_placeholder": "192.0.2.1"}),
        "config-tls-generated": pl.encode(pl.BR_CONFIG, {
            "gatewayctl": "gatewayctl", "tls_enabled": 1, "tls_cert_der": "AAAA",
            "tls_key_der": "AAAA"}),
    }
    for name, data in link.items():
        write("brokerlink", name, data)
    write("brokerlink", "all", b"".join(link.values()))
    write("brokerlink", "second-hello", pl.encode(pl.BR_HELLO, {"version": "x"}))
    write("brokerlink", "gateway-type", pl.encode(pl.GW_HELLO, {"pid": 1}))
    write("brokerlink", "old-version", pl.frame(pl.BR_CHALLENGE, b"", version=1))


# fuzz_upstream.c's accept: that of RFC 6455 §1.3's key.
UPSTREAM_ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def upstream_seeds():
    """The upstream's upgrade answers, and frames the relay peeks into or edits."""
    ok = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + UPSTREAM_ACCEPT + b"\r\n\r\n")
    write("upstream", "switching", ok + b"\x81\x02{}")
    write("upstream", "forbidden", b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\n"
          b"Content-Type: application/json\r\n\r\n{\"error\":{}}")
    write("upstream", "wrong-accept", ok.replace(b"s3pP", b"AAAA"))
    write("upstream", "extension", ok[:-2] + b"Sec-WebSocket-Extensions: x\r\n\r\n")
    write("upstream", "lf-only", ok.replace(b"\r\n", b"\n"))
    write("upstream", "connect", json.dumps(CONNECT).encode())
    write("upstream", "hello-ok", json.dumps({
        "type": "res", "id": "1", "ok": True, "payload": {
            "type": "hello-ok", "protocol": 4, "features": {"methods": ["health"]},
            "auth": {"method": "trusted-proxy", "role": "operator", "scopes": []},
            "policy": {"maxPayload": 26214400}}}).encode())
    write("upstream", "event", b'{"type":"event","event":"device.pair.requested",'
          b'"event":"tick","payload":{"ts":1.5e12},"seq":3}')
    # The peek's one scan against yajl: names twice, escapes it leaves to
    # yajl, strings with quotes and backslashes, nesting, odd whitespace.
    write("upstream", "peek-twice", b'{"type":"req","method":"health","id":"1",'
          b'"method":"device.pair.approve","ok":true,"ok":[],"id":7}')
    write("upstream", "peek-escapes", b'{"type":"req","m\\u0065thod":'
          b'"device\\u002epair.approve","id":"a\\"b","params":{"s":"\\\\","t":"x\\"}"}}')
    write("upstream", "peek-nested", b'{"type":"event","event":"chat","payload":'
          b'{"type":"res","a":[[{"method":"x"}],{}],"b":[true,null,-0.5E+3]},"seq":3}')
    write("upstream", "peek-lenient", b'{"type":"req","id":"1","method":"chat.send",'
          b'"params":{"text":"\xff\\q\\u12x\x01","n":[-1.5e3]},"x":"\t"}')
    write("upstream", "peek-space", b' \t{ "type" :\v"res" ,\r\n"ok"\f: true }\n\v')


if __name__ == "__main__":
    main()
    upstream_seeds()
