"""Shape checks for what the server sends (doc/protocol.md §2): the closed envelopes,
connect.challenge, the error object and hello-ok. Each check raises AssertionError
listing every problem it found, with the frame, so one failure explains itself."""

import re

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")

ERROR_CODES = {"NOT_PAIRED", "INVALID_REQUEST", "FORBIDDEN", "UNAVAILABLE",
               "APPROVAL_NOT_FOUND", "NOT_LINKED", "AGENT_TIMEOUT"}
AUTH_METHODS = {"none", "token", "password", "tailscale", "device-token", "bootstrap-token",
                "trusted-proxy"}

# The methods clawgate serves (hello-ok must list every one of them).
IMPLEMENTED_METHODS = {"health", "status", "device.pair.list", "device.pair.approve",
                       "device.pair.reject", "device.pair.remove", "device.pair.rename",
                       "device.token.rotate", "device.token.revoke"}
ADVERTISED_EVENTS = {"tick", "device.pair.requested", "device.pair.resolved",
                     "device.pair.changed"}

MAX_PAYLOAD = 26214400
MAX_BUFFERED_BYTES = 52428800
TICK_INTERVAL_MS = 30000


class _Problems:
    def __init__(self, what, value):
        self.what = what
        self.value = value
        self.items = []

    def add(self, text):
        self.items.append(text)

    def check(self, ok, text):
        if not ok:
            self.add(text)

    def closed(self, obj, where, required, optional=()):
        """obj is a dict with every required key and nothing but required+optional."""
        if not isinstance(obj, dict):
            self.add("%s is not an object: %r" % (where, obj))
            return False
        for key in required:
            self.check(key in obj, "%s lacks required member %r" % (where, key))
        for key in obj:
            self.check(key in required or key in optional,
                       "%s has unexpected member %r (closed object)" % (where, key))
        return True

    def raise_if_any(self):
        if self.items:
            raise AssertionError("%s is not valid:\n  - %s\n%r" % (
                self.what, "\n  - ".join(self.items), self.value))


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _str_list(p, v, where):
    ok = isinstance(v, list) and all(isinstance(s, str) and s for s in v)
    p.check(ok, "%s must be an array of non-empty strings: %r" % (where, v))
    return ok


def check_envelope(frame):
    """§2.1: a server frame is a closed `res` or `event` object."""
    p = _Problems("frame", frame)
    if not isinstance(frame, dict):
        p.add("not a JSON object")
    elif frame.get("type") == "res":
        p.closed(frame, "res", ("type", "id", "ok"), ("payload", "error"))
        p.check(isinstance(frame.get("id"), str) and frame.get("id"), "res.id non-empty string")
        p.check(isinstance(frame.get("ok"), bool), "res.ok must be a boolean")
        if frame.get("ok") is True:
            p.check("error" not in frame, "ok res carries an error")
        elif frame.get("ok") is False:
            p.check("error" in frame, "failed res lacks error")
            if "error" in frame:
                _error(p, frame["error"])
    elif frame.get("type") == "event":
        p.closed(frame, "event", ("type", "event"),
                 ("payload", "seq", "stateVersion", "recipientProfileId"))
        p.check(isinstance(frame.get("event"), str) and frame.get("event"),
                "event name non-empty string")
        if "seq" in frame:
            p.check(is_int(frame["seq"]) and frame["seq"] >= 0, "seq must be an int >= 0")
    else:
        p.add("type must be res or event, got %r" % (frame.get("type"),))
    p.raise_if_any()


def _error(p, err):
    if not p.closed(err, "error", ("code", "message"),
                    ("details", "retryable", "retryAfterMs")):
        return
    p.check(err.get("code") in ERROR_CODES, "unknown error.code %r" % (err.get("code"),))
    p.check(isinstance(err.get("message"), str) and err.get("message"),
            "error.message non-empty string")
    if "retryable" in err:
        p.check(isinstance(err["retryable"], bool), "error.retryable must be a boolean")
    if "retryAfterMs" in err:
        p.check(is_int(err["retryAfterMs"]) and err["retryAfterMs"] >= 0,
                "error.retryAfterMs must be an int >= 0")


def check_challenge(frame):
    """§2.2: the first frame, a connect.challenge event with a fresh UUID v4 nonce."""
    p = _Problems("connect.challenge", frame)
    p.check(frame.get("type") == "event" and frame.get("event") == "connect.challenge",
            "first frame must be the connect.challenge event")
    p.check("seq" not in frame, "connect.challenge carries no seq")
    payload = frame.get("payload")
    if p.closed(payload, "payload", ("nonce", "ts"), ("capabilities",)):
        p.check(isinstance(payload.get("nonce"), str) and UUID4_RE.match(payload["nonce"]),
                "nonce must be a lower-case UUID v4: %r" % (payload.get("nonce"),))
        p.check(is_int(payload.get("ts")), "ts must be an integer (ms)")
        if "capabilities" in payload:
            _str_list(p, payload["capabilities"], "capabilities")
    p.raise_if_any()


