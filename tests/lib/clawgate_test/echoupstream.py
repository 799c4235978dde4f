"""The echo upstream (tests/tools/echo-upstream, built into $CLAWGATE_BUILD): a
loopback stand-in for relay mode's upstream OpenClaw gateway that speaks the
upstream's side of doc/relay.md ("The upstream as observed": the upgrade checks,
connect.challenge, a trusted-proxy hello-ok) and then echoes every request's params
as its `res` payload; `echo.events {size, count}` makes it send count events of
size bytes, `echo.close {code, reason}` makes it close. It records every upgrade
request's headers and every connect's params, which is how the tests see what a
relay sends upstream.

    with EchoUpstream(tmp_path) as up:
        up.url, up.port, up.upgrades() -> [[(name, value), ...] per upgrade],
        up.connects() -> [params, ...]
"""

import json
import os
import select
import subprocess
import time
from pathlib import Path

from .harness import BUILD

ECHO_UPSTREAM = BUILD / "tests" / "tools" / "echo-upstream"
START_TIMEOUT = 10.0

# The headers a relay must send (the real upstream's configuration in doc/relay.md).
USER_HEADER = "x-clawgate-user"
USER = "clawgate"
REQUIRED_HEADER = "x-clawgate-relay"


class EchoUpstream:
    def __init__(self, root, *, user_header=USER_HEADER, user=USER,
                 required=(REQUIRED_HEADER,), addr="127.0.0.1", port=0):
        """addr, port: where to listen (a loopback address; port 0: a free one)."""
        if not os.access(ECHO_UPSTREAM, os.X_OK):
            raise AssertionError("not built: %s (ninja -C %s)" % (ECHO_UPSTREAM, BUILD))
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.record = self.root / "echo-upstream.jsonl"
        self.addr = addr
        self.argv = [str(ECHO_UPSTREAM), "--addr", addr, "--port", str(port),
                     "--record", str(self.record),
                     "--user-header", user_header, "--user", user]
        for name in required:
            self.argv += ["--required", name]
        self.proc = None
        self.port = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                     stderr=open(self.root / "echo-upstream.log", "ab"),
                                     stdin=subprocess.DEVNULL)
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("port "):
            self.stop()
            raise AssertionError("echo-upstream did not start (printed %r)" % line)
        self.port = int(line.split()[1])
        return self

    @property
    def url(self):
        return "ws://%s:%d" % (self.addr, self.port)

    def _records(self, key):
        if not self.record.exists():
            return []
        out = []
        for line in self.record.read_text().splitlines():
            rec = json.loads(line)
            if key in rec:
                out.append(rec[key])
        return out

    def upgrades(self):
        """Each upgrade request's headers, in order: [(name, value), ...]."""
        return [[tuple(h) for h in headers] for headers in self._records("headers")]

    def connects(self):
        """Each connect request's params, in order."""
        return self._records("connect")

    def wait_upgrades(self, count, timeout=5.0):
        deadline = time.monotonic() + timeout
        while len(self.upgrades()) < count:
            assert time.monotonic() < deadline, "echo-upstream saw %d upgrades, want %d" % (
                len(self.upgrades()), count)
            time.sleep(0.02)
        return self.upgrades()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
