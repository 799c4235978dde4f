"""brokerd's internal protocol (proto/proto.h), written again in Python from the
header's description so that tests can talk to gateway.sock as a (fake, possibly
hostile) gatewayd and to control.sock as a fast gatewayctl.

A frame is a 16-byte header (u32 payload length, u16 type, u16 version, u32 id,
u32 flags) and a payload laid out by the type's field list below (the same order as
proto.c's tables). Integers are big-endian; a string is a u32 length and bytes; a
string list a u32 count and strings; a blob a u32 length and a pval value tree;
"bytes:N" exactly N raw bytes (session tickets, raw device ids)."""

import socket
import struct

from .clawclient import cli_params, sign_device

VERSION = 15    # PROTO_VERSION
HDR = struct.Struct(">IHHII")

GW_HELLO, GW_CHALLENGE, GW_CONNECT, GW_RPC, GW_CLOSED = 0x0101, 0x0102, 0x0103, 0x0104, 0x0105
GW_SESSION_CLOSED = 0x0106
GW_REFUSED, GW_UPSTREAM = 0x0107, 0x0108
BR_HELLO, BR_CHALLENGE, BR_ACCEPT, BR_REJECT, BR_RPC_RESULT = (0x0201, 0x0202, 0x0203, 0x0204,
                                                              0x0205)
BR_EVENT, BR_CLOSE, BR_CONFIG = 0x0301, 0x0302, 0x0303
CTL_LIST, CTL_APPROVE, CTL_REJECT, CTL_REMOVE = 0x0401, 0x0402, 0x0403, 0x0404
CTL_TOKEN_GENERATE, CTL_STATUS = 0x0405, 0x0406
CTL_TOKEN_ROTATE, CTL_TOKEN_REVOKE, CTL_RENAME, CTL_AUDIT = 0x0407, 0x0408, 0x0409, 0x040a
CTL_DASHBOARD, CTL_DOCTOR = 0x040b, 0x040c
CTL_RESULT = 0x0501

AUTH_TOKEN = 0x01
AUTH_PASSWORD = 0x02
AUTH_DEVICE_TOKEN = 0x04
# Session tickets (proto.h): offsets gatewayd may read; the broker MACs bytes 0-53
# with the link and the conn.
TICKET_LEN, TICKET_ROLE, TICKET_FLAGS, TICKET_DEVICE, TICKET_MAC = 70, 20, 21, 22, 54
TICKET = "bytes:%d" % TICKET_LEN
CLOSE_TARGET_DEVICE, CLOSE_TARGET_SHARED = 0, 1
RPC_REQUEST_ID, RPC_DEVICE_ID, RPC_ROLE, RPC_LABEL, RPC_SCOPES = 0x01, 0x02, 0x04, 0x08, 0x10

ERROR = [("code", "str"), ("message", "str"), ("details", "blob"), ("retryable", "u8"),
         ("retry_after_ms", "i64")]

