"""brokerd and its configuration file: errors name the file, line and column and
the fix; misspelt keys are warned about with the key meant; OpenClaw's own keys
and sections are accepted quietly."""

import os
import subprocess
import time

import pytest

from clawgate_test.harness import BROKERD, Daemon, daemon_env, require_binaries

RUN_TIMEOUT = 10.0


def run_broker(gw, config_args):
    """Runs brokerd on gw's dirs with config_args until it exits (it must, here)."""
    proc = subprocess.run([str(BROKERD), *config_args, "--state-dir", str(gw.state_dir),
                           "--socket-dir", str(gw.sock_dir)],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          env=daemon_env(), stdin=subprocess.DEVNULL)
    return proc


@pytest.fixture
def unstarted(make_gateway):
    require_binaries()
    return make_gateway(start=False)


@pytest.mark.parametrize("text, where, message", [
    ('{\n  // OpenClaw writes JSON5\n  "gateway": {\n    "port": 18789,\n  },\n}\n', "4:18",
     "a comma before '}' (a JSON5 trailing comma): delete this comma"),
    ('{\n  gateway: {}\n}\n', "2:3",
     'the key gateway is not in double quotes (a JSON5 unquoted key): write "gateway"'),
    ('{"gateway": {"bind": \'lan\'}}', "1:22", "a single-quoted string (JSON5): use double quotes"),
    ('{"gateway": {"port": 18789}', "1:28", "the file ends inside an object"),
    ('', "1:1", "the file holds no JSON: write {} into it"),
])
def test_syntax_errors_name_line_and_column(unstarted, text, where, message):
    unstarted.config_path.write_text(text)
    proc = run_broker(unstarted, ["--config", str(unstarted.config_path)])
    assert proc.returncode == 1, proc
    want = "brokerd: error: %s:%s: %s" % (unstarted.config_path, where, message)
    assert want in proc.stderr, proc.stderr


def test_an_explicit_config_file_must_exist(unstarted):
    missing = unstarted.root / "nowhere.json"
    proc = run_broker(unstarted, ["--config", str(missing)])
    assert proc.returncode == 1, proc
    assert ("configuration file %s does not exist: create it ({} gives the defaults) or "
            "correct the --config path" % missing) in proc.stderr, proc.stderr


def test_a_section_of_the_wrong_type_is_refused(unstarted):
    unstarted.config_path.write_text('{"gateway": {"auth": "token"}}')
    proc = run_broker(unstarted, ["--config", str(unstarted.config_path)])
    assert proc.returncode == 1, proc
    assert "%s: gateway.auth must be an object" % unstarted.config_path in proc.stderr


def test_misspelt_keys_are_warned_about_and_openclaw_keys_are_not(make_gateway):
    # An openclaw.json with comments, OpenClaw's own sections and gateway keys,
    # and two misspellings.
    gw = make_gateway(start=False, config_extra={
        "mode": "local",
        "remote": {"url": "wss://example.invalid"},
        "controlUi": {"basePath": "/openclaw", "allowInsecureAuth": True},
        "tls": {"enabled": False, "caPath": "/etc/ssl/ca.pem"},
        "prot": 1234,
    })
    gw.config_path.write_text(
        "// written by OpenClaw\n" +
        gw.config_path.read_text().replace(
            '"auth": {', '"auth": {\n      /* the default */ "rateLimit": {"maxAttempts": 10},\n'
            '      "tokn": "x",', 1)[:-1] +
        ', "agents": {"defaults": {"model": "x"}}, "models": {}}\n')
    gw.start()
    log = gw.log_text("brokerd")
    path = gw.config_path
    assert ("brokerd: warning: %s: unknown key gateway.prot is ignored: did you mean "
            "gateway.port?" % path) in log, log
    assert ("brokerd: warning: %s: unknown key gateway.auth.tokn is ignored: did you mean "
            "gateway.auth.token?" % path) in log, log
    assert log.count("unknown key") == 2, log
    for key in ("gateway.mode", "gateway.remote", "gateway.controlUi.basePath",
                "gateway.controlUi.allowInsecureAuth", "gateway.tls.caPath",
                "gateway.auth.rateLimit"):
        assert ("brokerd: info: %s: %s is an OpenClaw setting that clawgate does not use: "
                "ignored by clawgate" % (path, key)) in log, log
    assert "agents" not in log and "models" not in log, log


DEFAULT_CONFIG = "/etc/clawgate/clawgate.json"


@pytest.mark.skipif(os.path.exists(DEFAULT_CONFIG),
                    reason="this host has a %s; the test needs it absent" % DEFAULT_CONFIG)
def test_without_config_the_missing_default_file_means_defaults(unstarted):
    gw = unstarted
    broker = Daemon("brokerd", [str(BROKERD), "--state-dir", str(gw.state_dir), "--socket-dir",
                                str(gw.sock_dir)], gw.root / "brokerd.log", daemon_env(),
                    gw.root)
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        while not broker.logged("brokerd: info: ready:") and time.monotonic() < deadline:
            if not broker.alive():
                broker.fail("exited without --config")
            time.sleep(0.05)
        assert broker.logged("brokerd: info: no configuration file at %s: using the defaults "
                             "(write one there or pass --config FILE)" % DEFAULT_CONFIG)
        assert broker.logged("brokerd: info: ready:")
    finally:
        broker.stop()


def test_a_config_file_with_a_secret_that_anyone_may_read_is_warned_about(make_gateway):
    gw = make_gateway(start=False)
    os.chmod(gw.config_path, 0o644)
    gw.start_broker()
    log = gw.log_text("brokerd")
    assert "%s holds gateway.auth.token and every account on this host may read it " \
        "(mode 0644)" % gw.config_path in log, log
    assert "chmod 600 %s" % gw.config_path in log


def test_a_config_file_its_owner_alone_reads_is_not_warned_about(make_gateway):
    gw = make_gateway()
    assert os.stat(gw.config_path).st_mode & 0o777 == 0o600
    assert "every account on this host may read it" not in gw.log_text("brokerd")


@pytest.mark.parametrize("bind, warned", [("lan", True), ("loopback", False)])
def test_auto_approve_beyond_loopback_is_warned_about(make_gateway, bind, warned):
    gw = make_gateway(start=False, config_extra={
        "bind": bind, "nodes": {"pairing": {"autoApproveLocal": True}}})
    gw.start_broker()
    said = "gateway.nodes.pairing.autoApproveLocal is true while gateway.bind listens on"
    assert (said in gw.log_text("brokerd")) == warned
