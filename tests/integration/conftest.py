"""Fixtures for the integration tests.

  gateway       brokerd + gatewayd started fresh for the test (shared token in the
                config), stopped afterwards; both must exit 0 on SIGTERM.
  make_gateway  a factory for tests that need another set-up (no configured token,
                gatewayd under strace, ...); everything it started is stopped.

Every daemon a test started, restarts included, must not have died of a signal the
test did not send (Daemon.signal, Daemon.kill): a SIGSYS from the seccomp filter or
a crash fails the test even when the test itself did not notice.

On failure the end of both daemon logs is printed and the gateway's root dir kept."""

import pytest

import clawclient
from harness import Gateway, ensure_accounts


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
