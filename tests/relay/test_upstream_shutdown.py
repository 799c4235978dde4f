"""How the real OpenClaw upstream ends a relayed session when it stops: the relay
passes the event and the close code on. It needs an upstream of its own (20-40 s)."""

import pytest

from clawgate_test.upstream import Upstream, connect, recv, relay_headers


@pytest.fixture
def own_upstream(openclaw, model_server, tmp_path):
    up = Upstream(tmp_path, extra=model_server.config())
    up.start()
    yield up
    up.stop()


def test_sigterm_sends_shutdown_then_closes_1012(own_upstream):
    conn, _, res = connect(own_upstream, relay_headers(own_upstream))
    assert res["ok"] is True, res
    assert own_upstream.stop() == 0, own_upstream.output()
    # Events queued before the stop (cron, health, ...) may come first.
    frame = recv(conn)
    for _ in range(50):
        if frame.get("event") == "shutdown":
            break
        assert frame["type"] == "event", frame
        frame = recv(conn)
    assert frame.get("event") == "shutdown", frame
    assert frame["payload"] == {"reason": "gateway stopping"}, frame
    assert isinstance(frame["seq"], int), frame
    assert conn.expect_close() == (1012, "service restart")
