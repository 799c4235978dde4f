"""The client side of the OpenClaw connect handshake (doc/protocol.md §2-§3), written
from the spec and independent of clawgate's C code, so that tests exercise the
daemons the way the real `openclaw` CLI and the browser Control UI do.

What is here:
  * Identity: an Ed25519 device identity (device id = SHA-256 hex of the raw public
    key, publicKey base64url without padding).
  * signature_payload(): the v2 (Control UI) / v3 (CLI) strings of §3.2, including
    the token-slot rule; sign_device() fills connect params' `device` from them.
  * cli_params() / control_ui_params(): connect params shaped like the real clients.
  * Connection: a blocking WebSocket client with a timeout on every receive; every
    frame it receives is checked against the §2.1 envelopes (frames.py).
  * handshake(): open, read connect.challenge, sign, send connect, read the `res`.

Debian 12 ships websockets 10.4, which has no synchronous client
(`websockets.sync` arrived in 11.0). So Connection drives websockets' asyncio
client on one background event-loop thread shared by all connections; every
connection stays serviced (close handshakes, pings) while a test waits on another.
"""

import asyncio
import base64
import hashlib
import itertools
import json
import threading
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from websockets.exceptions import ConnectionClosed
from websockets.legacy.client import connect as ws_connect

from . import frames

# Every wait on the network is bounded by this (seconds) unless a test says otherwise.
TIMEOUT = 5.0

CLIENT_VERSION = "2026.9.6"
PROTOCOL_VERSION = 4

# The scopes the Control UI asks for (vector B, in its order).
CONTROL_UI_SCOPES = [
    "operator.admin",
    "operator.read",
    "operator.write",
    "operator.approvals",
    "operator.questions",
    "operator.pairing",
]
# The Control UI sends 12 `caps`; the spec does not list their names and the server
# must not care, so these stand in for them.
CONTROL_UI_CAPS = ["cap-%02d" % i for i in range(1, 13)]


# ---- encodings ----

def b64url_encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """Decodes base64url or standard base64, padded or not (clients differ)."""
    text = text.replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def device_id_for(public_raw):
    return hashlib.sha256(public_raw).hexdigest()


# ---- identity and signatures ----

class Identity:
    """An Ed25519 device identity, like the one the CLI keeps in its state dir."""

    def __init__(self, private_key=None):
        self.private_key = private_key or Ed25519PrivateKey.generate()
        self.public_raw = self.private_key.public_key().public_bytes(
            Encoding.Raw, PublicFormat.Raw)
        self.public_key = b64url_encode(self.public_raw)
        self.device_id = device_id_for(self.public_raw)

    def sign(self, payload):
        return b64url_encode(self.private_key.sign(payload.encode("utf-8")))


def verify_signature(public_key, payload, signature):
    """True iff signature (base64url/base64) is valid for payload under public_key."""
    try:
        Ed25519PublicKey.from_public_bytes(b64url_decode(public_key)).verify(
            b64url_decode(signature), payload.encode("utf-8"))
    except (InvalidSignature, ValueError):
        return False
    return True


def normalize_metadata(value):
    """platformNorm/deviceFamilyNorm: trimmed, ASCII A-Z lower-cased only."""
    if value is None:
        return ""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in value.strip())


def token_slot(auth):
    """The signed token: the first of auth.token, auth.deviceToken, auth.bootstrapToken
    that is present ("" counts); auth.password is never signed."""
    for key in ("token", "deviceToken", "bootstrapToken"):
        if auth and auth.get(key) is not None:
            return auth[key]
    return ""


def signature_payload(version, params, *, device_id, nonce, signed_at):
    """The §3.2 payload string for connect params (as they will be sent)."""
    client = params["client"]
    fields = [
        version,
        device_id,
        client["id"],
        client["mode"],
        params.get("role", "operator"),
        ",".join(params.get("scopes") or []),
        str(signed_at),
        token_slot(params.get("auth")),
        nonce,
    ]
    if version == "v3":
        fields += [normalize_metadata(client.get("platform")),
                   normalize_metadata(client.get("deviceFamily"))]
    elif version != "v2":
        raise ValueError("unknown signature version %r" % version)
    return "|".join(fields)


def sign_device(params, identity, *, nonce, signed_at, version, device_id=None):
    """Adds `device` to params, signed over params as they are now (so set auth,
    scopes and client first). device_id overrides the id that is sent and signed."""
    device_id = device_id or identity.device_id
    payload = signature_payload(version, params, device_id=device_id, nonce=nonce,
                                signed_at=signed_at)
    params["device"] = {
        "id": device_id,
        "publicKey": identity.public_key,
        "signature": identity.sign(payload),
        "signedAt": signed_at,
        "nonce": nonce,
    }
    return params


# ---- connect params as the real clients build them ----