LAYOUTS = {
    GW_HELLO: [("pid", "u32"), ("worker", "u32"), ("workers", "u32")],
    GW_CHALLENGE: [("conn", "u64")],
    GW_CLOSED: [("conn", "u64")],
    GW_SESSION_CLOSED: [("conn", "u64"), ("ticket", TICKET)],
    GW_REFUSED: [("kind", "str"), ("addr", "str"), ("peer", "str"), ("code", "u16"),
                 ("reason", "str"), ("client_id", "str"), ("client_mode", "str"),
                 ("device_id", "str"), ("origin", "str"), ("count", "u32")],
    GW_UPSTREAM: [("reachable", "u8"), ("at_ms", "i64"), ("last_ok_ms", "i64"),
                  ("error", "str")],
    GW_CONNECT: [
        ("conn", "u64"), ("peer_ip", "str"), ("proxy_headers", "u8"), ("origin", "str"),
        ("host", "str"), ("min_protocol", "i64"), ("max_protocol", "i64"),
        ("client_id", "str"), ("client_mode", "str"), ("client_version", "str"),
        ("client_platform", "str"), ("client_device_family", "str"),
        ("client_display_name", "str"), ("role", "str"), ("scopes", "strs"),
        ("auth_present", "u8"), ("token", "str"), ("password", "str"),
        ("device_token", "str"), ("bootstrap_token", "str"), ("has_device", "u8"),
        ("device_id", "str"), ("public_key", "str"), ("signature", "str"),
        ("device_nonce", "str"), ("signed_at", "i64"),
    ],
    GW_RPC: [("conn", "u64"), ("ticket", TICKET), ("id", "str"), ("method", "str"), ("params", "u32"),
             ("request_id", "str"), ("device_id", "str"), ("role", "str"), ("label", "str"),
             ("scopes", "strs")],
    BR_HELLO: [("version", "str"), ("port", "u16"), ("bind", "strs"),
               ("tick_interval_ms", "u32"), ("handshake_timeout_ms", "u32"),
               ("max_payload", "u32"), ("max_buffered", "u32"), ("max_preauth_per_ip", "u32"),
               ("trusted_proxies", "strs"), ("allow_real_ip_fallback", "u8"),
               ("tls_enabled", "u8"), ("tls_cert_path", "str"), ("tls_key_path", "str"),
               ("tls_cert_der", "str"), ("tls_key_der", "str"),
               ("ui_root", "str"), ("gatewayctl", "str"), ("relay_addr", "str"),
               ("relay_port", "u16"), ("relay_host", "str"), ("relay_user_header", "str"),
               ("relay_user", "str"), ("relay_required_headers", "strs"),
               ("relay_client_ip_placeholder", "str")],
    BR_CHALLENGE: [("conn", "u64"), ("nonce", "str"), ("ts", "i64")],
    BR_ACCEPT: [("conn", "u64"), ("role", "str"), ("scopes", "strs"), ("method", "str"),
                ("device_id", "str"), ("device_token", "str"), ("issued_at_ms", "i64"),
                ("recovery_scope", "str"), ("flags", "u8"), ("locality", "str"),
                ("ticket", TICKET)],
    BR_REJECT: [("conn", "u64"), ("close_code", "u16"), ("close_reason", "str"),
                ("has_error", "u8")] + ERROR + [("locality", "str"),
                                                ("pairing_request_id", "str"),
                                                ("delay_ms", "u32")],
    BR_RPC_RESULT: [("conn", "u64"), ("id", "str"), ("ok", "u8"), ("payload", "blob")] + ERROR,
    BR_EVENT: [("audience", "u8"), ("event", "str"), ("payload", "blob"),
               ("device", "bytes:32")],
    BR_CLOSE: [("target", "u8"), ("device", "bytes:32"), ("roles", "u8"),
               ("except_conn", "u64"), ("code", "u16"), ("reason", "str")],
    BR_CONFIG: [("trusted_proxies", "strs"), ("allow_real_ip_fallback", "u8"),
                ("gatewayctl", "str"), ("tls_enabled", "u8"), ("tls_cert_path", "str"),
                ("tls_key_path", "str"), ("tls_cert_der", "str"), ("tls_key_der", "str"),
                ("relay_addr", "str"), ("relay_port", "u16"), ("relay_host", "str"),
                ("relay_user_header", "str"), ("relay_user", "str"),
                ("relay_required_headers", "strs"), ("relay_client_ip_placeholder", "str")],
    CTL_LIST: [], CTL_TOKEN_GENERATE: [], CTL_STATUS: [], CTL_AUDIT: [], CTL_DASHBOARD: [],
    CTL_APPROVE: [("id", "str"), ("latest", "u8")],
    CTL_REJECT: [("id", "str"), ("latest", "u8")],
    CTL_REMOVE: [("id", "str"), ("latest", "u8")],
    CTL_DOCTOR: [("id", "str"), ("latest", "u8")],
    CTL_TOKEN_ROTATE: [("device_id", "str"), ("role", "str"), ("label", "str"),
                       ("has_scopes", "u8"), ("scopes", "strs")],
    CTL_TOKEN_REVOKE: [("device_id", "str"), ("role", "str"), ("label", "str"),
                       ("has_scopes", "u8"), ("scopes", "strs")],
    CTL_RENAME: [("device_id", "str"), ("role", "str"), ("label", "str"),
                 ("has_scopes", "u8"), ("scopes", "strs")],
    CTL_RESULT: [("ok", "u8"), ("payload", "blob")] + ERROR,
}

INTS = {"u8": ">B", "u16": ">H", "u32": ">I", "u64": ">Q", "i64": ">q"}


# ---- encoding ----

def _str(value):
    raw = value if isinstance(value, bytes) else value.encode("utf-8")
    return struct.pack(">I", len(raw)) + raw


