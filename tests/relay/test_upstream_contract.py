"""The contract relay mode relies on, checked against the real OpenClaw gateway (npm
openclaw 2026.9.6) in trusted-proxy mode, driven directly as a relay would drive it:
a relay's upgrade headers, a connect without `device` and `auth`, then ordinary
requests and a chat turn answered by the loopback model server. doc/relay.md, "The
upstream as observed", describes what these tests pin down."""

import json
import re
import time
import uuid

from clawgate_test import clawclient, rawws
from clawgate_test.modelserver import ANSWER
from clawgate_test.upstream import (ALL_SCOPES, PLACEHOLDER_CLIENT, connect, recv,
                                    relay_headers, relay_params, request)

UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# A chat turn on a busy 2-core machine: workspace, context, one model call.
CHAT_TIMEOUT = 120.0


def _hello(upstream, headers, params=None, **kwargs):
    conn, _, res = connect(upstream, headers, params, **kwargs)
    assert res["ok"] is True, "relayed connect refused: %r" % (res,)
    return conn, res["payload"]


def _refused(upstream, headers, params=None, **kwargs):
    """(the error of a refused connect, the close code, the close reason)."""
    conn, _, res = connect(upstream, headers, params, **kwargs)
    assert res["ok"] is False, "connect unexpectedly accepted: %r" % (res,)
    code, reason = conn.expect_close()
    return res["error"], code, reason


DEVICE_IDENTITY_REQUIRED = {"code": "NOT_PAIRED", "message": "device identity required",
                            "details": {"code": "DEVICE_IDENTITY_REQUIRED"}}


def test_the_first_frame_is_a_challenge_with_the_model_catalog_capability(upstream):
    conn = clawclient.Connection.open(upstream.url, headers=relay_headers(upstream))
    try:
        frame = recv(conn)
    finally:
        conn.close()
    assert set(frame) == {"type", "event", "payload"}, frame
    assert frame["type"] == "event" and frame["event"] == "connect.challenge", frame
    payload = frame["payload"]
    assert set(payload) == {"nonce", "ts", "capabilities"}, payload
    assert UUID4_RE.match(payload["nonce"]), payload
    assert isinstance(payload["ts"], int) and payload["ts"] > 0, payload
    assert payload["capabilities"] == ["model-catalog-snapshot"], payload


def test_a_relayed_connect_without_device_and_auth_gets_the_scopes_of_the_header(upstream):
    approved = ["operator.read", "operator.write"]
    # The frame asks for admin: for a device-less session only the header counts.
    conn, hello = _hello(upstream, relay_headers(upstream, scopes=approved),
                         relay_params(scopes=["operator.admin"]))
    conn.close()
    assert hello["type"] == "hello-ok" and hello["protocol"] == 4, hello
    auth = hello["auth"]
    assert set(auth) == {"method", "role", "scopes", "recoveryScope"}, auth
    assert auth["method"] == "trusted-proxy" and auth["role"] == "operator", auth
    assert auth["scopes"] == approved, auth
    assert hello["server"]["version"] == "2026.9.6" and UUID4_RE.match(hello["server"]["connId"])
    assert hello["policy"]["tickIntervalMs"] == 30000, hello["policy"]
    assert hello["policy"]["maxPayload"] == 26214400, hello["policy"]
    methods = hello["features"]["methods"]
    assert len(methods) > 400 and {"health", "sessions.list", "config.get", "chat.send",
                                   "device.pair.list", "device.token.rotate"} <= set(methods)
    # Members a clawgate hello-ok does not have, which a relay passes on or rewrites.
    assert {"pluginSurfaceUrls", "controlUiWidgetKinds", "controlUiLinkReaders"} <= set(hello)
    assert "authMode" not in hello["snapshot"], hello["snapshot"].keys()


