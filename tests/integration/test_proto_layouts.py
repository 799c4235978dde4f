"""The internal protocol's wire layouts three ways: as proto/'s decoder accepts them
(tests/tools/proto-layouts, which finds them through proto.h's API), as
tests/lib/clawgate_test/protolink.py writes them for the tests' fake gateways and
control clients, and as recorded for their PROTO_VERSION in proto_layouts.fingerprint.

The Python copy must match the decoder field for field (u8 fields and byte arrays
are the same on the wire, as are u64 and i64), and the layouts may change only
together with PROTO_VERSION: peers of different versions refuse each other, which is
what makes a changed layout safe to deploy. Needs no daemon."""

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from clawgate_test import protolink
from clawgate_test.harness import BUILD, daemon_env

DUMPER = BUILD / "tests" / "tools" / "proto-layouts"
FINGERPRINT = Path(__file__).resolve().parent / "proto_layouts.fingerprint"
FINGERPRINT_NAME = "tests/integration/proto_layouts.fingerprint"


@pytest.fixture(scope="module")
def decoder():
    """proto-layouts' JSON: the layouts the C decoder accepts."""
    assert DUMPER.exists(), "%s is not built: ninja -C %s" % (DUMPER, BUILD)
    proc = subprocess.run([str(DUMPER)], capture_output=True, text=True, timeout=60,
                          env=daemon_env(), stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, "proto-layouts failed:\n%s" % proc.stderr
    return json.loads(proc.stdout)


def wire_of_python(fields):
    """protolink's field list as the wire shows it: [(kind, byte count or None)]."""
    out = []
    for _, kind in fields:
        if kind == "u8" or kind.startswith("bytes:"):
            n = 1 if kind == "u8" else int(kind[len("bytes:"):])
            if out and out[-1][0] == "bytes":
                out[-1] = ("bytes", out[-1][1] + n)
            else:
                out.append(("bytes", n))
        elif kind in ("u16", "u32", "u64", "i64"):
            out.append(("u64" if kind == "i64" else kind, None))
        else:
            out.append((kind, None))
    return out


def wire_of_c(fields):
    return [(f["kind"], f.get("len")) for f in fields]


def shown(wire):
    return " ".join(kind if n is None else "bytes:%d" % n for kind, n in wire)


def fingerprint(dump):
    layouts = {k: v for k, v in dump.items() if k != "proto_version"}
    canonical = json.dumps(layouts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def recorded():
    """(version, hash) from proto_layouts.fingerprint."""
    lines = [l for l in FINGERPRINT.read_text().splitlines() if l and not l.startswith("#")]
    assert len(lines) == 1, "%s: want one line \"<PROTO_VERSION> <sha256>\"" % FINGERPRINT_NAME
    version, digest = lines[0].split()
    return int(version), digest


def test_protolink_knows_every_type_by_its_name(decoder):
    c_types = {t["type"]: t["name"] for t in decoder["types"]}
    assert set(protolink.LAYOUTS) == set(c_types), (
        "message types only in proto.c: %s; only in protolink.py: %s" % (
            sorted(c_types[t] for t in set(c_types) - set(protolink.LAYOUTS)),
            sorted("0x%04x" % t for t in set(protolink.LAYOUTS) - set(c_types))))
    for code, name in c_types.items():
        short = name[len("PROTO_"):]
        assert getattr(protolink, short, None) == code, (
            "protolink.%s should be 0x%04x, as %s in proto/proto.h" % (short, code, name))


def test_protolink_lays_out_every_type_as_the_decoder(decoder):
    wrong = []
    for t in decoder["types"]:
        python = protolink.LAYOUTS.get(t["type"], [])
        if wire_of_python(python) != wire_of_c(t["fields"]):
            wrong.append("%s:\n  decoder:      %s\n  protolink.py: %s\n  (%s)" % (
                t["name"], shown(wire_of_c(t["fields"])), shown(wire_of_python(python)),
                ", ".join("%s %s" % field for field in python)))
    assert not wrong, "protolink.py's LAYOUTS differ from proto/proto.c's:\n" + "\n".join(wrong)


def test_protolink_header_and_version(decoder):
    assert protolink.HDR.size == decoder["header_len"]
    assert protolink.VERSION == decoder["proto_version"], (
        "protolink.VERSION is %d but proto/proto.h's PROTO_VERSION is %d: update "
        "tests/lib/clawgate_test/protolink.py" % (protolink.VERSION, decoder["proto_version"]))


def test_layouts_change_only_with_proto_version(decoder):
    version, digest = recorded()
    now = fingerprint(decoder)
    line = "%d %s" % (decoder["proto_version"], now)
    if now != digest and decoder["proto_version"] == version:
        pytest.fail("the wire layouts changed but PROTO_VERSION is still %d: bump "
                    "PROTO_VERSION in proto/proto.h (and protolink.VERSION) and update "
                    "%s to the line it then prints" % (version, FINGERPRINT_NAME), pytrace=False)
    assert (decoder["proto_version"], now) == (version, digest), (
        "%s records PROTO_VERSION %d; for PROTO_VERSION %d and these layouts its line "
        "is:\n%s" % (FINGERPRINT_NAME, version, decoder["proto_version"], line))