def encode_payload(msg_type, msg):
    out = b""
    for name, kind in LAYOUTS[msg_type]:
        value = msg.get(name)
        if kind in INTS:
            out += struct.pack(INTS[kind], value or 0)
        elif kind == "str":
            out += _str(value or "")
        elif kind == "strs":
            value = value or []
            out += struct.pack(">I", len(value)) + b"".join(_str(s) for s in value)
        elif kind.startswith("bytes:"):
            n = int(kind[6:])
            out += (value or b"").ljust(n, b"\0")[:n]
        else:
            out += struct.pack(">I", len(value or b"")) + (value or b"")
    return out


def frame(msg_type, payload, req_id=1, version=VERSION, flags=0, length=None):
    """A raw frame; length, version and flags may lie (hostile tests)."""
    return HDR.pack(len(payload) if length is None else length, msg_type, version, req_id,
                    flags) + payload


def encode(msg_type, msg=None, req_id=1):
    return frame(msg_type, encode_payload(msg_type, msg or {}), req_id)


def pval_encode(value):
    """A value tree as proto/pval.c writes it (the payload of a blob field)."""
    if value is None:
        return b"n"
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, int):
        return b"i" + struct.pack(">q", value)
    if isinstance(value, str):
        return b"s" + _str(value)
    if isinstance(value, list):
        return b"[" + b"".join(pval_encode(v) for v in value) + b"]"
    return b"{" + b"".join(pval_encode(k) + pval_encode(v) for k, v in value.items()) + b"}"


# ---- decoding ----

class Cursor:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("short payload")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk


def pval_decode(data):
    cur = Cursor(data)
    value = _pval(cur)
    if cur.pos != len(data):
        raise ValueError("bytes after the pval")
    return value


def _pval(cur):
    tag = cur.take(1)
    if tag == b"n":
        return None
    if tag in (b"t", b"f"):
        return tag == b"t"
    if tag == b"i":
        return struct.unpack(">q", cur.take(8))[0]
    if tag == b"s":
        (n,) = struct.unpack(">I", cur.take(4))
        return cur.take(n).decode("utf-8")
    if tag == b"[":
        items = []
        while cur.data[cur.pos:cur.pos + 1] != b"]":
            items.append(_pval(cur))
        cur.take(1)
        return items
    if tag == b"{":
        obj = {}
        while cur.data[cur.pos:cur.pos + 1] != b"}":
            key = _pval(cur)
            obj[key] = _pval(cur)
        cur.take(1)
        return obj
    raise ValueError("bad pval tag %r" % tag)


def decode_payload(msg_type, data):
    cur = Cursor(data)
    msg = {}
    for name, kind in LAYOUTS[msg_type]:
        if kind in INTS:
            fmt = INTS[kind]
            msg[name] = struct.unpack(fmt, cur.take(struct.calcsize(fmt)))[0]
        elif kind == "str":
            (n,) = struct.unpack(">I", cur.take(4))
            msg[name] = cur.take(n).decode("utf-8")
        elif kind == "strs":
            (count,) = struct.unpack(">I", cur.take(4))
            msg[name] = []
            for _ in range(count):
                (n,) = struct.unpack(">I", cur.take(4))
                msg[name].append(cur.take(n).decode("utf-8"))
        elif kind.startswith("bytes:"):
            msg[name] = cur.take(int(kind[6:]))
        else:
            (n,) = struct.unpack(">I", cur.take(4))
            raw = cur.take(n)
            msg[name] = pval_decode(raw) if n else None
    if cur.pos != len(data):
        raise ValueError("bytes after the fields")
    return msg


# ---- a blocking link ----

class Link:
    """One connection to a broker socket; every receive is bounded by timeout."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.next_id = 1
        self.pushes = []     # (type, message) of the pushes seen while waiting

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, msg_type, msg=None):
        req_id = self.next_id
        self.next_id += 1
        self.send_raw(encode(msg_type, msg, req_id))
        return req_id

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("the broker closed the link")
            buf += chunk
        return buf

    def recv(self):
        """(type, id, decoded message)."""
        length, msg_type, version, req_id, flags = HDR.unpack(self._exact(HDR.size))
        assert version == VERSION and flags == 0, (version, flags)
        return msg_type, req_id, decode_payload(msg_type, self._exact(length))

    def recv_answer(self, req_id):
        """The answer to req_id; pushes that arrive before it are collected."""
        while True:
            msg_type, got_id, msg = self.recv()
            if msg_type in (BR_EVENT, BR_CLOSE, BR_CONFIG) and got_id == 0:
                self.pushes.append((msg_type, msg))
                continue
            assert got_id == req_id, "answer for id %d, want %d: %r" % (got_id, req_id, msg)
            return msg_type, msg

    def call(self, msg_type, msg=None):
        return self.recv_answer(self.send(msg_type, msg))

    def eof(self, timeout=5.0):
        """True iff the broker closes the link (reading and dropping anything else)
        within timeout."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        return True


