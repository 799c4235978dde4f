"""gatewayctl: exit statuses (0 done, 1 refused, 2 usage, 3 brokerd
unreachable, 4 permission denied: test_control_peercred.py), messages that name
the problem and the fix, --json output, status, and `token generate`."""

import os
import re
import signal
import socket
import subprocess
import threading

import pytest

from clawgate_test import expect
from clawgate_test.clawclient import cli_params, handshake
from clawgate_test.harness import GATEWAYCTL, daemon_env, run_gatewayctl

TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")


EXIT_UNREACHABLE = 3


def test_missing_socket_says_where_and_what_to_do(tmp_path):
    path = tmp_path / "nowhere" / "control.sock"
    result = run_gatewayctl("devices", "list", socket_path=path)
    assert result.rc == EXIT_UNREACHABLE, result
    assert str(path) in result.output, "the message should name the socket path: %r" % result
    assert "systemctl start brokerd" in result.output, \
        "the message should say to start brokerd: %r" % result


def test_stopped_broker_exits_3(gateway):
    gateway.broker.stop()
    gateway.broker = None
    result = gateway.ctl("status")
    assert result.rc == EXIT_UNREACHABLE, result
    assert "cannot reach brokerd" in result.stderr and result.stdout == "", result


def test_dead_broker_exits_3(gateway):
    """SIGKILL leaves the socket file behind: the connect is refused."""
    gateway.broker.kill()
    gateway.broker = None
    assert gateway.control_socket.is_socket()
    result = gateway.ctl("devices", "list")
    assert result.rc == EXIT_UNREACHABLE, result
    assert "Connection refused" in result.stderr, result


def test_broker_closing_without_an_answer_exits_3(tmp_path):
    path = tmp_path / "control.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    server.settimeout(10)

    def hang_up():
        try:
            conn, _ = server.accept()
        except OSError:
            return
        conn.recv(4096)
        conn.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        result = run_gatewayctl("status", socket_path=path)
    finally:
        thread.join(10)
        server.close()
    assert result.rc == EXIT_UNREACHABLE, result
    assert "closed the connection" in result.stderr, result


def test_usage_names_the_exit_statuses():
    proc = subprocess.run([str(GATEWAYCTL), "--help"], capture_output=True, text=True,
                          timeout=10, env=daemon_env(), stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc
    text = " ".join(proc.stdout.split())
    for status in ("0 done", "1 brokerd refused", "2 usage error",
                   "3 brokerd is not running", "4 permission denied"):
        assert status in text, "usage lacks %r:\n%s" % (status, proc.stdout)


def test_a_closed_stdout_is_an_exit_status_not_sigpipe(gateway):
    """gatewayctl devices list | (reader already gone): no death by SIGPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([str(GATEWAYCTL), "--socket", str(gateway.control_socket),
                               "devices", "list"], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, timeout=10, env=daemon_env(),
                              stdin=subprocess.DEVNULL)
    finally:
        os.close(write_end)
    assert proc.returncode != -signal.SIGPIPE, "gatewayctl died of SIGPIPE"
    assert proc.returncode == 1, proc
    assert proc.stderr == "", "a reader that went away needs no message: %r" % proc.stderr


def test_socket_from_environment(gateway):
    result = run_gatewayctl("devices", "list", "--json",
                            env={"CLAWGATE_CONTROL_SOCKET": str(gateway.control_socket)})
    assert result.rc == 0, result


@pytest.mark.parametrize("args", [
    [],
    ["bogus"],
    ["devices"],
    ["devices", "frobnicate"],
    ["devices", "approve"],
    ["devices", "reject"],
    ["devices", "remove"],
    ["devices", "approve", "a", "b"],
    ["token"],
])
def test_usage_errors_exit_2(gateway, args):
    result = gateway.ctl(*args)
    assert result.rc == 2, result
    assert result.output.strip(), "a usage error should say what is wrong: %r" % result


def test_empty_lists(gateway):
    assert gateway.devices() == {"pending": [], "paired": []}
    assert gateway.ctl_ok("devices", "list").stdout.strip()


@pytest.mark.parametrize("args", [
    ["devices", "reject", "no-such-request"],
    ["devices", "remove", "no-such-device"],
])
def test_unknown_ids_fail_with_exit_1(gateway, args):
    result = gateway.ctl(*args)
    assert result.rc == 1, result
    assert args[-1] in result.output, "the message should name the id: %r" % result


def test_status(gateway):
    hello = handshake(gateway.url, cli_params(token=gateway.token)).hello
    status = gateway.ctl_ok("status", json_output=True).json
    for key in ("version", "pid", "uptimeMs", "stateDir", "tokenSource", "gateways", "sessions",
                "pending", "paired"):
        assert key in status, "status lacks %r: %r" % (key, status)
    assert status["version"] == hello["server"]["version"]
    assert status["pid"] == gateway.broker.pid
    assert status["gateways"] == 1
    assert status["pending"] == 0 and status["paired"] == 0
    assert str(gateway.state_dir) in status["stateDir"]
    assert gateway.token not in str(status), "status must not show the token"
    assert gateway.ctl_ok("status").stdout.strip()


def test_token_generate_replaces_the_shared_token(make_gateway):
    gw = make_gateway(config_token=False)
    old = gw.token_file_contents()
    result = gw.ctl_ok("token", "generate")
    found = TOKEN_RE.findall(result.stdout)
    assert len(found) == 1, "expected one 43-char token in the output: %r" % result
    new = found[0]
    assert new != old
    assert gw.token_file_contents() == new, "the new token should be kept in the state dir"
    assert handshake(gw.url, cli_params(token=new)).hello["auth"]["method"] == "token"
    old_attempt = handshake(gw.url, cli_params(token=old))
    expect.unauthorized(old_attempt, "unauthorized: gateway token mismatch (%s)" %
                        expect.LOCAL_CLI_HINT, details_code="AUTH_TOKEN_MISMATCH",
                        auth_reason="token_mismatch", next_step="update_auth_credentials")
