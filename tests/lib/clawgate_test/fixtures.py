"""The pytest fixtures of every suite (loaded by tests/conftest.py).

  gateway       brokerd + gatewayd started fresh for the test (shared token in the
                config), stopped afterwards; both must exit 0 on SIGTERM.
  make_gateway  a factory for tests that need another set-up (no configured token,
                gatewayd under strace, a config edited before the start with
                start=False, ...); everything it started is stopped.
  tls_gateway   a gateway with gateway.tls on, its certificate made for the test:
                gw.cert (the PEM file) and gw.context (an ssl context trusting it)
  echo_relay    a factory: echo_relay(relay={...}, gateway={...}, **upstream options)
                starts an echo upstream (echoupstream.py) and a gateway whose
                clawgate.relay carries sessions to it (relay: more clawgate.relay
                keys; gateway: more gateway.* keys; env: the daemons' extra
                environment); returns (gateway, upstream), both stopped afterwards
  openclaw      Node 24 + openclaw 2026.9.6 installed once (the module
                openclaw_cli); skips, loudly, only when the npm registry cannot be
                reached
  close_tracked closes, after the test, every connection track() was given (a
                module that opens raw connections marks its tests with
                pytest.mark.usefixtures("close_tracked")), so that one test's
                sockets cannot hold gatewayd's budgets in the next

Every daemon a test started, restarts included, must not have died of a signal the
test did not send (Daemon.signal, Daemon.kill): a SIGSYS from the seccomp filter or
a crash fails the test even when the test itself did not notice.

On failure the end of both daemon logs is printed and the gateway's root dir kept."""

import ssl
import subprocess
import sys

import pytest

from . import clawclient, openclaw_cli
from .echoupstream import EchoUpstream
from .harness import Gateway, ensure_accounts


@pytest.fixture(scope="session", autouse=True)
def accounts():
    ensure_accounts()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


def _failed(request):
    return any(getattr(getattr(request.node, "report_" + when, None), "failed", False)
               for when in ("setup", "call"))


@pytest.fixture
def make_gateway(request):
    started = []

    def make(*, start=True, gatewayd_wrapper=(), gatewayd_args=(), **kwargs):
        gw = Gateway(**kwargs)
        started.append(gw)
        if start:
            gw.start(gatewayd_wrapper, gatewayd_args)
        return gw

    yield make
    clawclient.close_all()
    errors = []
    for gw in started:
        try:
            gw.stop()
        except AssertionError as exc:
            errors.append(str(exc))
            gw.kill()
        if _failed(request) or errors:
            print("daemon logs in %s:\n%s" % (gw.root, gw.logs()))
        else:
            gw.remove_root()
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture
def gateway(make_gateway):
    return make_gateway()


@pytest.fixture
def echo_relay(make_gateway, tmp_path):
    upstreams = []

    def make(relay=None, gateway=None, env=None, **upstream_options):
        up = EchoUpstream(tmp_path / ("echo-upstream-%d" % len(upstreams)), **upstream_options)
        upstreams.append(up.start())
        gw = make_gateway(start=False, config_extra=gateway,
                          config_clawgate={"relay": {"upstream": up.url, **(relay or {})}})
        gw.extra_env.update(env or {})
        gw.start()
        return gw, up
    yield make
    for up in upstreams:
        up.stop()


def self_signed_cert(directory):
    """A P-256 certificate for 127.0.0.1 and its key, made with openssl in
    directory: (cert path, key path)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.fixture
def tls_gateway(make_gateway, tmp_path):
    cert, key = self_signed_cert(tmp_path)
    gw = make_gateway(config_extra={"tls": {"enabled": True, "certPath": str(cert),
                                            "keyPath": str(key)}})
    gw.cert = cert
    gw.context = ssl.create_default_context(cafile=str(cert))
    return gw


def skip_loudly(message):
    """Skips the test with a banner on stderr that a summary cannot hide."""
    print("\n" + "!" * 78 + "\n" + message + "\n" + "!" * 78, file=sys.stderr)
    pytest.skip(message)


@pytest.fixture(scope="session")
def openclaw():
    try:
        openclaw_cli.install()
    except openclaw_cli.RegistryUnreachable as exc:
        skip_loudly("SKIPPED: %s" % exc)
    return openclaw_cli


_tracked = []


def track(conn):
    """Registers a connection (anything with close()) for close_tracked; returns it."""
    _tracked.append(conn)
    return conn


def close_all_tracked():
    while _tracked:
        _tracked.pop().close()


@pytest.fixture
def close_tracked():
    yield
    close_all_tracked()
