"""gatewayctl (CONTRACT.md): exit codes 0/1/2, messages that name the problem and
the fix, --json output, status, and `token generate`."""

import re

import pytest

import expect
from clawclient import cli_params, handshake
from harness import run_gatewayctl

TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")


def test_missing_socket_says_where_and_what_to_do(tmp_path):
    path = tmp_path / "nowhere" / "control.sock"
    result = run_gatewayctl("devices", "list", socket_path=path)
    assert result.rc == 1, result
    assert str(path) in result.output, "the message should name the socket path: %r" % result
    assert "brokerd" in result.output, "the message should say to start brokerd: %r" % result


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
