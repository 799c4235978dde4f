"""Text a client chose (display name, platform, device family, device id, role,
scopes, request ids, unknown member names) never reaches an admin's terminal or a
log with a control or bidirectional formatting character intact:

* gatewayd refuses such characters where client text enters (clawgate(7), LIMITS):
  INVALID_REQUEST `invalid connect params: at <pointer>: must NOT contain control
  or bidirectional formatting characters`, while the real clients' values and
  ordinary non-ASCII names and emoji pass;
* gatewayctl escapes what a registry written by an older version (or any broker
  answer) holds: `\\x1b`, `\\u009b`, `\\u202e` in tables and messages, JSON escapes
  in --json (still valid JSON meaning the same strings);
* every log line of both daemons is free of them (common/textesc)."""

import json
import socket
import threading

import pytest

from clawgate_test import expect, protolink
from clawgate_test.clawclient import Connection, Identity, cli_params, handshake
from clawgate_test.flows import admin_session, pair_device, request_pairing
from clawgate_test.harness import run_gatewayctl

ESC_NAME = "Kitchen \x1b[31mred\x1b[0m"
C1_NAME = "Desk \u009b2J cleared"
BIDI_NAME = "invoice\u202egpj.exe"
RULE = "must NOT contain control or bidirectional formatting characters"
# What utf8_is_hidden() names: C0, DEL, C1, bidi formatting, line separators.
HIDDEN = ([chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7f, 0xa0)] +
          ["\u061c", "\u200e", "\u200f", "\u2028", "\u2029"] +
          [chr(c) for c in range(0x202a, 0x202f)] + [chr(c) for c in range(0x2066, 0x206a)])


def hidden_in(text):
    """The hidden characters in text, but the newlines that end lines."""
    return sorted({"U+%04X" % ord(c) for c in text if c in HIDDEN and c != "\n"})


def assert_logs_clean(gw):
    for name in ("brokerd", "gatewayd"):
        raw = (gw.root / ("%s.log" % name)).read_bytes()
        text = raw.decode("utf-8")      # a line that is not UTF-8 fails here
        assert hidden_in(text) == [], "%s.log holds %s:\n%s" % (name, hidden_in(text),
                                                                 gw.logs())


# ---- (a) refused where client text enters ----

def _set(path, value):
    def edit(params):
        obj = params
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value
    return edit


@pytest.mark.parametrize("pointer,path", [
    ("/client/displayName", ("client", "displayName")),
    ("/client/platform", ("client", "platform")),
    ("/client/deviceFamily", ("client", "deviceFamily")),
    ("/client/version", ("client", "version")),
    ("/role", ("role",)),
])
@pytest.mark.parametrize("bad", ["\u009b2J", "a\u202eb", "\u2066x\u2069", "a\u200fb",
                                 "\u0085"])
def test_connect_text_with_hidden_characters_is_refused(gateway, pointer, path, bad):
    attempt = handshake(gateway.url, cli_params(token=gateway.token), edit=_set(path, bad))
    expect.rejected(attempt, code="INVALID_REQUEST",
                    message="invalid connect params: at %s: %s" % (pointer, RULE))


def test_scopes_and_device_id_with_hidden_characters_are_refused(gateway):
    attempt = handshake(gateway.url, cli_params(token=gateway.token,
                                                scopes=("operator.read", "x\u202e")))
    expect.rejected(attempt, code="INVALID_REQUEST",
                    message="invalid connect params: at /scopes/1: %s" % RULE)
    attempt = handshake(gateway.url, cli_params(), identity=Identity(),
                        edit=lambda p: p["device"].update(id="\u202e" + p["device"]["id"]))
    expect.rejected(attempt, code="INVALID_REQUEST",
                    message="invalid connect params: at /device/id: %s" % RULE)
    # A C0 control keeps its older, still true, message in secrets (TEXT fields).
    attempt = handshake(gateway.url, cli_params(token="a\x1bb"))
    expect.rejected(attempt, code="INVALID_REQUEST",
                    message="invalid connect params: at /auth/token: must NOT contain "
                            "control characters")
    assert_logs_clean(gateway)


def test_unauthenticated_client_text_is_escaped_in_logs(gateway):
    """client.id is an enum (refused by value); the request id and the names of
    unknown members are free text that reaches the rejection's log line."""
    attempt = handshake(gateway.url, cli_params(client_id="cli\u202e\u009b[31m"))
    expect.rejected(attempt, code="INVALID_REQUEST",
                    message="invalid connect params: at /client/id: must be equal to one of "
                            "the allowed values")
    conn = Connection.open(gateway.url)
    conn.read_challenge()
    params = cli_params()
    params["x\u202ey\u009b"] = 1
    res = conn.request("connect", params, req_id="id\u202e\u009b\u2066")
    assert res["ok"] is False and res["error"]["code"] == "INVALID_REQUEST", res
    assert "unexpected property" in res["error"]["message"], res
    conn.expect_close()
    log = gateway.log_text("gatewayd")
    assert "\\u202e" in log and "\\u009b" in log, "the escapes should be logged:\n%s" % log
    assert_logs_clean(gateway)


def test_real_clients_and_ordinary_names_pass(gateway):
    """Letters of any script and emoji stay allowed in a display name."""
    name = "L\u00e4ptop \u05e9\u05dc\u05d5\u05dd \u2615 \U0001F511"
    identity = Identity()

    def named(params):
        params["client"]["displayName"] = name

    attempt = handshake(gateway.url, cli_params(token=gateway.token), identity=identity,
                        edit=named)
    assert attempt.error["code"] == "NOT_PAIRED", attempt.res
    (pending,) = gateway.devices()["pending"]
    assert pending["displayName"] == name, pending
    listed = gateway.ctl_ok("devices", "list").stdout
    assert name in listed, listed
    assert_logs_clean(gateway)


