"""The `gateway` fixture for suites outside tests/integration (compat, browser): one
brokerd + gatewayd per test from harness.py; on failure the daemon logs are printed
and the directory kept. A conftest imports both names below to use them."""

import pytest

from harness import Gateway


@pytest.fixture
def gateway(request):
    gw = Gateway()
    gw.start()
    yield gw
    try:
        gw.stop()
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print("daemon logs in %s:\n%s" % (gw.root, gw.logs()))
        else:
            gw.remove_root()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
