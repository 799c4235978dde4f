"""Smoke test of tests/bench/clawgate-loadgen (the benchmark itself never runs in
./check, which builds the tool with -Dbench=true): a handful of connections of every
kind against the real daemons, so the tool cannot rot. Counts only, never timing."""

import json
import subprocess

import pytest

from clawgate_test.harness import BUILD

LOADGEN = BUILD / "tests" / "bench" / "clawgate-loadgen"
TIMEOUT = 60

# The benchmark tools are built only with -Dbench=true (./check's builds have it).
pytestmark = pytest.mark.skipif(
    not LOADGEN.exists(), reason="%s is not built: meson configure %s -Dbench=true && "
    "ninja -C %s" % (LOADGEN, BUILD, BUILD))


def loadgen(gw, kind, **opts):
    argv = [str(LOADGEN), "--port", str(gw.port), "--kind", kind]
    for key, value in opts.items():
        argv += ["--" + key] if value is True else ["--" + key, str(value)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (argv, proc.stdout, proc.stderr, gw.logs())
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_loadgen_every_kind(gateway, tmp_path):
    keys = tmp_path / "keys"
    paired = loadgen(gateway, "pair", token=gateway.token, keys=keys, count=4)
    assert paired == {"kind": "pair", "count": 4, "requested": 4, "paired": 4}
    assert len(gateway.devices()["paired"]) == 4
    assert len(keys.read_text().splitlines()) == 4

    ready = loadgen(gateway, "ready", token=gateway.token)
    assert ready["ready_mono_ns"] > 0

    run = loadgen(gateway, "device", keys=keys, count=12, concurrency=3, sources=2)
    assert (run["ok"], run["rejected"], run["errors"]) == (12, 0, {})

    run = loadgen(gateway, "operator", token=gateway.token, count=6, rate=50)
    assert (run["arrival"], run["ok"], run["errors"]) == ("open", 6, {})

    # Unknown devices from two addresses: each becomes a pending request, closed 1008.
    run = loadgen(gateway, "unknown", token=gateway.token, count=5, sources=2)
    assert (run["ok"], run["rejected"], run["errors"]) == (0, 5, {"close:1008": 5})
    devices = gateway.devices()
    assert (len(devices["pending"]), len(devices["paired"])) == (5, 4)

    # Idle sessions in two workers: reported once all are up (then released at once).
    run = loadgen(gateway, "device", keys=keys, idle=True, count=6, workers=2, hold=0)
    assert (run["open"], run["errors"]) == (6, {})


def test_loadgen_wrong_token_is_counted_by_close_code(gateway):
    run = loadgen(gateway, "operator", token="not-the-token", count=2)
    assert (run["ok"], run["rejected"], run["errors"]) == (0, 2, {"close:1008": 2})
