"""The real OpenClaw Control UI (npm openclaw@2026.9.6, dist/control-ui/, served by
gatewayd from gateway.controlUi.root) in headless Chromium through clawgate in relay
mode, with the real OpenClaw gateway as the upstream and the loopback model server as
its only model (relay_control_ui.mjs; screenshots in the artifacts dir)."""

import json
import sys
import time

import pytest

from clawgate_test.browser import SCRIPTS, run_browser_script
from clawgate_test.harness import free_port
from clawgate_test.modelserver import ANSWER, ModelServer
from clawgate_test.upstream import Upstream

MESSAGE = "Hello from the clawgate relay browser test"
# The session the Control UI's chat view opens on a fresh gateway.
SESSION_KEY = "agent:main:main"
# An agent turn took 15-40 s against the model server; more under load.
TURN_MS = 150000
# The upstream's HTTP surfaces (workspace icons, plugin surfaces), which clawgate does
# not relay.
UNRELAYED_HTTP = "127.0.0.1:%d/__openclaw__/"


@pytest.fixture(scope="module")
def model_server():
    with ModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def clawgate_port():
    """clawgate's port, chosen before the upstream starts: the upstream must allow
    the Control UI's origin, http://127.0.0.1:<clawgate's port>."""
    return free_port()


@pytest.fixture(scope="module")
def upstream(openclaw, model_server, clawgate_port, tmp_path_factory):
    up = Upstream(tmp_path_factory.mktemp("upstream"), extra=model_server.config(),
                  allowed_origins=["http://127.0.0.1:%d" % clawgate_port])
    up.start()
    yield up
    status = up.stop()
    assert status == 0, "the upstream exited with %r on SIGTERM:\n%s" % (status, up.output())


@pytest.fixture
def relay_ui_gateway(openclaw, node, make_gateway, upstream, clawgate_port):
    root = openclaw.OPENCLAW.parents[1] / "openclaw" / "dist" / "control-ui"
    assert (root / "index.html").is_file(), root
    return make_gateway(port=clawgate_port,
                        config_clawgate={"relay": {"upstream": upstream.url}},
                        config_extra={"controlUi": {"root": str(root)}})


def test_relayed_control_ui_chats_and_lists_sessions(node, relay_ui_gateway, upstream,
                                                     model_server, artifacts, tmp_path):
    started = time.monotonic()
    facts = run_browser_script(
        "relay_control_ui.mjs", node, relay_ui_gateway, artifacts, tmp_path,
        CLAWGATE_MESSAGE=MESSAGE, CLAWGATE_ANSWER=ANSWER, CLAWGATE_SESSION_KEY=SESSION_KEY,
        CLAWGATE_TURN_MS=str(TURN_MS),
        CLAWGATE_PRESENCE=json.dumps([sys.executable, str(SCRIPTS / "upstream_presence.py"),
                                      str(upstream.port), str(upstream.root)]))
    print("relayed Control UI: %.1f s (upstream start-up %.1f s); steps (ms since the"
          " page opened): %r; %d methods called; refusals: %r; HTTP problems: %r" % (
              time.monotonic() - started, upstream.startup_seconds, facts["timings"],
              len(facts["methods"]), facts["errors"], facts["problems"]))
    # Relay mode carries the WebSocket only: the upstream's own HTTP surfaces (here the
    # session's workspace icon) answer 404 from clawgate; nothing else may fail.
    unrelayed_http = UNRELAYED_HTTP % relay_ui_gateway.port
    unrelayed = [p for p in facts["problems"] if "404" in p and unrelayed_http in p]
    assert [p for p in facts["problems"] if p not in unrelayed] == [], facts["problems"]

    # The page talked to clawgate only, and was admitted through the relay each time
    # (the chat view, then the sessions view's page load): the upstream's hello-ok
    # (its version, its ~466 methods) with clawgate's auth, which issued the device
    # token on the first, shared-token connect.
    origin = "ws://127.0.0.1:%d" % relay_ui_gateway.port
    assert all(url.startswith(origin) for url in facts["urls"]), facts["urls"]
    hellos = facts["hellos"]
    assert len(hellos) >= 2, hellos
    assert all(h["version"] == "2026.9.6" and h["methods"] > 400 for h in hellos), hellos
    assert [h["authMethod"] for h in hellos] == ["token"] + ["device-token"] * (len(hellos) - 1)
    assert hellos[0]["deviceToken"], hellos

    # No RPC the UI made was unknown; the only refusals were clawgate's pairing ones
    # (before the approval, and after the removal).
    unknown = [e for e in facts["errors"] if "unknown method" in json.dumps(e).lower()]
    assert unknown == [], unknown
    assert all(e.get("code") == "NOT_PAIRED" for e in facts["errors"]), facts["errors"]
    assert {"chat.send", "sessions.list", "config.get", "agents.list"} <= set(facts["methods"])

    # The answer came streamed (deltas, then final) from the model server, which saw
    # the message typed into the page.
    states = [c["state"] for c in facts["chat"]]
    assert "delta" in states and states[-1] == "final", facts["chat"]
    assert facts["chat"][-1]["text"] == ANSWER, facts["chat"][-1]
    prompts = [json.dumps(r.body) for r in model_server.completions()]
    assert any(MESSAGE in p for p in prompts), prompts

    # devices remove closed the relayed socket, and the upstream's socket with it.
    assert facts["presenceBefore"] and "disconnect" not in facts["presenceBefore"], facts
    assert facts["presenceAfter"] and set(facts["presenceAfter"]) == {"disconnect"}, facts
    assert relay_ui_gateway.devices()["paired"] == []
    for name in ("21-relay-control-ui-approve-this-browser", "22-relay-control-ui-connected",
                 "23-relay-control-ui-chat-answered", "24-relay-control-ui-sessions",
                 "25-relay-control-ui-device-removed"):
        assert (artifacts / (name + ".png")).stat().st_size > 1000, name
