"""What the broker keeps and who may touch it (doc/design.md §1, §5):
modes of the state dir, token file and sockets; no plaintext device token on disk
or in logs; approvals surviving a restart; refusing unsafe set-ups; and gatewayd,
traced with strace through a whole pairing flow, never touching the state dir."""

import json
import os
import stat
import subprocess

from clawgate_test import expect
from clawgate_test.clawclient import Identity, b64url_decode, cli_params, handshake
from clawgate_test.flows import admin_session, device_token_connect, pair_device, request_pairing
from clawgate_test.harness import BROKERD, daemon_env


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_generated_token_state_dir_and_socket_modes(make_gateway):
    gw = make_gateway(config_token=False)
    assert mode(gw.state_dir) == 0o700
    token_file = gw.state_dir / "gateway.token"
    assert mode(token_file) == 0o600
    token = gw.token_file_contents()
    assert len(token) == 43 and len(b64url_decode(token)) == 32, token
    for name in ("gateway.sock", "control.sock"):
        assert mode(gw.sock_dir / name) == 0o660, name
    assert handshake(gw.url, cli_params(token=token)).ok
    # A restart keeps the generated token.
    gw.restart()
    assert gw.token_file_contents() == token
    assert handshake(gw.url, cli_params(token=token)).ok


def test_registry_holds_no_plaintext_device_token(gateway):
    ident = Identity()
    device_token = pair_device(gateway, ident)
    assert device_token_connect(gateway, ident, device_token).ok
    registry = gateway.state_dir / "registry.json"
    assert mode(registry) & 0o077 == 0, oct(mode(registry))
    text = registry.read_text()
    data = json.loads(text)
    assert ident.device_id in text and data, text
    raw = b64url_decode(device_token)
    for spelling in (device_token, raw.hex(), raw.hex().upper(),
                     json.dumps(device_token)[1:-1]):
        assert spelling not in text, "registry.json holds the device token (%s)" % spelling
    assert gateway.token not in text, "registry.json holds the shared token"


def test_approvals_survive_a_restart(gateway):
    ident = Identity()
    device_token = pair_device(gateway, ident)
    pending_ident = Identity()
    request_pairing(gateway, pending_ident)
    gateway.restart()
    hello = device_token_connect(gateway, ident, device_token).hello
    assert hello["auth"]["method"] == "device-token"
    listing = gateway.devices()
    assert [p["deviceId"] for p in listing["paired"]] == [ident.device_id]
    assert [p["deviceId"] for p in listing["pending"]] == [pending_ident.device_id]


def test_no_secret_in_logs(gateway):
    ident = Identity()
    device_token = pair_device(gateway, ident)
    device_token_connect(gateway, ident, device_token).close()
    handshake(gateway.url, cli_params(token="wrong-" + gateway.token)).expect_close()
    shared = gateway.token
    gateway.stop()          # logs complete
    for name in ("brokerd.log", "gatewayd.log"):
        text = (gateway.root / name).read_text(errors="replace")
        assert shared not in text, "%s contains the shared token" % name
        assert device_token not in text, "%s contains a device token" % name


def test_gatewayd_never_touches_the_state_dir(make_gateway):
    gw = make_gateway(start=False, config_token=False)
    trace = gw.root / "gatewayd.strace"
    # %file is every syscall that takes a path (open, openat, openat2, creat, stat,
    # newfstatat, statx, access, readlink, unlink, mkdir, rename, ...); connect shows
    # the broker socket, proof that the trace covers gatewayd's real work.
    gw.start(gatewayd_wrapper=["strace", "-f", "-qq", "-s", "512",
                               "-e", "trace=%file,connect", "-o", str(trace)])

    admin = admin_session(gw, ["operator.pairing"])
    ident = Identity()
    request_id = request_pairing(gw, ident)
    admin.wait_event("device.pair.requested")
    assert admin.request("device.pair.list", {})["ok"] is True
    gw.ctl_ok("devices", "approve", request_id)
    hello = handshake(gw.url, cli_params(token=gw.token), identity=ident).hello
    device_token = hello["auth"]["deviceToken"]
    assert device_token_connect(gw, ident, device_token).ok
    upgrade = handshake(gw.url, cli_params(token=gw.token, scopes=["operator.admin"]),
                        identity=ident)
    expect.pairing_required(upgrade, ident, requested_scopes=["operator.admin"],
                            reason="scope-upgrade")
    gw.ctl_ok("devices", "remove", ident.device_id)
    gw.ctl_ok("token", "generate")
    gw.stop()               # the trace is complete once gatewayd has exited

    lines = trace.read_text(errors="replace").splitlines()
    assert any("openat(" in line for line in lines), "the trace recorded no file access"
    assert any(str(gw.sock_dir / "gateway.sock") in line for line in lines), \
        "the trace does not show gatewayd's broker link"
    state_paths = {str(gw.state_dir), os.path.realpath(gw.state_dir)}
    offending = [line for line in lines if any(p in line for p in state_paths)]
    assert not offending, "gatewayd touched the broker's state dir:\n" + "\n".join(offending[:20])


def run_brokerd(gw, *extra):
    """brokerd in the foreground for start-up checks that must fail fast."""
    argv = [str(BROKERD), "--state-dir", str(gw.state_dir), "--socket-dir", str(gw.sock_dir),
            *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=10, env=daemon_env(),
                          stdin=subprocess.DEVNULL)


def test_brokerd_refuses_a_state_dir_others_can_read(make_gateway):
    gw = make_gateway(start=False)
    gw.state_dir.mkdir()
    os.chmod(gw.state_dir, 0o755)
    proc = run_brokerd(gw, "--config", str(gw.config_path))
    assert proc.returncode != 0, proc
    assert str(gw.state_dir) in proc.stderr, proc.stderr
    assert not (gw.sock_dir / "control.sock").exists()


def test_brokerd_refuses_a_missing_explicit_config(make_gateway):
    gw = make_gateway(start=False)
    missing = gw.root / "no-such-config.json"
    proc = run_brokerd(gw, "--config", str(missing))
    assert proc.returncode != 0, proc
    assert str(missing) in proc.stderr, proc.stderr


def test_brokerd_refuses_an_invalid_config(make_gateway):
    gw = make_gateway(start=False)
    gw.config_path.write_text('{"gateway": {"port": ')
    proc = run_brokerd(gw, "--config", str(gw.config_path))
    assert proc.returncode != 0, proc
    assert str(gw.config_path) in proc.stderr, proc.stderr
