"""./quickstart itself, as a person runs it, then the commands its banner prints, as
printed, with the real openclaw CLI: the loopback example connects without pairing,
the `.local` example creates a pairing request that the banner's gatewayctl lines
list and approve, and the Control UI shows the same gatewayctl command.

quickstart runs in the foreground; CLAWGATE_QUICKSTART_DIR keeps its config, state,
sockets and logs in a directory of the test's, and CLAWGATE_QUICKSTART_BUILD points
it at build-release (the build ./check makes with quickstart's options), which it
builds first if missing."""

import html
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from clawgate_test.harness import REPO, daemon_env, free_port, port_accepts

BANNER_END = "Ctrl-C stops both daemons"
# A first run may have to build build-release.
START_TIMEOUT = 900
STOP_TIMEOUT = 30
ALIAS = "clawgate.local"
REQUEST_ID = re.compile(r"pairing required \(requestId: ([0-9a-f-]{36})\)")


class Quickstart:
    """./quickstart in the background, its output collected line by line."""

    def __init__(self, base, port, args=(), env=None):
        env = daemon_env(dict({"CLAWGATE_QUICKSTART_DIR": str(base),
                               "CLAWGATE_QUICKSTART_BUILD": str(REPO / "build-release"),
                               "OPENCLAW_GATEWAY_PORT": str(port)}, **(env or {})))
        self.proc = subprocess.Popen([str(REPO / "quickstart")] + list(args), cwd=REPO, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def banner(self):
        """The lines from "clawgate is running" to the Ctrl-C line."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if BANNER_END in "\n".join(self.lines):
                start = next(i for i, l in enumerate(self.lines)
                             if l.startswith("clawgate is running"))
                end = next(i for i, l in enumerate(self.lines) if BANNER_END in l)
                return self.lines[start:end + 1]
            if self.proc.poll() is not None:
                self.reader.join(5)
                pytest.fail("quickstart exited %s before its banner:\n%s" % (
                    self.proc.returncode, "\n".join(self.lines[-60:])))
            time.sleep(0.1)
        pytest.fail("no banner from quickstart within %d s:\n%s" % (
            START_TIMEOUT, "\n".join(self.lines[-60:])))

    def stop(self):
        """SIGTERM, as the shell's Ctrl-C would end it; it stops both daemons."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT)
        finally:
            self.reader.join(5)


@pytest.fixture
def quickstart():
    """./quickstart with its own directory and port; stopped at the end."""
    root = Path(tempfile.mkdtemp(prefix="clawgate-qs-"))
    # The daemons' accounts pass through on their way to the sockets.
    os.chmod(root, 0o755)
    qs = Quickstart(root / "qs", free_port())
    try:
        yield qs, root / "qs"
    finally:
        status = qs.stop()
        out = "\n".join(qs.lines)
        shutil.rmtree(root, ignore_errors=True)
        assert status in (143, 0), "quickstart ended with %s:\n%s" % (status, out)


def command(banner, pattern):
    """The one indented banner line matching pattern, as argv."""
    found = [l.strip() for l in banner if l.startswith("  ") and re.search(pattern, l)]
    assert len(found) == 1, (pattern, found, banner)
    return shlex.split(found[0])


def run_cli(openclaw, home, argv):
    assert argv[0] == "openclaw", argv
    return openclaw.run_cli(home, *argv[1:])


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, env=daemon_env())


