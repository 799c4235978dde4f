"""Fixtures for the relay suite: the real OpenClaw gateway as relay mode's upstream
(tests/lib/clawgate_test/upstream.py) with the loopback model server
(modelserver.py) as its only model provider.

  model_server  a ModelServer on 127.0.0.1, for the whole session
  upstream      one Upstream for the whole session (its start-up takes 20-40 s):
                trusted-proxy auth for a relay on 127.0.0.1, the Control UI origin
                UI_ORIGIN allowed; it must exit 0 on SIGTERM at the end

Both skip, loudly, only when the npm registry cannot be reached to install openclaw
(the `openclaw` fixture)."""

import pytest

from clawgate_test.modelserver import ModelServer
from clawgate_test.upstream import USER, Upstream

# The public origin a relay would serve the Control UI from (never contacted).
UI_ORIGIN = "https://relay.example:8443"


@pytest.fixture(scope="session")
def model_server():
    with ModelServer() as server:
        yield server


@pytest.fixture(scope="session")
def upstream(openclaw, model_server, tmp_path_factory):
    up = Upstream(tmp_path_factory.mktemp("upstream"), allowed_origins=[UI_ORIGIN],
                  extra=model_server.config())
    up.start()
    yield up
    status = up.stop()
    assert status == 0, "the upstream exited with %r on SIGTERM:\n%s" % (status, up.output())


def relay_config(upstream):
    """clawgate.relay for a clawgate in front of `upstream`."""
    return {"relay": {"upstream": upstream.url, "userHeader": upstream.user_header,
                      "requiredHeaders": list(upstream.required_headers), "user": USER}}


@pytest.fixture
def relay(make_gateway, upstream):
    """A clawgate (brokerd + gatewayd) in relay mode in front of the upstream, its
    Control UI origin the one the upstream allows."""
    return make_gateway(config_clawgate=relay_config(upstream),
                        config_extra={"controlUi": {"allowedOrigins": [UI_ORIGIN]}})