def test_without_the_scopes_header_the_session_gets_the_whole_ceiling(upstream):
    conn, hello = _hello(upstream, relay_headers(upstream))
    conn.close()
    assert hello["auth"]["scopes"] == list(ALL_SCOPES), hello["auth"]
    # An admin session's snapshot names the upstream's auth mode.
    assert hello["snapshot"]["authMode"] == "trusted-proxy", hello["snapshot"].keys()


def test_the_scopes_header_is_a_filter(upstream):
    conn, hello = _hello(upstream, relay_headers(upstream, scopes=[]))
    conn.close()
    assert hello["auth"]["scopes"] == [], hello["auth"]
    conn, hello = _hello(upstream, relay_headers(upstream,
                                                 scopes=["operator.read", "no.such.scope"]))
    conn.close()
    assert hello["auth"]["scopes"] == ["operator.read"], hello["auth"]


def test_without_the_user_header_the_connect_is_refused(upstream):
    error, code, reason = _refused(upstream, relay_headers(upstream,
                                                           omit=[upstream.user_header]))
    assert error == DEVICE_IDENTITY_REQUIRED
    assert (code, reason) == (1008, "device identity required")


def test_without_a_required_header_the_connect_is_refused(upstream):
    for header in upstream.required_headers:
        error, code, _ = _refused(upstream, relay_headers(upstream, omit=[header]))
        assert error == DEVICE_IDENTITY_REQUIRED and code == 1008
        blank = relay_headers(upstream, omit=[header], extra=[(header, " ")])
        error, code, _ = _refused(upstream, blank)
        assert error == DEVICE_IDENTITY_REQUIRED and code == 1008


def test_a_user_outside_allow_users_is_refused(upstream):
    error, code, _ = _refused(upstream, relay_headers(upstream, user="mallory"))
    assert error == DEVICE_IDENTITY_REQUIRED and code == 1008


def test_without_forwarded_for_the_connect_is_refused(upstream):
    error, code, _ = _refused(upstream, relay_headers(upstream, forwarded_for=None))
    assert error == DEVICE_IDENTITY_REQUIRED and code == 1008


def _raw_upgrade_status(upstream, forwarded_for):
    extra = "".join("%s: %s\r\n" % pair for pair in
                    relay_headers(upstream, forwarded_for=forwarded_for)).encode()
    ws = rawws.RawWS(upstream.port, extra_headers=extra)
    try:
        return ws.status, ws.head, ws.buf
    finally:
        ws.close()


def test_a_loopback_forwarded_for_gets_http_403(upstream):
    for address in ("127.0.0.1", "::1"):
        status, head, body = _raw_upgrade_status(upstream, address)
        assert status == 403, head
        assert json.loads(body)["error"]["type"] == "proxy_attribution_required", body
    # The right-most entry is the trusted proxy: the client is the one before it.
    status, head, _ = _raw_upgrade_status(upstream, "%s, 127.0.0.1" % PLACEHOLDER_CLIENT)
    assert status == 101, head


def test_a_node_cannot_be_relayed(upstream):
    params = relay_params(role="node", client_id="node-host", mode="node", scopes=[])
    error, code, _ = _refused(upstream, relay_headers(upstream), params)
    assert error == DEVICE_IDENTITY_REQUIRED and code == 1008


def test_the_control_ui_needs_an_allowed_origin(upstream):
    params = clawclient.control_ui_params()
    assert "auth" not in params and "device" not in params
    conn, hello = _hello(upstream, relay_headers(upstream), params,
                         origin=upstream.allowed_origins[0])
    conn.close()
    assert hello["auth"]["method"] == "trusted-proxy"
    for origin, reason in (("https://other.example", "origin not allowed"),
                           (None, "origin missing or invalid")):
        error, code, _ = _refused(upstream, relay_headers(upstream), params, origin=origin)
        assert error["code"] == "INVALID_REQUEST" and code == 1008, error
        assert error["details"] == {"code": "CONTROL_UI_ORIGIN_NOT_ALLOWED",
                                    "reason": reason}, error