class Control:
    """control.sock: commands answered by CTL_RESULT, each on a connection of its
    own as gatewayctl sends them (brokerd answers one command and closes)."""

    def __init__(self, path, timeout=10.0):
        self.path, self.timeout = path, timeout
        # Connecting now raises as a Link would (ConnectionRefusedError) while
        # brokerd is not accepting yet.
        Link(path, timeout).close()

    def close(self):
        pass

    def call(self, msg_type, msg=None):
        link = Link(self.path, self.timeout)
        try:
            return link.call(msg_type, msg)
        finally:
            link.close()

    def command(self, msg_type, msg=None):
        """The payload of an ok answer, or raises CommandFailed with the error."""
        answer_type, res = self.call(msg_type, msg)
        assert answer_type == CTL_RESULT, answer_type
        if not res["ok"]:
            raise CommandFailed(res["code"], res["message"])
        return res["payload"]


class CommandFailed(Exception):
    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


class FakeGateway(Link):
    """gateway.sock as gatewayd speaks it (proto/proto.h)."""

    def __init__(self, path, timeout=10.0):
        super().__init__(path, timeout)
        self.next_conn = 1

    def hello(self, worker=0, workers=64):
        """workers: as many as gatewayd may run, so that any number of fake links
        (up to brokerd's cap) may say hello."""
        answer_type, settings = self.call(GW_HELLO, {"pid": 4242, "worker": worker,
                                                     "workers": workers})
        assert answer_type == BR_HELLO, answer_type
        return settings

    def challenge(self, conn=None):
        if conn is None:
            conn = self.next_conn
            self.next_conn += 1
        answer_type, ch = self.call(GW_CHALLENGE, {"conn": conn})
        assert answer_type == BR_CHALLENGE and ch["conn"] == conn, (answer_type, ch)
        return ch

    def connect(self, msg):
        return self.call(GW_CONNECT, msg)


def connect_msg(conn, params, *, peer_ip="127.0.0.1"):
    """GW_CONNECT for OpenClaw connect params (as clawclient builds and signs them)."""
    client = params["client"]
    auth = params.get("auth") or {}
    device = params.get("device")
    present = ((AUTH_TOKEN if "token" in auth else 0) |
               (AUTH_PASSWORD if "password" in auth else 0) |
               (AUTH_DEVICE_TOKEN if "deviceToken" in auth else 0))
    msg = {
        "conn": conn, "peer_ip": peer_ip, "host": "127.0.0.1:18789",
        "min_protocol": params["minProtocol"], "max_protocol": params["maxProtocol"],
        "client_id": client["id"], "client_mode": client["mode"],
        "client_version": client["version"], "client_platform": client.get("platform", ""),
        "client_device_family": client.get("deviceFamily", ""),
        "role": params.get("role", ""), "scopes": params.get("scopes", []),
        "auth_present": present, "token": auth.get("token", ""),
        "password": auth.get("password", ""), "device_token": auth.get("deviceToken", ""),
    }
    if device:
        msg.update(has_device=1, device_id=device["id"], public_key=device["publicKey"],
                   signature=device["signature"], device_nonce=device["nonce"],
                   signed_at=device["signedAt"])
    return msg


def device_connect(gw, identity, *, token, peer_ip="127.0.0.1", scopes=("operator.read",),
                   device_token=None):
    """One signed device connect over a fake gateway link: (answer type, message)."""
    ch = gw.challenge()
    if device_token is not None:
        params = cli_params(device_token=device_token, scopes=scopes)
    else:
        params = cli_params(token=token, scopes=scopes)
    sign_device(params, identity, nonce=ch["nonce"], signed_at=ch["ts"], version="v3")
    return gw.connect(connect_msg(ch["conn"], params, peer_ip=peer_ip))
