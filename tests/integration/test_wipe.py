"""gatewayd wipes every block before freeing it (gatewayd/wipefree.c), its own
and its libraries' (libevent, OpenSSL, yajl, wslay): once the sessions that
carried the shared token, a password and a device token have closed, none of
them is anywhere in gatewayd's memory. Read as root through /proc/PID/mem,
which root may do although gatewayd is not dumpable.

Release builds only: under AddressSanitizer the allocator is ASan's, whose
quarantine keeps freed blocks as they were, and gatewayd does not wipe there."""

import base64
import json
import os
import re
import socket
import time

import pytest

from clawgate_test.clawclient import Identity, cli_params, handshake
from clawgate_test.flows import device_token_connect, pair_device, request_pairing
from clawgate_test.harness import BUILD, wait_until
from clawgate_test.rawws import RawWS, frame, text, upgrade_request


def build_sanitized():
    options = json.loads((BUILD / "meson-info" / "intro-buildoptions.json").read_text())
    return next(o["value"] for o in options if o["name"] == "b_sanitize") != "none"


pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: reads gatewayd's memory "
                       "through /proc/PID/mem (./check runs as root)"),
    pytest.mark.skipif(build_sanitized(), reason="a sanitizer build: ASan's allocator "
                       "keeps freed blocks, gatewayd wipes in release builds"),
]

MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+)")


def secrets_in_memory(pid, secrets):
    """Which of secrets (bytes) are in a writable mapping of process pid: its
    heap, stacks, anonymous mappings and data segments."""
    found = set()
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            start, end, perms = MAPPING.match(line).groups()
            if not perms.startswith("rw"):
                continue
            mem.seek(int(start, 16))
            try:
                data = mem.read(int(end, 16) - int(start, 16))
            except OSError:
                continue
            found.update(s for s in secrets if s in data)
    return found


def test_no_token_left_in_memory_after_the_sessions_closed(gateway):
    identity = Identity()
    device_token = pair_device(gateway, identity)
    device_token_connect(gateway, identity, device_token).close()
    handshake(gateway.url, cli_params(password=gateway.token)).close()
    secrets = {gateway.token.encode(), device_token.encode()}
    pid = gateway.gatewayd.pid
    # The check sees a token where one is: in a connect frame still arriving,
    # which wslay holds, unmasked, until its last bytes come.
    ws = RawWS(gateway.port)
    connect = text(json.dumps({"type": "req", "id": "1", "method": "connect",
                               "params": {"auth": {"token": gateway.token}}}))
    ws.send(connect[:-4])
    wait_until(lambda: gateway.token.encode() in secrets_in_memory(pid, secrets), 5,
               "the token of a connect frame still arriving in gatewayd's memory")
    ws.close()
    # Closed sessions are freed a moment after the clients' closes arrive.
    wait_until(lambda: not secrets_in_memory(pid, secrets), 5,
               "no token in gatewayd's memory once its sessions closed")


def tls_connect_unmasked(gw):
    """A wss:// session admitted with the shared token, its connect frame masked
    with the key 0 (RFC 6455 allows any key): the plaintext OpenSSL decrypts is
    the token as it is. Returns the open TLS socket."""
    raw = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    sock = gw.context.wrap_socket(raw, server_hostname="127.0.0.1")
    sock.sendall(upgrade_request(b"127.0.0.1:%d" % gw.port, base64.b64encode(os.urandom(16))))
    payload = json.dumps({"type": "req", "id": "1", "method": "connect",
                          "params": cli_params(token=gw.token)}).encode()
    unmasked = frame(1, payload, mask=False)
    head = unmasked[:len(unmasked) - len(payload)]
    got = b""
    while b"connect.challenge" not in got:
        got += sock.recv(4096)
    sock.sendall(bytes([head[0], head[1] | 0x80]) + head[2:] + bytes(4) + payload)
    deadline = time.monotonic() + 5
    while b"hello-ok" not in got and time.monotonic() < deadline:
        got += sock.recv(65536)
    assert b"hello-ok" in got, got[-500:]
    return sock


def test_no_token_left_in_tls_buffers_of_an_open_session(tls_gateway):
    """OpenSSL decrypts a record in place, in a read buffer that lives as long
    as the connection: gatewayd has it wiped once the plaintext is read, so the
    connect's token is gone while the session stays open."""
    pid = tls_gateway.gatewayd.pid
    sock = tls_connect_unmasked(tls_gateway)
    try:
        assert secrets_in_memory(pid, {tls_gateway.token.encode()}) == set(), \
            "the token of an open TLS session is in gatewayd's memory"
    finally:
        sock.close()


def test_no_token_left_after_relayed_sessions(echo_relay):
    """In relay mode the sessions' frames also pass through the upstream's
    connection (the hello-ok that carries the device token comes back that
    way): after they closed, neither token is in gatewayd's memory."""
    gw, _ = echo_relay()
    identity = Identity()
    gw.ctl_ok("devices", "approve", request_pairing(gw, identity))
    attempt = handshake(gw.url, cli_params(token=gw.token), identity=identity,
                        check_hello=False)
    device_token = attempt.hello["auth"]["deviceToken"]
    attempt.close()
    handshake(gw.url, cli_params(device_token=device_token), identity=identity,
              check_hello=False).close()
    secrets = {gw.token.encode(), device_token.encode()}
    wait_until(lambda: not secrets_in_memory(gw.gatewayd.pid, secrets), 5,
               "no token in gatewayd's memory once its relayed sessions closed")


def test_no_generated_tls_key_left_but_in_the_tls_context(make_gateway):
    """gateway.tls.autoGenerate: brokerd sends its key over the link as base64 of
    the DER; gatewayd loads it into OpenSSL's context and wipes both forms (the
    frame, the decoded message, its settings, the decoded DER)."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding, NoEncryption, PrivateFormat, load_pem_private_key)
    gw = make_gateway(config_extra={"tls": {"enabled": True}})
    key = load_pem_private_key((gw.state_dir / "tls-key.pem").read_bytes(), None)
    der = key.private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption())
    assert secrets_in_memory(gw.gatewayd.pid, {der, base64.b64encode(der)}) == set(), \
        "the generated TLS key's DER or base64 is in gatewayd's memory"
