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

from clawgate_test.harness import REPO, daemon_env, free_port

BANNER_END = "Ctrl-C stops both daemons"
# A first run may have to build build-release.
START_TIMEOUT = 900
STOP_TIMEOUT = 30
ALIAS = "clawgate.local"
REQUEST_ID = re.compile(r"pairing required \(requestId: ([0-9a-f-]{36})\)")


class Quickstart:
    """./quickstart in the background, its output collected line by line."""

    def __init__(self, base, port):
        env = daemon_env({"CLAWGATE_QUICKSTART_DIR": str(base),
                          "CLAWGATE_QUICKSTART_BUILD": str(REPO / "build-release"),
                          "OPENCLAW_GATEWAY_PORT": str(port)})
        self.proc = subprocess.Popen([str(REPO / "quickstart")], cwd=REPO, env=env,
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
