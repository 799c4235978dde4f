"""The command line every installed binary shares (--help, --version, the usage
on a wrong command line) and brokerd --check-config: it reads the configuration,
the environment and the state directory as a start would, lists every problem,
and changes and starts nothing."""

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from clawgate_test.harness import (
    BROKERD,
    GATEWAYCTL,
    GATEWAYD,
    REPO,
    daemon_env,
    require_binaries,
)

RUN_TIMEOUT = 10.0
BINARIES = {"brokerd": BROKERD, "gatewayd": GATEWAYD, "gatewayctl": GATEWAYCTL}
# Every option each one describes on a line of its own in its --help.
OPTIONS = {
    "brokerd": ["--config", "--state-dir", "--socket-dir", "--log-level", "--check-config",
                "--help", "--version"],
    "gatewayd": ["--socket-dir", "--port", "--workers", "--log-level", "--test-echo",
                 "--help", "--version"],
    "gatewayctl": ["--socket", "--help", "--version"],
}
# The options that go with some commands, which name them.
COMMAND_OPTIONS = {"gatewayctl": ["--json", "--latest", "--role", "--scope"]}


def run(argv, env=None):
    require_binaries()
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, env=daemon_env(env), stdin=subprocess.DEVNULL)


def project_version():
    match = re.search(r"^\s*version\s*:\s*'([^']+)'", (REPO / "meson.build").read_text(), re.M)
    assert match, "no version in meson.build's project()"
    return match.group(1)


@pytest.mark.parametrize("name", sorted(BINARIES))
def test_help_lists_every_option_on_stdout(name):
    proc = run([BINARIES[name], "--help"])
    assert proc.returncode == 0, proc
    assert proc.stdout.startswith("usage: %s " % name), proc.stdout
    assert proc.stderr == "", proc.stderr
    for option in OPTIONS[name]:
        assert re.search(r"^\s+%s\b.*\S" % re.escape(option), proc.stdout, re.M), \
            "%s --help has no line describing %s:\n%s" % (name, option, proc.stdout)
    for option in COMMAND_OPTIONS.get(name, []):
        assert option in proc.stdout, (option, proc.stdout)


@pytest.mark.parametrize("name", sorted(BINARIES))
def test_version_names_the_project_version(name):
    proc = run([BINARIES[name], "--version"])
    assert proc.returncode == 0, proc
    assert proc.stderr == "", proc.stderr
    match = re.fullmatch(r"%s %s( \(git [^)\s]+\))?\n" % (name, re.escape(project_version())),
                         proc.stdout)
    assert match, proc.stdout
    # Built from a git checkout: the description says which commit.
    if (REPO / ".git").exists():
        assert match.group(1), proc.stdout


@pytest.mark.parametrize("name", sorted(BINARIES))
@pytest.mark.parametrize("args", [["--no-such-option"], ["--log-level"]])
def test_a_wrong_command_line_exits_2_with_the_usage_on_stderr(name, args):
    if name == "gatewayctl" and args == ["--log-level"]:
        args = ["--socket"]
    proc = run([BINARIES[name], *args])
    assert proc.returncode == 2, proc
    assert proc.stdout == "", proc.stdout
    assert "usage: %s " % name in proc.stderr, proc.stderr


