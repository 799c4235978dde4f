"""clawgate.relay in brokerd's config: accepted values reach gatewayd in BR_HELLO
(tests/unit/test_config.c checks the parsed form); a bad value stops brokerd at
start with a message that names the key and the fix; without clawgate.relay,
nothing changes."""

import json

import pytest


@pytest.mark.parametrize("relay, problem", [
    ({}, "clawgate.relay has no upstream: set clawgate.relay.upstream"),
    ({"upstream": 28811}, "clawgate.relay.upstream must be a string"),
    ({"upstream": "http://127.0.0.1:28811"}, "is not a ws:// URL"),
    ({"upstream": "wss://127.0.0.1:28811"}, "uses TLS, which clawgate does not speak"),
    ({"upstream": "ws://localhost:28811"}, "names localhost (write 127.0.0.1"),
    ({"upstream": "ws://openclaw.internal:28811"}, "does not name an IP address"),
    ({"upstream": "ws://127.0.0.1"}, "has no port"),
    ({"upstream": "ws://127.0.0.1:0"}, "has no port from 1 to 65535"),
    ({"upstream": "ws://127.0.0.1:70000"}, "has no port from 1 to 65535"),
    ({"upstream": "ws://[::1:28811"}, "has an unclosed ["),
    ({"upstream": "ws://127.0.0.1:28811/gw"}, "has a path"),
    ({"upstream": "ws://127.0.0.1:28811", "userHeader": "x forwarded"},
     "clawgate.relay.userHeader \"x forwarded\" is not a header name clawgate may set"),
    ({"upstream": "ws://127.0.0.1:28811", "userHeader": "X-Forwarded-User"},
     "is not a header name clawgate may set"),
    ({"upstream": "ws://127.0.0.1:28811", "requiredHeaders": ["Host"]},
     "clawgate.relay.requiredHeaders[0] \"Host\" is not a header name"),
    ({"upstream": "ws://127.0.0.1:28811", "requiredHeaders": "x-clawgate-relay"},
     "clawgate.relay.requiredHeaders must be an array"),
    ({"upstream": "ws://127.0.0.1:28811", "requiredHeaders": ["x-a"] * 2},
     "clawgate.relay.requiredHeaders[1] \"x-a\" is listed twice"),
    ({"upstream": "ws://127.0.0.1:28811", "requiredHeaders": ["X-Clawgate-User"]},
     "is clawgate.relay.userHeader too"),
    ({"upstream": "ws://127.0.0.1:28811", "requiredHeaders": ["x-%d" % i for i in range(9)]},
     "has 9 names, at most 8"),
    ({"upstream": "ws://127.0.0.1:28811", "user": "claw gate"},
     "clawgate.relay.user \"claw gate\" must be 1 to 64 visible ASCII characters"),
    ({"upstream": "ws://127.0.0.1:28811", "user": ""}, "clawgate.relay.user \"\" must be"),
    ({"upstream": "ws://127.0.0.1:28811", "clientIpPlaceholder": "127.0.0.9"},
     "clawgate.relay.clientIpPlaceholder \"127.0.0.9\" must be an IP address that is not "
     "loopback"),
    ({"upstream": "ws://127.0.0.1:28811", "clientIpPlaceholder": "client"},
     "clawgate.relay.clientIpPlaceholder \"client\" must be an IP address"),
    ({"upstream": "ws://127.0.0.1:28811", "upstreem": "x"},
     "unknown key clawgate.relay.upstreem"),
    ("ws://127.0.0.1:28811", "clawgate.relay must be an object"),
])
def test_a_bad_relay_setting_stops_brokerd(make_gateway, relay, problem):
    gw = make_gateway(start=False, config_clawgate={"relay": relay})
    if "unknown key" in problem:
        # A misspelt key is a warning; the relay itself is still configured.
        gw.start_broker()
        assert problem in gw.log_text("brokerd")
        return
    with pytest.raises(AssertionError):
        gw.start_broker()
    assert problem in gw.log_text("brokerd")
    gw.broker = None


def test_the_upstream_may_not_be_clawgate_itself(make_gateway):
    gw = make_gateway(start=False)
    config = json.loads(gw.config_path.read_text())
    config["clawgate"] = {"relay": {"upstream": "ws://127.0.0.1:%d" % gw.port}}
    gw.config_path.write_text(json.dumps(config))
    with pytest.raises(AssertionError):
        gw.start_broker()
    assert "is clawgate's own gateway.port: run the upstream on another port" in \
        gw.log_text("brokerd")
    gw.broker = None
