"""TLS on the gateway port: gateway.tls with a certificate made
for the test, checked with `openssl s_client` (versions) and a python3-websockets
wss:// client doing a full handshake."""

import asyncio
import json
import socket
import ssl
import subprocess

import pytest
from websockets.legacy.client import connect as ws_connect

from clawgate_test.clawclient import cli_params


def s_client(gw, *args):
    return subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % gw.port,
                           "-CAfile", str(gw.cert), "-verify_return_error", *args],
                          input=b"", capture_output=True, timeout=20)


def test_tls_versions(tls_gateway):
    for version in ("-tls1_2", "-tls1_3"):
        proc = s_client(tls_gateway, version)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert b"Verify return code: 0 (ok)" in proc.stdout, proc.stdout[-2000:]
    proc = s_client(tls_gateway, "-tls1_1")
    assert proc.returncode != 0, "TLS 1.1 was accepted"


def test_wss_handshake(tls_gateway):
    ctx = ssl.create_default_context(cafile=str(tls_gateway.cert))

    async def run():
        async with ws_connect("wss://127.0.0.1:%d/" % tls_gateway.port, ssl=ctx,
                              open_timeout=10, ping_interval=None) as ws:
            challenge = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert challenge["event"] == "connect.challenge", challenge
            await ws.send(json.dumps({"type": "req", "id": "1", "method": "connect",
                                      "params": cli_params(token=tls_gateway.token)}))
            res = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert res["ok"] is True and res["payload"]["type"] == "hello-ok", res
    asyncio.run(run())


def test_plain_http_on_the_tls_port_is_not_served(tls_gateway):
    with socket.create_connection(("127.0.0.1", tls_gateway.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
    # A TLS alert, or nothing: never an HTTP answer in clear.
    assert not data.startswith(b"HTTP/"), data


def test_missing_certificate_is_a_clear_start_up_error(make_gateway, tmp_path):
    gw = make_gateway(start=False, config_extra={"tls": {
        "enabled": True, "certPath": str(tmp_path / "none.pem"),
        "keyPath": str(tmp_path / "none.key")}})
    gw.start_broker()
    with pytest.raises(AssertionError) as exc:
        gw.start_gatewayd()
    gw.gatewayd = None
    assert "TLS: cannot load the certificate %s" % (tmp_path / "none.pem") in str(exc.value)
