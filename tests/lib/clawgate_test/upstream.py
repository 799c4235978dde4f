"""The real OpenClaw gateway (`openclaw gateway run`, npm openclaw 2026.9.6 from the
openclaw_cli cache) as the upstream of relay mode: trusted-proxy auth for a proxy on
127.0.0.1, a private HOME, a free loopback port, and nothing reached but loopback.

  Upstream          writes openclaw.json into <root>/home/.openclaw, starts the gateway
                    in its own process group, waits (bounded) until a trusted-proxy
                    connect gets hello-ok, stops it (SIGTERM, SIGKILL on timeout)
  relay_headers     the upgrade headers a relay sends: identity, required header,
                    a non-loopback X-Forwarded-For, optionally x-openclaw-scopes
  open_ws, recv, connect
                    a WebSocket client that takes the upstream's frames as they are
                    (no clawgate shape checks): the challenge, the connect `res`
  relay_params      connect params as a relay hands them on: no `device`, no `auth`
  presence          the upstream's presence list, through a probe connect of its own

What keeps the gateway off the network (OpenClaw's own switches): channels, Bonjour,
update checks and the hosted model catalog are off; the only model provider is the
one the caller configures (modelserver.ModelServer on loopback)."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from . import clawclient, openclaw_cli
from .harness import free_port, log_tail, port_accepts

USER_HEADER = "x-clawgate-user"
REQUIRED_HEADERS = ("x-clawgate-relay",)
USER = "clawgate"
# Every operator scope OpenClaw 2026.9.6 knows; the identity's ceiling lists them all.
ALL_SCOPES = ("operator.admin", "operator.read", "operator.write", "operator.approvals",
              "operator.questions", "operator.pairing", "operator.talk",
              "operator.talk.secrets")
# A documentation address (RFC 5737): not loopback, not one of this host's addresses.
PLACEHOLDER_CLIENT = "192.0.2.1"

# Node start-up plus plugin loading takes 20-40 s on a busy 2-core machine.
START_TIMEOUT = 150.0
STOP_TIMEOUT = 20.0
TIMEOUT = 10.0

# OpenClaw's switches for a gateway embedded in another program, plus no update checks.
QUIET_ENV = {
    "OPENCLAW_DISABLE_BONJOUR": "1",
    "OPENCLAW_NO_RESPAWN": "1",
    "OPENCLAW_SKIP_CHANNELS": "1",
    "OPENCLAW_NO_AUTO_UPDATE": "1",
    "OPENCLAW_EXEC_SHELL_SNAPSHOT": "0",
}


def gateway_config(port, *, user_header=USER_HEADER, required_headers=REQUIRED_HEADERS,
                   allow_users=(USER,), identity_scopes=None, allowed_origins=(),
                   trusted_proxies=("127.0.0.1",), log_file=None, extra=None):
    """The upstream's openclaw.json as a dict: trusted-proxy auth for a relay on
    127.0.0.1 (allowLoopback), identity_scopes defaulting to every scope for each
    allowed user; extra (e.g. modelserver config) is merged in at the top level,
    one level deep."""
    if identity_scopes is None:
        identity_scopes = {user: list(ALL_SCOPES) for user in allow_users}
    config = {
        "gateway": {
            "mode": "local",
            "port": port,
            "bind": "loopback",
            "trustedProxies": list(trusted_proxies),
            "auth": {
                "mode": "trusted-proxy",
                "trustedProxy": {
                    "userHeader": user_header,
                    "requiredHeaders": list(required_headers),
                    "allowUsers": list(allow_users),
                    "allowLoopback": True,
                },
                "identityScopes": identity_scopes,
            },
            "controlUi": {"allowedOrigins": list(allowed_origins)},
        },
        "update": {"checkOnStart": False},
        "discovery": {"mdns": {"mode": "off"}},
        "models": {"catalogRefresh": {"enabled": False}},
        # No automations (the heartbeat's agent turns): a turn still running
        # when a test stops the upstream holds its SIGTERM drain for minutes.
        "cron": {"enabled": False},
    }
    if log_file is not None:
        config["logging"] = {"file": str(log_file)}
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = dict(config[key], **value)
        else:
            config[key] = value
    return config


def relay_headers(upstream, *, user=USER, forwarded_for=PLACEHOLDER_CLIENT, scopes=None,
                  omit=(), extra=()):
    """The upgrade headers of a relayed session as (name, value) pairs: the userHeader
    with user, each required header, X-Forwarded-For, and x-openclaw-scopes when
    scopes is a list. Names in omit are left out."""
    headers = [(upstream.user_header, user)]
    headers += [(name, "1") for name in upstream.required_headers]
    if forwarded_for is not None:
        headers.append(("X-Forwarded-For", forwarded_for))
    if scopes is not None:
        headers.append(("x-openclaw-scopes", ",".join(scopes)))
    omitted = {name.lower() for name in omit}
    return [(k, v) for k, v in headers if k.lower() not in omitted] + list(extra)


def relay_params(*, client_id="cli", mode="cli", scopes=("operator.read",), role="operator"):
    """Connect params shaped like the CLI's, with no `device` and no `auth`: what a
    relay sends upstream after it admitted the client itself."""
    return clawclient.cli_params(scopes=scopes, role=role, client_id=client_id, mode=mode)


def open_ws(upstream, headers, *, origin=None, timeout=TIMEOUT):
    return clawclient.Connection.open(upstream.url, origin=origin, headers=headers,
                                      timeout=timeout)


def recv(conn, timeout=TIMEOUT):
    """The next frame, parsed, exactly as the upstream sent it."""
    text = conn.recv_text(timeout)
    assert isinstance(text, str), "the upstream sent a binary frame: %r" % (text[:80],)
    return json.loads(text)


def request(conn, method, params=None, *, timeout=TIMEOUT):
    """Sends a req and returns (its res, the events that came before it)."""
    req_id = "clawgate-test-%s" % os.urandom(6).hex()
    frame = {"type": "req", "id": req_id, "method": method}
    if params is not None:
        frame["params"] = params
    conn.send(frame, timeout)
    events = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "no res to %s within %.0f s (events: %r)" % (method, timeout, events)
        got = recv(conn, left)
        if got.get("type") == "res" and got.get("id") == req_id:
            return got, events
        events.append(got)


def connect(upstream, headers, params=None, *, origin=None, timeout=TIMEOUT):
    """Opens a WebSocket with headers, reads connect.challenge and sends connect
    (params default: relay_params()). Returns (conn, challenge frame, connect res)."""
    conn = open_ws(upstream, headers, origin=origin, timeout=timeout)
    challenge = recv(conn, timeout)
    res, _ = request(conn, "connect", params if params is not None else relay_params(),
                     timeout=timeout)
    return conn, challenge, res


def presence(upstream, timeout=TIMEOUT):
    """The upstream's presence list (`system-presence`), asked over a relayed
    connect of its own: one entry per client instance, `reason` "disconnect" once
    its socket closed."""
    conn, _, res = connect(upstream, relay_headers(upstream), timeout=timeout)
    try:
        assert res.get("ok"), "the upstream refused the presence probe: %r" % (res,)
        got, _ = request(conn, "system-presence", timeout=timeout)
        assert got.get("ok"), "system-presence failed: %r" % (got,)
        return got["payload"]
    finally:
        conn.close()


def _close_of(conn, timeout=2.0):
    """The (code, reason) the upstream closes conn with; None if it does not."""
    try:
        return conn.expect_close(timeout)
    except (AssertionError, TimeoutError):
        return None


class Upstream:
    """One real OpenClaw gateway on 127.0.0.1:<free port>, configured by
    gateway_config(); root holds home/ (HOME), gateway.out (stdout+stderr) and
    openclaw.log (the gateway's own log file). wrapper (e.g. strace argv) goes
    before the openclaw command."""

    def __init__(self, root, *, user_header=USER_HEADER, required_headers=REQUIRED_HEADERS,
                 allow_users=(USER,), identity_scopes=None, allowed_origins=(), extra=None,
                 port=None, wrapper=()):
        self.root = Path(root)
        self.home = self.root / "home"
        self.config_path = self.home / ".openclaw" / "openclaw.json"
        self.out_path = self.root / "gateway.out"
        self.log_path = self.root / "openclaw.log"
        self.user_header = user_header
        self.required_headers = tuple(required_headers)
        self.allow_users = tuple(allow_users)
        self.allowed_origins = tuple(allowed_origins)
        self.port = port or free_port()
        self.config = gateway_config(
            self.port, user_header=user_header, required_headers=required_headers,
            allow_users=allow_users, identity_scopes=identity_scopes,
            allowed_origins=allowed_origins, log_file=self.log_path, extra=extra)
        self.wrapper = list(wrapper)
        self.proc = None
        self.startup_seconds = None
        # What start() saw before the first hello-ok, in order: (seconds since the
        # spawn, "listening"), (seconds, a refused connect's res, its close (code,
        # reason)) or (seconds, the exception).
        self.startup_events = []

    @property
    def url(self):
        return "ws://127.0.0.1:%d" % self.port

    def start(self, timeout=START_TIMEOUT):
        """Writes the config, starts the gateway and waits until a relayed connect
        gets hello-ok; raises AssertionError with the log's end if it does not."""
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config, indent=2) + "\n")
        env = openclaw_cli.cli_env(self.home)
        env.update(QUIET_ENV)
        started = time.monotonic()
        with open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen(
                self.wrapper + [str(openclaw_cli.OPENCLAW), "gateway", "run",
                                "--port", str(self.port), "--bind", "loopback"],
                cwd=self.root, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready(started, started + timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _check_alive(self):
        if self.proc.poll() is not None:
            raise AssertionError("the upstream openclaw gateway exited with %s during start-up;"
                                 " its output:\n%s" % (self.proc.returncode, self.output()))

    def _wait_ready(self, started, deadline):
        while not port_accepts(self.port):
            self._check_alive()
            assert time.monotonic() < deadline, \
                "the upstream did not listen on 127.0.0.1:%d in time:\n%s" % (
                    self.port, self.output())
            time.sleep(0.25)
        self.startup_events.append((time.monotonic() - started, "listening"))
        last = None
        while True:
            self._check_alive()
            assert time.monotonic() < deadline, \
                "the upstream never accepted a relayed connect (last answer %r):\n%s" % (
                    last, self.output())
            try:
                conn, _, res = connect(self, relay_headers(self))
                close = None if res.get("ok") else _close_of(conn)
                conn.close()
            except (clawclient.Closed, OSError, TimeoutError, AssertionError) as exc:
                last = repr(exc)
                self.startup_events.append((time.monotonic() - started, last))
                time.sleep(0.5)
                continue
            if res.get("ok"):
                return
            last = res
            self.startup_events.append((time.monotonic() - started, res, close))
            retry_ms = (res.get("error") or {}).get("retryAfterMs") or 500
            time.sleep(min(max(retry_ms, 100), 2000) / 1000.0)

    def output(self, lines=60):
        return "--- %s\n%s\n--- %s\n%s" % (self.out_path, log_tail(self.out_path, lines),
                                           self.log_path, log_tail(self.log_path, lines))

    def log_text(self):
        """stdout+stderr and the gateway's log file, as one text."""
        parts = []
        for path in (self.out_path, self.log_path):
            try:
                parts.append(path.read_text(errors="replace"))
            except OSError:
                pass
        return "\n".join(parts)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM to the gateway's process group; SIGKILL when it is not gone within
        timeout. Returns the exit status (None if killed)."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        status = None
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                status = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        else:
            status = proc.returncode
        # Whatever is left of the group (the gateway's helper processes) goes too.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)
        return status
