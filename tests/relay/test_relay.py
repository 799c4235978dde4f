"""Relay mode end to end: clients admitted by clawgate (brokerd's verdict, its own
pairing and device tokens) and carried by gatewayd to the real OpenClaw gateway
(the `upstream` fixture), driven with the Python client (clawclient)."""

import socket
import threading

from clawgate_test import flows
from clawgate_test.clawclient import Identity, cli_params, handshake
from clawgate_test.harness import free_port

NODES_REFUSED = ("nodes connect to the upstream OpenClaw gateway directly, not through "
                 "clawgate's relay")


def relayed(gw, params, **kwargs):
    """A handshake whose hello-ok, if any, is the upstream's (not shape-checked)."""
    return handshake(gw.url, params, check_hello=False, **kwargs)


def clawgate_auth(auth):
    """The members of a hello-ok auth that clawgate decides."""
    assert auth.get("method") in ("token", "device-token"), auth
    return {k: v for k, v in auth.items() if k in ("method", "role", "scopes")}


def pair(gw, identity, scopes=("operator.read",)):
    """clawgate's pairing: the request, `gatewayctl devices approve`, the reconnect
    whose (relayed) hello-ok delivers the device token; returns that attempt."""
    request_id = flows.request_pairing(gw, identity, scopes)
    gw.ctl_ok("devices", "approve", request_id)
    return relayed(gw, cli_params(token=gw.token, scopes=scopes), identity=identity)


def test_the_challenge_offers_the_model_catalog_snapshot(relay):
    attempt = relayed(relay, cli_params(token=relay.token))
    assert attempt.challenge["capabilities"] == ["model-catalog-snapshot"]
    attempt.close()


def test_a_shared_token_session_gets_the_upstreams_hello_with_clawgates_auth(relay):
    attempt = relayed(relay, cli_params(token=relay.token, scopes=("operator.read",)))
    hello = attempt.hello
    # The upstream's hello-ok: its methods, its policy...
    assert "sessions.list" in hello["features"]["methods"], hello["features"]
    assert hello["policy"]["tickIntervalMs"] == 30000, hello["policy"]
    # ... with clawgate's verdict in auth, never the upstream's trusted-proxy one.
    assert clawgate_auth(hello["auth"]) == {"method": "token", "role": "operator",
                                            "scopes": ["operator.read"]}, hello["auth"]
    assert "deviceToken" not in hello["auth"], hello["auth"]
    for method in ("health", "sessions.list"):
        res = attempt.conn.request(method)
        assert res["ok"] is True, res
    # The upstream applies the scopes clawgate approved: only admin sessions see
    # its auth mode.
    assert "authMode" not in hello["snapshot"], hello["snapshot"]
    attempt.close()
    admin = relayed(relay, cli_params(token=relay.token, scopes=("operator.admin",)))
    assert admin.hello["snapshot"]["authMode"] == "trusted-proxy", admin.hello["snapshot"]
    assert admin.conn.request("config.get")["ok"] is True
    admin.close()


def test_a_paired_device_is_relayed_with_its_device_token_and_clawgates_pairing(relay):
    device = Identity()
    first = pair(relay, device)
    auth = first.hello["auth"]
    assert clawgate_auth(auth) == {"method": "token", "role": "operator",
                                   "scopes": ["operator.read"]}, auth
    assert auth["deviceToken"] and isinstance(auth["issuedAtMs"], int), auth
    first.close()
    again = relayed(relay, cli_params(device_token=auth["deviceToken"]), identity=device)
    assert again.hello["auth"]["method"] == "device-token", again.hello["auth"]
    assert again.conn.request("health")["ok"] is True
    again.close()

    # device.pair.* is answered by clawgate (the upstream's table is empty).
    admin = relayed(relay, cli_params(token=relay.token, scopes=("operator.pairing",)))
    listing = admin.conn.request("device.pair.list")
    assert listing["ok"] is True, listing
    assert [d["deviceId"] for d in listing["payload"]["paired"]] == [device.device_id]
    admin.close()


def test_an_unpaired_device_gets_clawgates_pairing_required(relay):
    # clawgate's refusal (expect.pairing_required checks it exactly), never the
    # upstream's own pairing (test_relay_wire.py checks it is not even contacted).
    flows.request_pairing(relay, Identity())


def test_a_node_is_refused(relay):
    attempt = relayed(relay, cli_params(token=relay.token, role="node", scopes=None))
    assert attempt.error["code"] == "INVALID_REQUEST", attempt.error
    assert attempt.error["message"] == NODES_REFUSED, attempt.error
    assert attempt.expect_close() == (1008, NODES_REFUSED)


def test_removing_the_device_closes_its_relayed_session(relay):
    device = Identity()
    session = pair(relay, device)
    assert session.conn.request("health")["ok"] is True
    relay.ctl_ok("devices", "remove", device.device_id)
    code, reason = session.expect_close()
    assert code == 1008, (code, reason)


def test_the_upstreams_refusal_and_close_reach_the_client(make_gateway, upstream):
    # A relay user the upstream does not allow: its refusal, passed through.
    gw = make_gateway(config_clawgate={"relay": {
        "upstream": upstream.url, "userHeader": upstream.user_header,
        "requiredHeaders": list(upstream.required_headers), "user": "mallory"}})
    attempt = relayed(gw, cli_params(token=gw.token))
    assert attempt.error["code"] == "NOT_PAIRED", attempt.error
    assert attempt.error["message"] == "device identity required", attempt.error
    assert attempt.expect_close() == (1008, "device identity required")


class Forwarder:
    """A TCP forwarder on 127.0.0.1:port to the upstream, which a test can stop
    and start again: the upstream as clawgate sees it, going away and coming back."""

    def __init__(self, target_port):
        self.port = free_port()
        self.target = target_port
        self.server = None

    def start(self):
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.server,), daemon=True).start()

    def stop(self):
        self.server.close()

    def _accept(self, server):
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            up.settimeout(None)
            for a, b in ((client, up), (up, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def test_an_unreachable_upstream_is_unavailable_until_it_is_back(make_gateway, upstream):
    fwd = Forwarder(upstream.port)
    gw = make_gateway(config_clawgate={"relay": {
        "upstream": "ws://127.0.0.1:%d" % fwd.port, "userHeader": upstream.user_header,
        "requiredHeaders": list(upstream.required_headers)}})
    attempt = relayed(gw, cli_params(token=gw.token))
    err = attempt.error
    assert err["code"] == "UNAVAILABLE" and err["retryable"] is True, err
    assert err["retryAfterMs"] > 0, err
    assert "upstream OpenClaw gateway is unreachable" in err["message"], err
    assert attempt.expect_close() == (1013, "upstream gateway unavailable")
    assert "127.0.0.1 port %d" % fwd.port in gw.log_text("gatewayd")
    assert "Connection refused" in gw.log_text("gatewayd")

    fwd.start()
    try:
        back = relayed(gw, cli_params(token=gw.token))
        assert back.conn.request("health")["ok"] is True
        back.close()
    finally:
        fwd.stop()