def test_the_banners_commands_run_as_printed(openclaw, quickstart, hosts_alias, tmp_path):
    qs, base = quickstart
    banner = qs.banner()
    text = "\n".join(banner)

    # The dashboard URL is gatewayctl dashboard's (the token in force: the state file's).
    url = banner[banner.index(next(l for l in banner if l.startswith("Dashboard URL"))) + 1]
    token = (base / "state" / "gateway.token").read_text().strip()
    assert url.strip().endswith("/#token=" + token), url
    dashboard = command(banner, r" dashboard$")
    printed = run(dashboard)
    assert printed.returncode == 0 and "Dashboard URL: " + url.strip() in printed.stdout, printed

    # The loopback example: device-less, connects at once, no pairing request.
    health = run_cli(openclaw, tmp_path / "admin", command(banner, r"gateway call health "
                                                            r"--url ws://127\.0\.0\.1:"))
    assert health.returncode == 0, health
    listing = command(banner, r" devices list$")
    assert "No pending requests." in run(listing).stdout

    # The pairing example, with the alias the banner tells to add.
    assert re.search(r"echo '127\.0\.0\.1 %s' \| sudo tee -a /etc/hosts" % re.escape(ALIAS),
                     text), text
    hosts_alias(ALIAS)
    device = tmp_path / "device"
    cron = run_cli(openclaw, device, command(banner, r"openclaw cron list --url ws://%s:"
                                                     % re.escape(ALIAS)))
    assert cron.returncode == 1, cron
    match = REQUEST_ID.search(cron.stdout + cron.stderr)
    assert match, cron
    request_id = match.group(1)
    pending = run(listing)
    assert pending.returncode == 0 and request_id in pending.stdout, pending

    # The Control UI shows the banner's very gatewayctl command.
    prefix = listing[:-2]
    page = urllib.request.urlopen(url.strip().split("#")[0], timeout=10).read().decode()
    shown = re.search(r'data-gatewayctl="([^"]*)"', page).group(1)
    assert shlex.split(html.unescape(shown)) == prefix, (shown, prefix)

    approve = [a if a != "<requestId>" else request_id
               for a in command(banner, r" devices approve <requestId>$")]
    approved = run(approve)
    assert approved.returncode == 0 and "Approved" in approved.stdout, approved
    paired = run_cli(openclaw, device, command(banner, r"gateway call health --url ws://%s:"
                                                       % re.escape(ALIAS)))
    assert paired.returncode == 0, paired
    assert "Paired (1)" in run(listing).stdout


def test_with_openclaw_relays_to_the_real_gateway_behind_the_guard(openclaw, tmp_path):
    """./quickstart --with-openclaw: the real OpenClaw gateway as the upstream (from the
    same npm cache as the suite's), clawgate in relay mode in front of it, the guard
    loaded while it runs (the suite runs as root) and gone afterwards."""
    root = Path(tempfile.mkdtemp(prefix="clawgate-qs-relay-"))
    os.chmod(root, 0o755)
    upstream_port = free_port()
    qs = Quickstart(root / "qs", free_port(), args=["--with-openclaw"],
                    env={"CLAWGATE_UPSTREAM_PORT": str(upstream_port),
                         "CLAWGATE_OPENCLAW_CACHE": str(openclaw.CACHE)})
    try:
        banner = qs.banner()
        text = "\n".join(banner)
        assert "Relay mode:" in text and "127.0.0.1:%d" % upstream_port in text, text
        assert "Ctrl-C stops both daemons and the upstream." in text

        # The banner's loopback example goes through clawgate to the upstream: the
        # answer is the real gateway's config, in trusted-proxy mode.
        health = command(banner, r"gateway call health --url ws://127\.0\.0\.1:")
        config_get = health[:2] + ["call", "config.get"] + health[4:] + ["--json"]
        got = None
        for _ in range(30):   # the upstream refuses connects for a few s after it listens
            got = run_cli(openclaw, tmp_path / "admin", config_get)
            if got.returncode == 0:
                break
            time.sleep(1)
        assert got.returncode == 0, got
        assert '"trusted-proxy"' in got.stdout and str(upstream_port) in got.stdout, got.stdout

        # The guard, and gatewayctl's view of it.
        table = run(["nft", "list", "table", "inet", "clawgate_guard"])
        assert table.returncode == 0 and "dport %d" % upstream_port in table.stdout, table
        # Any other local account is refused at the upstream's port while gatewayd
        # (as clawgate-gw) relays through it, as the config.get above did.
        nobody = run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                      "/usr/bin/python3", "-c",
                      "import socket; socket.create_connection(('127.0.0.1', %d), 5)"
                      % upstream_port])
        assert nobody.returncode != 0 and "ConnectionRefusedError" in nobody.stderr, nobody
        check = command(banner, r" relay check$")
        checked = run(check)
        assert checked.returncode == 0 and "unguarded" not in checked.stdout, checked
    finally:
        status = qs.stop()
        out = "\n".join(qs.lines)
        shutil.rmtree(root, ignore_errors=True)
    assert status in (143, 0), "quickstart ended with %s:\n%s" % (status, out)
    assert run(["nft", "list", "table", "inet", "clawgate_guard"]).returncode != 0
    assert not port_accepts(upstream_port), "the upstream still listens after quickstart"