def snapshot(root):
    """Every path below root with its type, mode, owner, mtime and contents."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            digest = (hashlib.sha256(path.read_bytes()).hexdigest()
                      if path.is_file() and not path.is_symlink() else None)
            found[str(path.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid,
                                                  st.st_mtime_ns, st.st_size, digest)
    return found


def check_config(gw, env=None, config=None):
    return run([BROKERD, "--check-config", "--config", config or gw.config_path,
                "--state-dir", gw.state_dir, "--socket-dir", gw.sock_dir], env)


@pytest.fixture
def used(make_gateway):
    """A gateway that ran once (registry, token file and audit log in its state
    dir) and stopped."""
    gw = make_gateway(config_token=False)
    gw.stop()
    assert (gw.state_dir / "gateway.token").exists()
    return gw


def test_check_config_passes_a_good_setup_and_changes_nothing(used):
    before = snapshot(used.root)
    proc = check_config(used)
    assert proc.returncode == 0, proc
    assert ("brokerd: configuration OK: %s, state directory %s, auth mode token, token from "
            "file, 0 paired devices" % (used.config_path, used.state_dir)) in proc.stdout, proc
    assert "error" not in proc.stderr, proc.stderr
    assert snapshot(used.root) == before
    assert not (used.sock_dir / "gateway.sock").exists()


def test_check_config_creates_nothing_on_a_first_start(make_gateway):
    gw = make_gateway(start=False, config_token=False)
    before = snapshot(gw.root)
    proc = check_config(gw)
    assert proc.returncode == 0, proc
    assert "a new one generated at start" in proc.stdout, proc.stdout
    assert "the state directory %s does not exist yet" % gw.state_dir in proc.stderr
    assert snapshot(gw.root) == before
    assert not gw.state_dir.exists() and not gw.sock_dir.exists()


BAD_CONFIG = {"gateway": {"port": 0, "bind": "moon", "auth": {"mode": "token"},
                          "controlUi": {"allowedOrigins": [7]}}}
# In the order brokerd reads them.
BAD_KEYS = ["gateway.port", "gateway.bind", "OPENCLAW_HANDSHAKE_TIMEOUT_MS",
            "gateway.controlUi.allowedOrigins[0]"]


def test_check_config_reports_every_problem_with_its_key(used):
    used.config_path.write_text(json.dumps(BAD_CONFIG))
    before = snapshot(used.root)
    proc = check_config(used, env={"OPENCLAW_HANDSHAKE_TIMEOUT_MS": "soon"})
    assert proc.returncode == 1, proc
    errors = [line for line in proc.stderr.splitlines() if line.startswith("brokerd: error: ")]
    assert len(errors) == len(BAD_KEYS), proc.stderr
    for key, line in zip(BAD_KEYS, errors):
        assert key in line, (key, line)
    assert "fix or unset it" in errors[2], errors
    assert ("brokerd: %d problems found (above): brokerd would refuse to start"
            % len(BAD_KEYS)) in proc.stderr
    assert proc.stdout == ""
    assert snapshot(used.root) == before


def test_a_start_lists_every_problem_too(used):
    """The same readers serve a start: it names them all, then refuses."""
    used.config_path.write_text(json.dumps(BAD_CONFIG))
    proc = run([BROKERD, "--config", used.config_path, "--state-dir", used.state_dir,
                "--socket-dir", used.sock_dir], {"OPENCLAW_HANDSHAKE_TIMEOUT_MS": "soon"})
    assert proc.returncode == 1, proc
    for key in BAD_KEYS:
        assert key in proc.stderr, (key, proc.stderr)
    assert "refusing to start: %d problems in the configuration" % len(BAD_KEYS) in proc.stderr
    assert not (used.sock_dir / "gateway.sock").exists()


def test_check_config_reports_a_missing_config_file(used):
    missing = used.root / "nowhere.json"
    proc = check_config(used, config=missing)
    assert proc.returncode == 1, proc
    assert ("brokerd: error: configuration file %s does not exist: create it ({} gives the "
            "defaults) or correct the --config path" % missing) in proc.stderr, proc.stderr
    assert "1 problem found" in proc.stderr


def test_check_config_reads_the_state_dir_as_a_start_would(used):
    """A broken registry, a token file without a token and a state dir open to
    others: all three named, with the fix, and none of them touched."""
    registry = used.state_dir / "registry.json"
    registry.write_text(registry.read_text()[:-5])
    (used.state_dir / "gateway.token").write_text("\n")
    os.chmod(used.state_dir, 0o750)
    before = snapshot(used.root)
    proc = check_config(used)
    assert proc.returncode == 1, proc
    errors = [line for line in proc.stderr.splitlines() if line.startswith("brokerd: error: ")]
    assert len(errors) == 3, proc.stderr
    assert "is open to group or others (mode 0750): run chmod 700 %s" % used.state_dir \
        in errors[0], errors
    assert str(registry) in errors[1] and "restore it from a backup" in errors[1], errors
    assert ("%s/gateway.token holds no usable token: delete it to have a new one generated"
            % used.state_dir) in errors[2], errors
    assert snapshot(used.root) == before