def check_hello_ok(hello, methods=IMPLEMENTED_METHODS):
    """§2.4: hello-ok is a closed object with the required members and policy values;
    features.methods lists exactly what is implemented."""
    p = _Problems("hello-ok", hello)
    if not p.closed(hello, "hello-ok",
                    ("type", "protocol", "server", "features", "snapshot", "auth", "policy"),
                    ("controlUiUrl",)):
        p.raise_if_any()
    p.check(hello.get("type") == "hello-ok", "type must be hello-ok")
    p.check(is_int(hello.get("protocol")) and hello.get("protocol") == 4, "protocol must be 4")

    server = hello.get("server")
    if p.closed(server, "server", ("version", "connId"),
                ("buildId", "bootId", "controlUiBuildSource")):
        p.check(isinstance(server.get("version"), str) and server.get("version"),
                "server.version non-empty string")
        p.check(isinstance(server.get("connId"), str) and UUID_RE.match(server["connId"]),
                "server.connId must be a UUID: %r" % (server.get("connId"),))
        for key in ("buildId", "bootId"):
            if key in server:
                p.check(isinstance(server[key], str) and 1 <= len(server[key]) <= 96,
                        "server.%s must be 1-96 chars" % key)
        if "controlUiBuildSource" in server:
            p.check(server["controlUiBuildSource"] in ("bundled", "configured"),
                    "server.controlUiBuildSource")

    features = hello.get("features")
    if p.closed(features, "features", ("methods", "events"), ("capabilities",)):
        if _str_list(p, features.get("methods"), "features.methods"):
            listed = set(features["methods"])
            p.check(len(listed) == len(features["methods"]), "features.methods has duplicates")
            p.check(listed == set(methods),
                    "features.methods must list exactly the implemented methods: missing %s, "
                    "extra %s" % (sorted(set(methods) - listed), sorted(listed - set(methods))))
        if _str_list(p, features.get("events"), "features.events"):
            p.check(ADVERTISED_EVENTS <= set(features["events"]),
                    "features.events lacks %s" % sorted(ADVERTISED_EVENTS -
                                                        set(features["events"])))

    snapshot = hello.get("snapshot")
    if isinstance(snapshot, dict):
        for key in ("presence", "health", "stateVersion", "uptimeMs"):
            p.check(key in snapshot, "snapshot lacks %r" % key)
        p.check(isinstance(snapshot.get("presence"), list), "snapshot.presence array")
        p.check(isinstance(snapshot.get("health"), dict), "snapshot.health object")
        sv = snapshot.get("stateVersion")
        if p.closed(sv, "snapshot.stateVersion", ("presence", "health")):
            p.check(is_int(sv.get("presence")) and is_int(sv.get("health")),
                    "stateVersion members are integers")
        p.check(is_int(snapshot.get("uptimeMs")) and snapshot.get("uptimeMs") >= 0,
                "snapshot.uptimeMs int >= 0")
    else:
        p.add("snapshot must be an object")

    auth = hello.get("auth")
    if p.closed(auth, "auth", ("role", "scopes"),
                ("method", "deviceToken", "issuedAtMs", "deviceTokens", "recoveryScope",
                 "recoveryMigrationAllowed")):
        p.check(auth.get("role") in ("operator", "node"), "auth.role %r" % (auth.get("role"),))
        p.check(isinstance(auth.get("scopes"), list) and
                all(isinstance(s, str) for s in auth["scopes"]), "auth.scopes string array")
        if "method" in auth:
            p.check(auth["method"] in AUTH_METHODS, "auth.method %r" % (auth["method"],))
        if "deviceToken" in auth:
            p.check(isinstance(auth["deviceToken"], str) and TOKEN_RE.match(auth["deviceToken"]),
                    "auth.deviceToken must be 43 base64url chars")
            p.check(is_int(auth.get("issuedAtMs")), "auth.issuedAtMs comes with deviceToken")
        if "recoveryScope" in auth:
            p.check(isinstance(auth["recoveryScope"], str) and auth["recoveryScope"],
                    "auth.recoveryScope non-empty string")
        if "recoveryMigrationAllowed" in auth:
            p.check(auth["recoveryMigrationAllowed"] is True,
                    "auth.recoveryMigrationAllowed is the literal true")

    policy = hello.get("policy")
    if isinstance(policy, dict):
        for key, want in (("maxPayload", MAX_PAYLOAD), ("maxBufferedBytes", MAX_BUFFERED_BYTES),
                          ("tickIntervalMs", TICK_INTERVAL_MS)):
            p.check(is_int(policy.get(key)) and policy.get(key) == want,
                    "policy.%s must be %d, got %r" % (key, want, policy.get(key)))
    else:
        p.add("policy must be an object")
    p.raise_if_any()
