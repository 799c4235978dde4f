"""Runs the real daemons for a test: brokerd and gatewayd from the build tree on a
private state dir, socket dir and free loopback port, plus gatewayctl.

The build dir is $CLAWGATE_BUILD (default <repo>/build). Daemon logs go to files in
the gateway's root dir; when a daemon fails to start or exits badly, the error
quotes the end of its log. Sanitizer reports in a log fail the stop."""

import http.client
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
BUILD = Path(os.environ.get("CLAWGATE_BUILD", REPO / "build")).resolve()
BROKERD = BUILD / "brokerd" / "brokerd"
GATEWAYD = BUILD / "gatewayd" / "gatewayd"
GATEWAYCTL = BUILD / "brokerd" / "gatewayctl"

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
CTL_TIMEOUT = 10.0

# Daemons stop at the first sanitizer error. Leak checking is for the unit tests:
# a daemon killed by SIGTERM need not free everything, and LeakSanitizer cannot run
# under strace (both use ptrace).
SANITIZER_ENV = {
    "ASAN_OPTIONS": "halt_on_error=1:abort_on_error=1:detect_leaks=0",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")
# $CLAWGATE_STRACE_DIR: trace every daemon the tests start with strace -f into
# that directory (scripts/sandbox-syscalls turns the traces into the system calls
# made after entering the sandbox: how the allowlists were derived).
STRACE_DIR = os.environ.get("CLAWGATE_STRACE_DIR")

# The environment a daemon must not inherit from whoever runs the tests.
SCRUBBED_ENV = ("OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_PORT", "OPENCLAW_GATEWAY_PASSWORD",
                "OPENCLAW_HANDSHAKE_TIMEOUT_MS", "CLAWGATE_CONTROL_SOCKET",
                "OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP", "CLAWGATE_GATEWAYCTL")


SYSUSERS = REPO / "systemd" / "clawgate.sysusers"


def ensure_accounts():
    """Started as root, the daemons drop to clawgate-broker and clawgate-gw
    (doc/design.md §4), and clawgate-admin may use gatewayctl: as root, create the
    accounts from the sysusers.d file an installed clawgate ships (a no-op when
    they exist). As anyone else the daemons stay who they are."""
    if os.geteuid() != 0:
        return
    proc = subprocess.run(["systemd-sysusers", str(SYSUSERS)], capture_output=True, text=True,
                          timeout=CTL_TIMEOUT, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise AssertionError("systemd-sysusers %s failed (%d): %s" % (SYSUSERS, proc.returncode,
                                                                     proc.stderr))


def require_binaries():
    missing = [str(p) for p in (BROKERD, GATEWAYD, GATEWAYCTL) if not os.access(p, os.X_OK)]
    if missing:
        raise AssertionError("not built: %s (build with `ninja -C %s`, or point CLAWGATE_BUILD "
                             "at a build dir)" % (", ".join(missing), BUILD))


def daemon_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(SANITIZER_ENV)
    env.update(extra or {})
    return env


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port, addr="127.0.0.1"):
    try:
        with socket.create_connection((addr, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout, message, interval=0.05):
    """Calls predicate until it returns something true, which is returned; raises
    AssertionError(message) when timeout seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, message
        time.sleep(interval)


def children(pid):
    """The pids of a process's children (gatewayd --workers: the workers)."""
    return [int(p) for p in Path("/proc/%d/task/%d/children" % (pid, pid)).read_text().split()]


def http_request(host, port, path, method="GET", headers=None, context=None):
    """One HTTP/1.1 request on a new connection (HTTPS with an ssl context):
    (status, headers with lower-case names, body)."""
    if context is None:
        conn = http.client.HTTPConnection(host, port, timeout=5)
    else:
        conn = http.client.HTTPSConnection(host, port, timeout=5, context=context)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def log_tail(path, lines=40):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "(no log at %s)" % path
    return "\n".join(text.splitlines()[-lines:]) or "(empty log %s)" % path


class CtlResult:
    def __init__(self, args, proc, want_json):
        self.args = args
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.json = None
        if want_json and self.rc == 0:
            try:
                self.json = json.loads(self.stdout)
            except ValueError as exc:
                raise AssertionError("gatewayctl %s printed no JSON (%s):\n%s" % (
                    " ".join(args), exc, self.stdout)) from None

    @property
    def output(self):
        return self.stdout + self.stderr

    def __repr__(self):
        return "gatewayctl %s -> rc %d\nstdout: %s\nstderr: %s" % (
            " ".join(self.args), self.rc, self.stdout, self.stderr)


def run_gatewayctl(*args, socket_path=None, json_output=False, env=None):
    """Runs gatewayctl [--socket socket_path] args [--json]."""
    argv = [str(GATEWAYCTL)]
    if socket_path is not None:
        argv += ["--socket", str(socket_path)]
    argv += list(args)
    if json_output:
        argv.append("--json")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=CTL_TIMEOUT,
                          env=daemon_env(env), stdin=subprocess.DEVNULL)
    return CtlResult(list(args) + (["--json"] if json_output else []), proc, json_output)


class Daemon:
    """One daemon process. With a wrapper (e.g. strace) the daemon is the wrapper's
    child; signals go to the daemon itself and the wrapper passes on its exit."""

    def __init__(self, name, argv, log_path, env, cwd, wrapper=()):
        if STRACE_DIR and not wrapper:
            trace = tempfile.mkstemp(prefix=name + ".", suffix=".strace", dir=STRACE_DIR)
            os.close(trace[0])
            wrapper = ("strace", "-f", "-qq", "-o", trace[1])
        self.name = name
        self.log_path = log_path
        self.wrapped = bool(wrapper)
        # The signals the test itself sent: death by any other one is a failure.
        self.sent = set()
        with open(log_path, "ab") as log:
            # Restarts append to the same log: this process's lines start here.
            self.log_start = log.tell()
            self.proc = subprocess.Popen(list(wrapper) + argv, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env, cwd=cwd)

    def alive(self):
        return self.proc.poll() is None

    @property
    def pid(self):
        """The daemon's own pid (not the wrapper's)."""
        if not self.wrapped:
            return self.proc.pid
        deadline = time.monotonic() + START_TIMEOUT
        path = "/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)
        while time.monotonic() < deadline:
            try:
                children = Path(path).read_text().split()
            except OSError:
                children = []
            if children:
                return int(children[0])
            time.sleep(0.02)
        raise AssertionError("%s: no child of the wrapper appeared" % self.name)

    def signal(self, sig):
        """Sends sig to the daemon; death by it is then not counted as a crash."""
        self.sent.add(sig)
        os.kill(self.pid, sig)

    def unexpected_signal(self):
        """The name of the signal that killed the daemon when the test did not
        send it (SIGSYS: the seccomp filter refused a call), else None."""
        rc = self.proc.poll()
        if rc is None or rc >= 0 or -rc in self.sent:
            return None
        return signal.Signals(-rc).name

    def logged(self, text):
        """Whether this process (not an earlier one with the same log) logged text."""
        with open(self.log_path, "rb") as log:
            log.seek(self.log_start)
            return text in log.read().decode(errors="replace")

    def fail(self, what):
        raise AssertionError("%s %s; end of its log:\n%s" % (self.name, what,
                                                            log_tail(self.log_path)))

    def stop(self):
        """SIGTERM, then the daemon must exit 0 within STOP_TIMEOUT."""
        if self.alive():
            try:
                self.signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.fail("did not exit within %.0f s of SIGTERM" % STOP_TIMEOUT)
        if rc != 0:
            self.fail("exited with status %d (want 0 after SIGTERM)" % rc)
        self.check_sanitizers()

    def kill(self):
        if self.alive():
            self.sent.add(signal.SIGKILL)
            self.proc.kill()
        self.proc.wait()

    def check_signal(self):
        sig = self.unexpected_signal()
        if sig == "SIGSYS":
            self.fail("was killed by SIGSYS: its seccomp filter refused a system call "
                      "(rebuild with -Dseccomp=trap to have it named in the log)")
        if sig is not None:
            self.fail("was killed by %s, which the test did not send" % sig)

    def check_sanitizers(self):
        text = Path(self.log_path).read_text(errors="replace")
        for mark in SANITIZER_MARKS:
            if mark in text:
                self.fail("reported a sanitizer error (%r)" % mark)


class Gateway:
    """brokerd + gatewayd on a private root dir:
        <root>/clawgate.json   config (gateway.port, gateway.auth.token if config_token)
        <root>/state/          brokerd's state dir (brokerd creates it)
        <root>/run/            socket dir: gateway.sock, control.sock (brokerd creates it)
        <root>/brokerd.log, <root>/gatewayd.log
    The root is short (under /tmp) so socket paths stay below the 108-byte limit."""

    def __init__(self, *, config_token=True, config_extra=None, broker_env=None,
                 listen_addr=None, config_clawgate=None, port=None):
        """listen_addr: bind that one address (gateway.bind custom) instead of loopback;
        config_clawgate: the config's top-level "clawgate" object (clawgate's own keys);
        port: the port to listen on (default: a free one), for a peer that must know
        clawgate's origin before clawgate starts."""
        require_binaries()
        self.broker_env = broker_env     # extra environment for brokerd
        self.addr = listen_addr or "127.0.0.1"
        self.root = Path(tempfile.mkdtemp(prefix="clawgate-"))
        # Like /run and /var/lib: the daemons' unprivileged accounts may pass through
        # (gatewayd reconnects to <root>/run/gateway.sock after dropping to clawgate-gw);
        # the state dir inside stays the broker's alone (0700).
        os.chmod(self.root, 0o755)
        self.state_dir = self.root / "state"
        self.sock_dir = self.root / "run"
        self.config_path = self.root / "clawgate.json"
        self.control_socket = self.sock_dir / "control.sock"
        self.port = port or free_port()
        self.configured_token = secrets.token_urlsafe(32) if config_token else None
        gateway = {
            "port": self.port,
            "bind": "loopback",
            "auth": {"mode": "token"},
            "nodes": {"pairing": {"autoApproveLocal": False}},
        }
        if self.configured_token:
            gateway["auth"]["token"] = self.configured_token
        if listen_addr:
            gateway.update(bind="custom", customBindHost=listen_addr)
        config = {"gateway": gateway}
        for key, value in (config_extra or {}).items():
            config["gateway"][key] = value
        if config_clawgate is not None:
            config["clawgate"] = config_clawgate
        self.write_config(config)
        self.broker = None
        self.gatewayd = None
        # Every daemon started, restarts included: none may die of a signal the
        # test did not send (check_signals).
        self.daemons = []
        # Extra environment for the next daemon started (e.g. NOTIFY_SOCKET).
        self.extra_env = {}

    def write_config(self, config):
        """Replaces the config file with config (a dict). It holds the shared token:
        readable by its owner alone, as an admin keeps it; started as root, that owner
        is the account brokerd drops to, which re-reads it on SIGHUP (as
        brokerd.service's account does)."""
        self.config_path.touch(mode=0o600)
        self.config_path.write_text(json.dumps(config, indent=2))
        if os.geteuid() == 0:
            pw = pwd.getpwnam("clawgate-broker")
            os.chown(self.config_path, pw.pw_uid, pw.pw_gid)

    def config(self):
        return json.loads(self.config_path.read_text())

    @property
    def url(self):
        host = "[%s]" % self.addr if ":" in self.addr else self.addr
        return "ws://%s:%d/" % (host, self.port)

    @property
    def token(self):
        """The shared token in force: the configured one, else the one brokerd keeps."""
        if self.configured_token:
            return self.configured_token
        return self.token_file_contents()

    def token_file_contents(self):
        return (self.state_dir / "gateway.token").read_text().strip()

    def start(self, gatewayd_wrapper=(), gatewayd_args=()):
        self.start_broker()
        self.start_gatewayd(gatewayd_wrapper, args=gatewayd_args)

    def start_broker(self, prefix=()):
        """prefix: a command that execs the daemon in its own process (setpriv ...)."""
        self.broker = Daemon("brokerd", [
            *prefix, str(BROKERD), "--config", str(self.config_path),
            "--state-dir", str(self.state_dir), "--socket-dir", str(self.sock_dir),
            "--log-level", "debug",
        ], self.root / "brokerd.log",
            daemon_env({**self.extra_env, **(self.broker_env or {})}), self.root)
        self.daemons.append(self.broker)
        gw_sock = self.sock_dir / "gateway.sock"
        # "ready" comes once the sockets have their groups and the sandbox is on.
        self._wait("brokerd to create %s and %s and log ready" % (gw_sock, self.control_socket),
                   lambda: gw_sock.is_socket() and self.control_socket.is_socket() and
                   self.broker.logged("brokerd: info: ready:"), self.broker)

    def start_gatewayd(self, wrapper=(), prefix=(), wait_port=None, args=()):
        """wrapper: a parent process of the daemon (strace); prefix: a command that
        execs it (setpriv, systemd-socket-activate); wait_port: the port it serves
        (default: the configured one); args: more gatewayd options."""
        port = wait_port or self.port
        self.gatewayd = Daemon("gatewayd", [
            *prefix, str(GATEWAYD), "--socket-dir", str(self.sock_dir), "--log-level", "debug",
        ] + list(args), self.root / "gatewayd.log", daemon_env(self.extra_env), self.root,
            wrapper)
        self.daemons.append(self.gatewayd)
        # It listens before it enters the sandbox: wait for both.
        self._wait("gatewayd to accept on %s port %d and enter its sandbox" % (self.addr, port),
                   lambda: port_accepts(port, self.addr) and
                   self.gatewayd.logged("sandbox entered"), self.gatewayd)

    def _wait(self, what, ready, daemon):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if ready():
                return
            if not daemon.alive():
                daemon.fail("exited with status %s while waiting for %s" % (
                    daemon.proc.returncode, what))
            time.sleep(0.05)
        daemon.fail("not ready after %.0f s: waited for %s" % (START_TIMEOUT, what))

    def stop(self):
        """Stops gatewayd, then brokerd; both must exit cleanly, and no daemon
        this gateway started may have died of a signal the test did not send.
        Both are stopped even if the first fails."""
        errors = []
        try:
            self.check_signals()
        except AssertionError as exc:
            errors.append(str(exc))
        for name in ("gatewayd", "broker"):
            daemon = getattr(self, name)
            setattr(self, name, None)
            if daemon is None:
                continue
            try:
                daemon.stop()
            except AssertionError as exc:
                errors.append(str(exc))
        if errors:
            raise AssertionError("\n\n".join(errors))

    def check_signals(self):
        """Fails if any daemon this gateway started died of a signal the test
        did not send: a crash, or the seccomp filter killing it."""
        errors = []
        for daemon in self.daemons:
            try:
                daemon.check_signal()
            except AssertionError as exc:
                errors.append(str(exc))
        if errors:
            raise AssertionError("\n\n".join(errors))

    def kill(self):
        for daemon in (self.gatewayd, self.broker):
            if daemon is not None:
                daemon.kill()
        self.gatewayd = self.broker = None

    def restart(self):
        self.stop()
        self.start()

    def ctl(self, *args, json_output=False, env=None):
        """gatewayctl --socket <run>/control.sock args [--json]."""
        return run_gatewayctl(*args, socket_path=self.control_socket, json_output=json_output,
                              env=env)

    def ctl_ok(self, *args, json_output=False):
        result = self.ctl(*args, json_output=json_output)
        assert result.rc == 0, result
        return result

    def devices(self):
        """`gatewayctl devices list --json`: {"pending": [...], "paired": [...]}."""
        return self.ctl_ok("devices", "list", json_output=True).json

    def paired_entry(self, device_id):
        """The one paired record of device_id in `gatewayctl devices list`."""
        (entry,) = [d for d in self.devices()["paired"] if d["deviceId"] == device_id]
        return entry

    def http(self, path, method="GET", headers=None, context=None):
        """An HTTP request to the gateway port: (status, headers, body)."""
        return http_request(self.addr, self.port, path, method, headers, context)

    def log_text(self, name):
        """Everything daemon name ("brokerd" or "gatewayd") logged so far."""
        return (self.root / ("%s.log" % name)).read_text(errors="replace")

    def log_lines(self, name, prefix):
        """The lines of daemon name's log that start with prefix."""
        return [line for line in self.log_text(name).splitlines() if line.startswith(prefix)]

    def logs(self):
        return "\n".join(log_tail(self.root / name, 60)
                         for name in ("brokerd.log", "gatewayd.log"))

    def remove_root(self):
        shutil.rmtree(self.root, ignore_errors=True)
