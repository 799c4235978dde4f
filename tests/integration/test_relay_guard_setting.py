"""clawgate.relay.guard: where relay mode's upstream is guarded, so where
`gatewayctl relay check` and `gatewayctl doctor` look. "nftables" (the default):
this host's table inet clawgate_guard, listed with nft, as test_relay_guard.py
checks in a network namespace. "upstream": the upstream guards its own port (the
container deployment's openclaw image), which nothing on this host can list:
they say so, run no nft and count no problem. Any other value stops brokerd and
fails --check-config; a change applies on reload. Real daemons, an echo upstream."""

import signal
import subprocess
import time

from clawgate_test.harness import BROKERD, daemon_env

UPSTREAM_GUARD = ("guarded by the upstream itself (clawgate.relay.guard: upstream): not "
                  "checked from here; see clawgate.json(5)")
# What relay check says with the default, on a host without the guard's table
# (nft answers "No such file") or without nft or root to run it.
NFTABLES_VERDICTS = ("unguarded: any local process can reach the upstream",
                     "cannot tell whether the upstream at")


def checked_nftables(out):
    return any(v in out for v in NFTABLES_VERDICTS)


def test_an_upstream_guard_is_reported_not_checked(echo_relay):
    gw, up = echo_relay(relay={"guard": "upstream"})
    result = gw.ctl("relay", "check")
    assert result.rc == 0, result
    assert "relay: upstream %s\n%s" % (up.url, UPSTREAM_GUARD) in result.stdout, result
    assert not checked_nftables(result.stdout + result.stderr), result
    assert gw.ctl_ok("status", json_output=True).json["relay"]["guard"] == "upstream"
    assert "(guarded by the upstream itself: clawgate.relay.guard is upstream)" in \
        gw.ctl_ok("status").stdout
    doctor = gw.ctl("doctor")
    assert doctor.rc == 0, doctor
    assert UPSTREAM_GUARD in doctor.stdout and not checked_nftables(doctor.stdout), doctor
    assert gw.ctl_ok("doctor", json_output=True).json["install"]["relay"]["guard"] == \
        "upstream"


def test_the_default_still_asks_nftables(echo_relay):
    gw, up = echo_relay()
    result = gw.ctl("relay", "check")
    # No table inet clawgate_guard for this test's port on this host.
    assert result.rc == 1, result
    assert checked_nftables(result.stdout) and UPSTREAM_GUARD not in result.stdout, result
    assert gw.ctl_ok("status", json_output=True).json["relay"]["guard"] == "nftables"
    doctor = gw.ctl("doctor")
    assert doctor.rc == 1 and checked_nftables(doctor.stdout), doctor
    assert gw.ctl_ok("doctor", json_output=True).json["install"]["relay"]["guard"] == \
        "nftables"
    # Written out, the default is the same.
    gw2, _ = echo_relay(relay={"guard": "nftables"})
    result = gw2.ctl("relay", "check")
    assert result.rc == 1 and checked_nftables(result.stdout), result


def test_another_value_is_a_config_problem(make_gateway):
    gw = make_gateway(start=False, config_clawgate={"relay": {
        "upstream": "ws://127.0.0.1:28811", "guard": "container"}})
    proc = subprocess.run([str(BROKERD), "--check-config", "--config", str(gw.config_path),
                           "--state-dir", str(gw.state_dir), "--socket-dir", str(gw.sock_dir)],
                          capture_output=True, text=True, timeout=30, env=daemon_env(),
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc
    assert 'clawgate.relay.guard "container" is not a place clawgate knows the upstream\'s ' \
        'guard in: write "nftables"' in proc.stderr, proc.stderr
    assert 'or "upstream" (the upstream guards its own port' in proc.stderr, proc.stderr
    assert "1 problem found" in proc.stderr, proc.stderr
    for bad in (7, ""):
        gw.write_config({**gw.config(), "clawgate": {"relay": {
            "upstream": "ws://127.0.0.1:28811", "guard": bad}}})
        proc = subprocess.run([str(BROKERD), "--check-config", "--config", str(gw.config_path),
                               "--state-dir", str(gw.state_dir), "--socket-dir",
                               str(gw.sock_dir)], capture_output=True, text=True, timeout=30,
                              env=daemon_env(), stdin=subprocess.DEVNULL)
        assert proc.returncode == 1 and "clawgate.relay.guard" in proc.stderr, proc


def test_a_change_applies_on_reload(echo_relay):
    gw, _ = echo_relay()
    assert gw.ctl("relay", "check").rc == 1
    config = gw.config()
    config["clawgate"]["relay"]["guard"] = "upstream"
    gw.write_config(config)
    gw.broker.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while not gw.broker.logged("reload: 1 change applied, 0 waiting for a restart"):
        assert time.monotonic() < deadline, gw.logs()
        time.sleep(0.05)
    assert gw.broker.logged("reload: clawgate.relay.guard changed: gatewayctl relay check and "
                            "doctor report it from now on"), gw.logs()
    result = gw.ctl("relay", "check")
    assert result.rc == 0 and UPSTREAM_GUARD in result.stdout, result