def _auth(token=None, password=None, device_token=None, bootstrap_token=None):
    auth = {}
    for key, value in (("token", token), ("password", password),
                       ("deviceToken", device_token), ("bootstrapToken", bootstrap_token)):
        if value is not None:
            auth[key] = value
    return auth


def cli_params(*, token=None, password=None, device_token=None, scopes=("operator.read",),
               role="operator", client_id="cli", mode="cli", platform="linux",
               device_family="Linux"):
    """The `openclaw` CLI's connect params (vector A's shape); `auth` only if a
    credential is given, as the CLI omits it otherwise."""
    params = {
        "minProtocol": PROTOCOL_VERSION,
        "maxProtocol": PROTOCOL_VERSION,
        "client": {
            "id": client_id,
            "version": CLIENT_VERSION,
            "platform": platform,
            "deviceFamily": device_family,
            "mode": mode,
            "instanceId": str(uuid.uuid4()),
        },
        "caps": [],
    }
    auth = _auth(token=token, password=password, device_token=device_token)
    if auth:
        params["auth"] = auth
    if role is not None:
        params["role"] = role
    if scopes is not None:
        params["scopes"] = list(scopes)
    return params


def control_ui_params(*, token=None, device_token=None, scopes=CONTROL_UI_SCOPES):
    """The browser Control UI's connect params: it sends its secret as both token
    and password (§2.3) and signs v2."""
    params = {
        "minProtocol": PROTOCOL_VERSION,
        "maxProtocol": PROTOCOL_VERSION,
        "client": {
            "id": "openclaw-control-ui",
            "version": CLIENT_VERSION,
            "platform": "Linux x86_64",
            "mode": "webchat",
            "buildId": "clawgate-test-build",
            "timeZone": "UTC",
            "instanceId": str(uuid.uuid4()),
        },
        "role": "operator",
        "scopes": list(scopes),
        "caps": list(CONTROL_UI_CAPS),
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) clawgate-tests",
        "locale": "en-US",
    }
    auth = _auth(token=token, password=token, device_token=device_token)
    if auth:
        params["auth"] = auth
    return params


# ---- the connection ----

class Closed(Exception):
    """The server closed the WebSocket: code 1006 if no close frame arrived."""

    def __init__(self, code, reason):
        super().__init__("connection closed: %d %r" % (code, reason))
        self.code = code
        self.reason = reason


def _closed(exc):
    if exc.rcvd is None:
        return Closed(1006, "")
    return Closed(exc.rcvd.code, exc.rcvd.reason)


class _Loop:
    """One event loop on a daemon thread, shared by all connections."""

    _lock = threading.Lock()
    _loop = None

    @classmethod
    def run(cls, coro, timeout):
        with cls._lock:
            if cls._loop is None:
                cls._loop = asyncio.new_event_loop()
                threading.Thread(target=cls._loop.run_forever, name="clawclient-loop",
                                 daemon=True).start()
        future = asyncio.run_coroutine_threadsafe(coro, cls._loop)
        # The coroutines bound their own waits; this only guards against a hang.
        return future.result(timeout + 5)


_open_connections = set()
_request_ids = itertools.count(1)