def test_forwarded_host_and_proto_make_the_plugin_surface_urls_public(upstream):
    conn, hello = _hello(upstream, relay_headers(upstream))
    conn.close()
    assert hello["pluginSurfaceUrls"]["canvas"].startswith(
        "http://127.0.0.1:%d/__openclaw__/cap/" % upstream.port), hello["pluginSurfaceUrls"]
    extra = [("X-Forwarded-Host", "relay.example:8443"), ("X-Forwarded-Proto", "https")]
    conn, hello = _hello(upstream, relay_headers(upstream, extra=extra))
    conn.close()
    assert hello["pluginSurfaceUrls"]["canvas"].startswith(
        "https://relay.example:8443/__openclaw__/cap/"), hello["pluginSurfaceUrls"]


def test_health_sessions_list_and_config_get_answer_ok(upstream):
    conn, _ = _hello(upstream, relay_headers(upstream, scopes=["operator.admin"]))
    try:
        for method in ("health", "sessions.list", "config.get"):
            res, _ = request(conn, method, {})
            assert res["ok"] is True, res
        res, _ = request(conn, "config.get", {})
        gateway = res["payload"]["parsed"]["gateway"]
        assert gateway["auth"]["mode"] == "trusted-proxy" and gateway["port"] == upstream.port
    finally:
        conn.close()


def _chat_events_until_final(conn, run_id):
    """The `chat` events of run_id up to its final one; other events are skipped."""
    chats = []
    deadline = time.monotonic() + CHAT_TIMEOUT
    while not chats or chats[-1]["payload"].get("state") not in ("final", "error", "aborted"):
        left = deadline - time.monotonic()
        assert left > 0, "no final chat event within %.0f s: %r" % (CHAT_TIMEOUT, chats)
        frame = recv(conn, left)
        if frame.get("event") == "chat" and frame["payload"].get("runId") == run_id:
            chats.append(frame)
    return chats


def test_a_chat_turn_streams_the_model_servers_answer(upstream, model_server):
    word = "relay-%s" % uuid.uuid4().hex[:12]
    run_id = str(uuid.uuid4())
    conn, _ = _hello(upstream, relay_headers(upstream, scopes=["operator.read",
                                                               "operator.write"]))
    try:
        res, _ = request(conn, "chat.send", {"sessionKey": "relay-contract",
                                             "message": "Say the word %s." % word,
                                             "idempotencyKey": run_id})
        assert res["ok"] is True and res["payload"] == {"runId": run_id, "status": "started"}
        chats = _chat_events_until_final(conn, run_id)
    finally:
        conn.close()
    final = chats[-1]
    assert final["payload"]["state"] == "final", final
    assert final["payload"]["message"]["content"] == [{"type": "text", "text": ANSWER}], final
    deltas = [c["payload"] for c in chats if c["payload"]["state"] == "delta"]
    assert deltas and deltas[-1]["message"]["content"][0]["text"] == ANSWER, deltas
    assert "".join(d["deltaText"] for d in deltas) == ANSWER, deltas
    for frame in chats:
        assert isinstance(frame["seq"], int), frame
        assert frame["payload"]["sessionKey"] == "agent:main:relay-contract", frame
    seen = [r for r in model_server.completions() if word in json.dumps(r.body)]
    assert len(seen) == 1 and seen[0].body["stream"] is True, model_server.requests
    assert seen[0].body["model"] == model_server.model


def test_while_starting_the_upstream_refuses_connects_as_unavailable(upstream):
    """Between listening and ready (seconds, while its sidecars start) the upstream
    answers connect with a retryable UNAVAILABLE and closes 1013."""
    refusals = [event[1:] for event in upstream.startup_events if len(event) == 3]
    assert refusals, "start-up saw no refusal: %r" % (upstream.startup_events,)
    for res, close in refusals:
        assert res["error"] == {"code": "UNAVAILABLE", "message": "gateway starting; retry shortly",
                                "retryable": True, "retryAfterMs": 500,
                                "details": {"reason": "startup-sidecars"}}, res
        assert close == (1013, "gateway starting"), close
