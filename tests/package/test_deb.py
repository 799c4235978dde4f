"""The Debian package (debian/), as scripts/build-deb builds it: lintian has
nothing to say beyond debian/clawgate.lintian-overrides, each override with its
reason; the .deb unpacked into a scratch root (dpkg -x, never installed on this
machine) holds the daemons, the units, the sysusers and tmpfiles files, the man
pages and the example configuration, and its programs run from there
(`gatewayctl --version`, `brokerd --check-config --config <the example>`). The
maintainer scripts run against recording stand-ins for systemctl and the
deb-systemd helpers, in a mount namespace of their own whose /run says systemd
is running: an installation creates the accounts and enables and starts nothing,
an upgrade restarts only what runs (try-restart), a removal stops the daemons.
The accounts are created for real by systemd-sysusers in the scratch root.

Run by ./check once (not per build dir): /usr/bin/python3 -m pytest -q tests/package"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 1200.0
RUN_TIMEOUT = 30.0
VERSION = re.search(r"^  version : '([^']+)',$", (REPO / "meson.build").read_text(),
                    re.MULTILINE).group(1)
UNITS = ["brokerd.service", "gatewayd.service", "gatewayd.socket"]
# What the package must hold, as paths in the scratch root.
FILES = [
    "usr/sbin/brokerd", "usr/sbin/gatewayd", "usr/bin/gatewayctl",
    *("lib/systemd/system/" + u for u in UNITS + ["clawgate-relay-guard@.service"]),
    "usr/lib/sysusers.d/clawgate.conf", "usr/lib/tmpfiles.d/clawgate.conf",
    "usr/share/clawgate/gatewayd-relay.conf", "usr/share/clawgate/clawgate-relay-guard.nft",
    "usr/share/man/man8/brokerd.8.gz", "usr/share/man/man8/gatewayd.8.gz",
    "usr/share/man/man8/gatewayctl.8.gz", "usr/share/man/man5/clawgate.json.5.gz",
    "usr/share/man/man7/clawgate.7.gz",
    "usr/share/doc/clawgate/examples/clawgate.json", "usr/share/doc/clawgate/copyright",
]
# What the recording stand-ins answer: deb-systemd-helper's questions about
# earlier installations are answered per scenario; everything else succeeds.
STUB = """#!/bin/sh
echo "$(basename "$0") $*" >>"{log}"
case "$(basename "$0") $1 $2" in
"deb-systemd-helper debian-installed "*|"deb-systemd-helper --quiet was-enabled") exit {known};;
esac
exit 0
"""
STUBBED = ["systemctl", "deb-systemd-invoke", "deb-systemd-helper", "systemd-sysusers",
           "systemd-tmpfiles"]


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=kw.pop("timeout", RUN_TIMEOUT), **kw)


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """scripts/build-deb's output dir, the .deb, and the .deb unpacked (dpkg -x and
    dpkg-deb -e) under a scratch dir."""
    out = tmp_path_factory.mktemp("deb")
    proc = run([REPO / "scripts" / "build-deb", out], cwd=REPO, timeout=BUILD_TIMEOUT)
    assert proc.returncode == 0, "scripts/build-deb failed:\n%s\n%s" % (
        proc.stdout[-6000:], proc.stderr[-6000:])
    debs = sorted(out.glob("clawgate_%s-*_*.deb" % VERSION))
    assert len(debs) == 1, "one clawgate_%s-*.deb expected in %s: %s" % (
        VERSION, out, sorted(p.name for p in out.iterdir()))
    root = out / "root"
    control = out / "control"
    for cmd in (["dpkg", "-x", debs[0], root], ["dpkg-deb", "-e", debs[0], control]):
        proc = run(cmd)
        assert proc.returncode == 0, proc.stderr
    return out, debs[0], root, control


def test_lintian_clean_but_justified_overrides(package):
    out, _, _, _ = package
    tags = [line for line in (out / "lintian.log").read_text().splitlines()
            if re.match(r"[EWIPX]: ", line)]
    assert tags == [], "lintian tags (scripts/build-deb must have failed on these):\n" + \
        "\n".join(tags)
    # Each group of overrides (separated by a blank line) starts with the comment
    # that says why.
    text = (REPO / "debian" / "clawgate.lintian-overrides").read_text()
    for group in text.strip("\n").split("\n\n"):
        assert group.startswith("#") and not group.splitlines()[-1].startswith("#"), \
            "debian/clawgate.lintian-overrides: overrides without their reason, or a " \
            "reason without overrides:\n" + group


def test_control_fields(package):
    _, deb, _, _ = package
    proc = run(["dpkg-deb", "-f", deb, "Package", "Version", "Depends", "Built-Using"])
    assert proc.returncode == 0, proc.stderr
    fields = dict(line.split(": ", 1) for line in proc.stdout.splitlines())
    assert fields["Package"] == "clawgate"
    assert fields["Version"].startswith(VERSION + "-")
    for lib in ("libsodium", "libssl3", "libevent-core", "libwslay1", "libyajl2", "libseccomp2",
                "systemd | systemd-standalone-sysusers"):
        assert lib in fields["Depends"], fields["Depends"]
    # gatewayd embeds files of these two sources (debian/copyright).
    assert "node-tweetnacl (=" in fields["Built-Using"], fields["Built-Using"]
    assert "cryptojs (=" in fields["Built-Using"], fields["Built-Using"]


def test_files(package):
    _, _, root, _ = package
    missing = [f for f in FILES if not (root / f).is_file()]
    assert missing == [], "not in the package: %s" % missing
    for f in ("usr/sbin/brokerd", "usr/sbin/gatewayd", "usr/bin/gatewayctl"):
        assert os.access(root / f, os.X_OK), f
    # Every unit runs a program the package holds, or one of a package it
    # depends on (as dpkg on this machine says which package holds it).
    depends = run(["dpkg-deb", "-f", package[1], "Depends"]).stdout
    for unit in UNITS[:2]:
        for exe in re.findall(r"^Exec\w+=(\S+)", (root / "lib/systemd/system" / unit).read_text(),
                              re.MULTILINE):
            if (root / exe.lstrip("/")).is_file():
                continue
            owner = run(["dpkg-query", "-S", exe]).stdout.split(":")[0]
            assert re.search(r"(^|[ ,])%s([ ,(]|$)" % re.escape(owner), depends.strip()), \
                "%s runs %s, which is neither in the package nor in its Depends (%s)" % (
                    unit, exe, depends.strip())
    copyright_text = (root / "usr/share/doc/clawgate/copyright").read_text()
    for needle in ("License: ISC", "License: public-domain", "License: BSD-3-Clause",
                   "Jeff Mott", "TweetNaCl-js contributors"):
        assert needle in copyright_text, needle


def test_installed_programs_run(package, tmp_path):
    _, _, root, _ = package
    for prog in ("usr/bin/gatewayctl", "usr/sbin/brokerd", "usr/sbin/gatewayd"):
        proc = run([root / prog, "--version"])
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("%s %s" % (Path(prog).name, VERSION)), proc.stdout
    example = root / "usr/share/doc/clawgate/examples/clawgate.json"
    # No secret in a file every account may read: brokerd generates the token.
    config = json.loads("\n".join(ln for ln in example.read_text().splitlines()
                                  if not ln.lstrip().startswith("//")))
    assert set(config["gateway"]["auth"]) == {"mode"}, config["gateway"]["auth"]
    state = tmp_path / "state"
    proc = run([root / "usr/sbin/brokerd", "--check-config", "--config", example,
                "--state-dir", state])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "brokerd: configuration OK: %s" % example in proc.stdout, proc.stdout
    assert not state.exists(), "--check-config created nothing"


def run_maintscript(control, tmp_path, script, args, known):
    """Runs the package's maintainer script with recording stand-ins for the
    commands it may call, in a mount namespace whose /run holds systemd/system
    (what the scripts take for a running systemd); returns the calls, one line each."""
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    log = tmp_path / ("%s.log" % script)
    log.write_text("")
    for name in STUBBED:
        (stubs / name).write_text(STUB.format(log=log, known=0 if known else 1))
        (stubs / name).chmod(0o755)
    proc = run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                'mount -t tmpfs none /run && mkdir -p /run/systemd/system && exec "$@"', "sh",
                "env", "-i", "PATH=%s:/usr/sbin:/usr/bin:/sbin:/bin" % stubs,
                "sh", "-e", control / script, *args])
    assert proc.returncode == 0, "%s %s: %s" % (script, " ".join(args), proc.stderr)
    return log.read_text().splitlines()


def needs_root():
    if os.geteuid() != 0:
        pytest.skip("the maintainer scripts run in a mount namespace of their own (unshare "
                    "--mount) and systemd-sysusers writes the scratch root's accounts: run as "
                    "root, as ./check does")


def test_installation_creates_accounts_and_starts_nothing(package, tmp_path):
    needs_root()
    _, _, _, control = package
    calls = run_maintscript(control, tmp_path, "postinst", ["configure"], known=False)
    assert "systemd-sysusers clawgate.conf" in calls, calls
    assert "systemd-tmpfiles --create clawgate.conf" in calls, calls
    assert not [c for c in calls if c.startswith("deb-systemd-invoke")], calls
    assert not [c for c in calls if c.startswith("systemctl") and "daemon-reload" not in c], calls
    assert not [c for c in calls if c.startswith("deb-systemd-helper enable")], calls


def test_upgrade_restarts_only_what_runs(package, tmp_path):
    needs_root()
    _, _, _, control = package
    if (control / "preinst").exists():
        calls = run_maintscript(control, tmp_path, "preinst", ["upgrade", "0.0.1-1"],
                                known=True)
        assert not [c for c in calls if c.startswith("deb-systemd-invoke")], \
            "the daemons stay up while the upgrade unpacks: %s" % calls
    calls = run_maintscript(control, tmp_path, "postinst", ["configure", "0.0.1-1"], known=True)
    invoked = [c for c in calls if c.startswith("deb-systemd-invoke")]
    assert invoked == ["deb-systemd-invoke try-restart " + " ".join(sorted(UNITS))], calls
    # An admin's enabled units stay enabled; nothing else is enabled.
    enabled = sorted(c.split()[-1] for c in calls if c.startswith("deb-systemd-helper enable"))
    assert enabled == sorted(UNITS), calls


def test_removal_stops_the_daemons(package, tmp_path):
    needs_root()
    _, _, _, control = package
    calls = run_maintscript(control, tmp_path, "prerm", ["remove"], known=True)
    invoked = [c for c in calls if c.startswith("deb-systemd-invoke")]
    assert invoked == ["deb-systemd-invoke stop gatewayd.socket gatewayd.service "
                       "brokerd.service"], calls


def test_sysusers_creates_the_accounts(package):
    needs_root()
    _, _, root, _ = package
    conf = root / "usr/lib/sysusers.d/clawgate.conf"
    # The scratch root has no /etc yet: no passwd or group, as on a fresh system.
    (root / "etc").mkdir(exist_ok=True)
    proc = run(["systemd-sysusers", "--root=%s" % root, conf])
    assert proc.returncode == 0, proc.stderr
    passwd = {ln.split(":")[0]: ln for ln in (root / "etc/passwd").read_text().splitlines()}
    groups = {ln.split(":")[0] for ln in (root / "etc/group").read_text().splitlines()}
    assert passwd["clawgate-broker"].endswith(":/var/lib/clawgate:/usr/sbin/nologin")
    assert "clawgate-gw" in passwd
    assert {"clawgate-broker", "clawgate-gw", "clawgate-admin"} <= groups
