"""Multi-step flows the tests share: asking for pairing, approving with gatewayctl,
sessions of a device-less admin CLI, and an authenticated raw WebSocket session."""

import json

from . import expect, rawws
from .clawclient import cli_params, handshake


def request_pairing(gw, identity, scopes=("operator.read",)):
    """An unknown device connects with the shared token; returns the request id."""
    attempt = handshake(gw.url, cli_params(token=gw.token, scopes=scopes), identity=identity)
    return expect.pairing_required(attempt, identity, requested_scopes=scopes)


def pair_device(gw, identity, scopes=("operator.read",)):
    """Pairs a device the way an admin does it (request, `gatewayctl devices approve`,
    reconnect with the shared token) and returns the device token it receives."""
    request_id = request_pairing(gw, identity, scopes)
    gw.ctl_ok("devices", "approve", request_id)
    attempt = handshake(gw.url, cli_params(token=gw.token, scopes=scopes), identity=identity)
    auth = attempt.hello["auth"]
    assert auth["method"] == "token", auth
    assert "deviceToken" in auth, "no device token minted for a newly paired device: %r" % auth
    attempt.close()
    return auth["deviceToken"]


def device_token_connect(gw, identity, device_token, scopes=("operator.read",)):
    """Reconnects a paired device with only its device token (no shared token)."""
    return handshake(gw.url, cli_params(device_token=device_token, scopes=scopes),
                     identity=identity)


def admin_session(gw, scopes=("operator.pairing",)):
    """A device-less `openclaw devices ...` CLI on loopback: accepted with its scopes."""
    attempt = handshake(gw.url, cli_params(token=gw.token, scopes=scopes))
    assert attempt.hello["auth"]["scopes"] == list(scopes), attempt.hello["auth"]
    return attempt.conn


def raw_session(gw, scopes=("operator.read",)):
    """An authenticated session over the raw client (rawws), which answers nothing
    by itself (no pong) and sends frames as the test writes them."""
    raw = rawws.RawWS(gw.port)
    raw.recv_frame()                                            # connect.challenge
    raw.send(rawws.text(json.dumps({"type": "req", "id": "c", "method": "connect",
                                    "params": cli_params(token=gw.token, scopes=scopes)})))
    _, op, payload = raw.recv_frame()
    assert op == 1 and json.loads(payload)["ok"] is True, payload
    return raw
