"""Smoke test of the relay benchmark's tools (the benchmark itself never runs in
./check): tests/bench/clawgate-relaybench against the echo upstream directly and
through gatewayd's relay, and the driver tests/bench/run-relay at a handful of
messages per workload without nginx. Counts only, never timing."""

import json
import subprocess

import pytest

from clawgate_test.harness import BUILD, REPO

RELAYBENCH = BUILD / "tests" / "bench" / "clawgate-relaybench"
TIMEOUT = 60

# The benchmark tools are built only with -Dbench=true (./check's builds have it).
pytestmark = pytest.mark.skipif(
    not RELAYBENCH.exists(), reason="%s is not built: meson configure %s -Dbench=true && "
    "ninja -C %s" % (RELAYBENCH, BUILD, BUILD))


def relaybench(port, mode, **opts):
    argv = [str(RELAYBENCH), "--port", str(port), "--mode", mode]
    for key, value in opts.items():
        argv += ["--" + key] if value is True else ["--" + key, str(value)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                          input="")
    assert proc.returncode == 0, (argv, proc.stdout, proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def every_mode(port, **auth):
    assert relaybench(port, "connect", count=3, **auth)["ok"] == 3
    for size, window in ((1024, 1), (1024, 8), (70000, 3)):
        run = relaybench(port, "echo", count=12, size=size, window=window, **auth)
        assert (run["ok"], run["error"], run["size"]) == (12, "", size)
    assert relaybench(port, "idle", count=3, hold=0, **auth)["open"] == 3


def test_relaybench_direct_and_relayed(echo_relay):
    gw, up = echo_relay()
    every_mode(up.port, **{"upstream-headers": True})
    direct = len(up.upgrades())
    assert direct == 3 + 3 + 3     # connects, echo sessions, idle sessions
    every_mode(gw.port, token=gw.token)
    assert len(up.upgrades()) == 2 * direct
    # Without the relay's headers the echo upstream refuses, as the real one does.
    assert relaybench(up.port, "echo", count=1)["error"] == "connect refused"


def test_run_relay_smoke():
    proc = subprocess.run(["/usr/bin/python3", str(REPO / "tests" / "bench" / "run-relay"),
                           "--smoke", "--targets", "direct,gatewayd", "--build", str(BUILD)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert rows[0] == "| metric | direct | gatewayd |"
    assert len(rows) == 14 and not any("did not reach" in row for row in rows), proc.stdout