def test_rename_label_with_hidden_characters_is_refused(gateway):
    identity = Identity()
    pair_device(gateway, identity)
    admin = admin_session(gateway, scopes=("operator.admin",))
    res = admin.request("device.pair.rename", {"deviceId": identity.device_id,
                                               "label": "a\u202eb"})
    assert res["ok"] is False and res["error"]["code"] == "INVALID_REQUEST", res
    assert RULE in res["error"]["message"] and "label" in res["error"]["message"], res
    result = gateway.ctl("devices", "rename", identity.device_id, "a\u202eb")
    assert result.rc == 2 and "bidirectional" in result.stderr, result
    assert gateway.paired_entry(identity.device_id).get("operatorLabel") in (None, ""), \
        gateway.devices()


# ---- (b) printers safe on their own ----

def test_registry_of_an_older_version_is_shown_escaped(gateway):
    """A registry that holds C1 and bidi text (accepted before the charset check)."""
    paired, pending = Identity(), Identity()
    pair_device(gateway, paired)
    request_pairing(gateway, pending)
    gateway.broker.stop()
    gateway.broker = None
    path = gateway.state_dir / "registry.json"
    reg = json.loads(path.read_text())
    for entry in reg["paired"] + reg["pending"]:
        entry["displayName"] = C1_NAME + " " + BIDI_NAME
        entry["platform"] = "linux\u2066"
    path.write_text(json.dumps(reg))
    gateway.start_broker()

    table = gateway.ctl_ok("devices", "list").stdout
    assert hidden_in(table) == [], "raw %s in:\n%s" % (hidden_in(table), table)
    assert "Desk \\u009b2J cleared invoice\\u202egpj.exe" in table, table

    result = gateway.ctl_ok("devices", "list", json_output=True)
    assert hidden_in(result.stdout) == [], result.stdout
    assert "\\u009b" in result.stdout and "\\u202e" in result.stdout, result.stdout
    for entry in result.json["paired"] + result.json["pending"]:
        assert entry["displayName"] == C1_NAME + " " + BIDI_NAME, entry
        assert entry["platform"] == "linux\u2066", entry
    assert_logs_clean(gateway)


class FakeBroker:
    """A control socket answering every command with one CTL_RESULT."""

    def __init__(self, path, result):
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(4)
        self.server.settimeout(10)
        self.result = result
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        for _ in range(4):
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    conn.recv(65536)
                    conn.sendall(protolink.encode(protolink.CTL_RESULT, self.result))
                except OSError:
                    pass

    def close(self):
        self.server.close()
        self.thread.join(10)


DEVICE = {
    "deviceId": "ab" * 32, "displayName": ESC_NAME + " " + C1_NAME + " " + BIDI_NAME,
    "platform": "linux\u202e", "deviceFamily": "Linux\u009b", "clientId": "cli\x1b]0;x\x07",
    "clientMode": "cli", "roles": ["operator"], "scopes": ["operator.read\u202e"],
    "role": "operator", "requestId": "r\u2066", "ts": 0, "lastSeenAtMs": 0,
    "remoteIp": "",
}


@pytest.fixture
def fake_list(tmp_path):
    payload = protolink.pval_encode({"pending": [DEVICE], "paired": [DEVICE]})
    broker = FakeBroker(tmp_path / "control.sock", {"ok": 1, "payload": payload})
    yield tmp_path / "control.sock"
    broker.close()


def test_gatewayctl_table_escapes_what_brokerd_sends(fake_list):
    result = run_gatewayctl("devices", "list", socket_path=fake_list)
    assert result.rc == 0, result
    assert hidden_in(result.stdout) == [], "raw %s in:\n%s" % (hidden_in(result.stdout),
                                                              result.stdout)
    for shown in ("Kitchen \\x1b[31mred\\x1b[0m", "Desk \\u009b2J cleared",
                  "invoice\\u202egpj.exe", "cli\\x1b]0;x\\x07", "operator.read\\u202e",
                  "r\\u2066"):
        assert shown in result.stdout, "%r not in:\n%s" % (shown, result.stdout)


def test_gatewayctl_json_escapes_and_means_the_same(fake_list):
    result = run_gatewayctl("devices", "list", socket_path=fake_list, json_output=True)
    assert result.rc == 0, result
    assert hidden_in(result.stdout) == [], result.stdout
    lower = result.stdout.lower()
    for escape in ("\\u001b[31m", "\\u202e", "\\u009b", "\\u2066"):
        assert escape in lower, "%r not in:\n%s" % (escape, result.stdout)
    assert result.json == {"pending": [DEVICE], "paired": [DEVICE]}, result.json


def test_gatewayctl_escapes_brokerd_messages(tmp_path):
    message = "unknown requestId: x\u202e\u009b"
    broker = FakeBroker(tmp_path / "control.sock", {
        "ok": 0, "code": "INVALID_REQUEST", "message": message})
    try:
        result = run_gatewayctl("devices", "approve", "x", socket_path=tmp_path / "control.sock")
    finally:
        broker.close()
    assert result.rc == 1, result
    assert hidden_in(result.stderr) == [], result.stderr
    assert "unknown requestId: x\\u202e\\u009b" in result.stderr, result.stderr