class Connection:
    """A blocking WebSocket connection. recv() returns parsed JSON frames; events
    that arrive while waiting for a `res` are kept in .events for wait_event()."""

    def __init__(self, ws, url):
        self._ws = ws
        self.url = url
        self.events = []
        self.challenge = None
        self.response_headers = ws.response_headers
        self.extensions = list(ws.extensions)
        _open_connections.add(self)

    @classmethod
    def open(cls, url, *, origin=None, headers=None, timeout=TIMEOUT, ssl=None):
        """ssl: the context a wss:// URL is verified with (default: the system's)."""
        tls = {} if ssl is None else {"ssl": ssl}

        async def _open():
            # Like real clients: no subprotocol, permessage-deflate offered.
            return await ws_connect(url, origin=origin, extra_headers=headers,
                                    open_timeout=timeout, close_timeout=2,
                                    ping_interval=None, max_size=64 << 20, **tls)
        return cls(_Loop.run(_open(), timeout), url)

    def send_text(self, text, timeout=TIMEOUT):
        """Sends a text frame; raises Closed if the server has closed already."""
        async def _send():
            try:
                await asyncio.wait_for(self._ws.send(text), timeout)
            except ConnectionClosed as exc:
                raise _closed(exc) from None
        _Loop.run(_send(), timeout)

    def send(self, obj, timeout=TIMEOUT):
        self.send_text(json.dumps(obj), timeout)

    def recv_text(self, timeout=TIMEOUT):
        """The next message as text; raises Closed when the server closed, and
        TimeoutError when nothing arrives in time."""
        async def _recv():
            try:
                return await asyncio.wait_for(self._ws.recv(), timeout)
            except ConnectionClosed as exc:
                raise _closed(exc) from None
            except asyncio.TimeoutError:
                raise TimeoutError("no frame from %s within %.1f s" % (self.url, timeout)) \
                    from None
        return _Loop.run(_recv(), timeout)

    def recv(self, timeout=TIMEOUT):
        text = self.recv_text(timeout)
        assert isinstance(text, str), "server sent a binary frame: %r" % (text[:80],)
        frame = json.loads(text)
        frames.check_envelope(frame)
        return frame

    def read_challenge(self, timeout=TIMEOUT):
        frame = self.recv(timeout)
        frames.check_challenge(frame)
        self.challenge = frame["payload"]
        return self.challenge

    def _await_res(self, req_id, timeout):
        while True:
            frame = self.recv(timeout)
            if frame["type"] == "event":
                self.events.append(frame)
                continue
            assert frame["id"] == req_id, \
                "res for id %r while waiting for %r: %r" % (frame["id"], req_id, frame)
            return frame

    def request(self, method, params=None, *, req_id=None, timeout=TIMEOUT):
        """Sends a request frame and returns its `res` frame."""
        req_id = req_id or "%d:%s" % (next(_request_ids), uuid.uuid4())
        frame = {"type": "req", "id": req_id, "method": method}
        if params is not None:
            frame["params"] = params
        self.send(frame, timeout)
        return self._await_res(req_id, timeout)

    def wait_event(self, name, timeout=TIMEOUT):
        """The first event called name (kept or newly arriving); others are kept."""
        for i, frame in enumerate(self.events):
            if frame["event"] == name:
                return self.events.pop(i)
        while True:
            frame = self.recv(timeout)
            assert frame["type"] == "event", "unexpected frame while waiting for %s: %r" % (
                name, frame)
            if frame["event"] == name:
                return frame
            self.events.append(frame)

    def ping(self, timeout=TIMEOUT):
        """Sends a WebSocket ping and waits for the server's pong."""
        async def _ping():
            try:
                waiter = await self._ws.ping(b"clawgate-test")
                await asyncio.wait_for(waiter, timeout)
            except asyncio.TimeoutError:
                raise TimeoutError("no pong from %s within %.1f s" % (self.url, timeout)) \
                    from None
        _Loop.run(_ping(), timeout)

    def expect_close(self, timeout=TIMEOUT):
        """Waits for the server's close and returns (code, reason); fails if any
        other frame arrives first."""
        try:
            frame = self.recv_text(timeout)
        except Closed as closed:
            _open_connections.discard(self)
            return closed.code, closed.reason
        raise AssertionError("expected the server to close, got a frame: %r" % (frame,))

    def close(self):
        _open_connections.discard(self)

        async def _close():
            await self._ws.close()
        try:
            _Loop.run(_close(), TIMEOUT)
        except Exception:  # already closed by the server, or the server is gone
            pass


def close_all():
    """Closes every connection still open (test teardown)."""
    for conn in list(_open_connections):
        conn.close()


# ---- one handshake ----

class Attempt:
    """One connect handshake: the challenge, the params sent and the `res`."""

    def __init__(self, conn, challenge, params, res):
        self.conn = conn
        self.challenge = challenge
        self.params = params
        self.res = res

    @property
    def ok(self):
        return self.res["ok"] is True

    @property
    def hello(self):
        assert self.ok, "connect failed: %r" % (self.res,)
        return self.res["payload"]

    @property
    def error(self):
        assert not self.ok, "connect unexpectedly succeeded: %r" % (self.res,)
        return self.res["error"]

    def expect_close(self, timeout=TIMEOUT):
        return self.conn.expect_close(timeout)

    def close(self):
        self.conn.close()


def handshake(url, params, *, identity=None, version="v3", nonce=None,
              signed_at_offset_ms=0, device_id=None, edit=None, origin=None,
              headers=None, timeout=TIMEOUT, check_hello=True, ssl=None):
    """Opens a connection, reads connect.challenge and sends connect with params.

    With identity, `device` is signed the way real clients do it: over the
    challenge nonce (or `nonce`), with signedAt = challenge ts + signed_at_offset_ms.
    edit(params) runs after signing, to tamper with what is sent. Returns an
    Attempt whose connection is still open (closed by the server on rejection).
    check_hello=False skips hello-ok's shape checks (a relayed hello-ok is the
    upstream's, with members clawgate's own does not have). ssl: a wss:// URL's
    context."""
    conn = Connection.open(url, origin=origin, headers=headers, timeout=timeout, ssl=ssl)
    challenge = conn.read_challenge(timeout)
    params = json.loads(json.dumps(params))     # callers may reuse theirs
    if identity is not None:
        sign_device(params, identity, nonce=challenge["nonce"] if nonce is None else nonce,
                    signed_at=challenge["ts"] + signed_at_offset_ms, version=version,
                    device_id=device_id)
    if edit is not None:
        edit(params)
    res = conn.request("connect", params, timeout=timeout)
    if res["ok"] and check_hello:
        frames.check_hello_ok(res["payload"])
    return Attempt(conn, challenge, params, res)
