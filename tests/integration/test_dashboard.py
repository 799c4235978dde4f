"""`gatewayctl dashboard`: the Control UI's URL with the shared token in force
(config > OPENCLAW_GATEWAY_TOKEN > the state file), without changing it; no token in
the URL for auth modes password and none; brokerd never logs the token."""

import json
from urllib.parse import unquote, urlsplit

import pytest

from clawgate_test.harness import free_port, http_request


def dashboard(gw):
    human = gw.ctl_ok("dashboard").stdout
    answer = gw.ctl_ok("dashboard", json_output=True).json
    assert human.splitlines()[0] == "Dashboard URL: %s" % answer["url"], human
    assert answer["assumes"] in human, "the human output says what the URL assumes"
    for note in answer["notes"]:
        assert note in human
    return human, answer


def fetch_page(url):
    """GETs the page the URL names (its fragment never leaves the browser)."""
    parts = urlsplit(url)
    status, _, body = http_request(parts.hostname, parts.port, parts.path)
    return status, body


def url_token(url):
    fragment = urlsplit(url).fragment
    assert fragment.startswith("token="), url
    return unquote(fragment[len("token="):])


def test_the_configured_token_and_a_page_that_loads(gateway):
    human, answer = dashboard(gateway)
    assert answer["url"] == "http://127.0.0.1:%d/#token=%s" % (gateway.port, gateway.token)
    assert answer["httpUrl"] == "http://127.0.0.1:%d/" % gateway.port
    assert answer["wsUrl"] == "ws://127.0.0.1:%d" % gateway.port
    assert answer["port"] == gateway.port
    assert answer["authMode"] == "token" and answer["tokenIncluded"] is True
    assert answer["gatewaysConnected"] == 1 and answer["notes"] == []
    assert str(gateway.config_path) in answer["assumes"]
    assert "socket activation" in answer["assumes"]
    assert "keep it to yourself" in human
    status, body = fetch_page(answer["url"])
    assert status == 200 and b"<title>clawgate Control UI</title>" in body
    assert gateway.token not in gateway.log_text("brokerd")
    assert "control: gave the dashboard URL (with the shared token) to uid" in \
        gateway.log_text("brokerd")


def test_the_state_files_token_and_it_stays(make_gateway):
    """dashboard only shows the token: the file is unchanged and sessions stay;
    after token rotate it shows the new one."""
    gw = make_gateway(config_token=False)
    token = gw.token_file_contents()
    assert url_token(dashboard(gw)[1]["url"]) == token
    assert gw.token_file_contents() == token
    rotated = gw.ctl_ok("token", "rotate").stdout.strip()
    assert rotated != token and url_token(dashboard(gw)[1]["url"]) == rotated
    log = gw.log_text("brokerd")
    assert token not in log and rotated not in log


def test_the_environment_token_unless_the_config_sets_one(make_gateway):
    env = {"OPENCLAW_GATEWAY_TOKEN": "from env/with+odd&chars"}
    gw = make_gateway(config_token=False, broker_env=env)
    url = dashboard(gw)[1]["url"]
    assert url.endswith("#token=from%20env%2Fwith%2Bodd%26chars"), url
    assert url_token(url) == env["OPENCLAW_GATEWAY_TOKEN"]
    both = make_gateway(broker_env=env)
    assert url_token(dashboard(both)[1]["url"]) == both.configured_token


def test_password_mode_puts_no_secret_in_the_url(make_gateway):
    gw = make_gateway(config_token=False,
                      config_extra={"auth": {"mode": "password", "password": "pw-s3cret"}})
    human, answer = dashboard(gw)
    assert answer["url"] == answer["httpUrl"] == "http://127.0.0.1:%d/" % gw.port
    assert answer["authMode"] == "password" and answer["tokenIncluded"] is False
    assert "pw-s3cret" not in human + json.dumps(answer)
    assert any("enter the gateway password" in n for n in answer["notes"]), answer["notes"]
    assert "pw-s3cret" not in gw.log_text("brokerd")


def test_auth_mode_none_says_no_token_is_needed(make_gateway):
    gw = make_gateway(config_token=False, config_extra={"auth": {"mode": "none"}})
    answer = dashboard(gw)[1]
    assert answer["url"] == "http://127.0.0.1:%d/" % gw.port
    assert any("asks for no token" in n for n in answer["notes"]), answer["notes"]


def test_a_custom_bind_address_is_the_urls_host(make_gateway):
    gw = make_gateway(listen_addr="127.0.0.2")
    answer = dashboard(gw)[1]
    assert answer["httpUrl"] == "http://127.0.0.2:%d/" % gw.port
    assert fetch_page(answer["url"])[0] == 200


def test_without_gatewayd_it_says_the_page_will_not_load(make_gateway):
    gw = make_gateway(start=False)
    gw.start_broker()
    answer = dashboard(gw)[1]
    assert answer["gatewaysConnected"] == 0
    assert any("No gatewayd is connected" in n for n in answer["notes"]), answer["notes"]


@pytest.mark.parametrize("args", [["dashboard", "extra"], ["dashboard", "--latest"]])
def test_usage_errors(gateway, args):
    result = gateway.ctl(*args)
    assert result.rc == 2, result
    assert gateway.token not in result.output


def test_the_port_is_the_configured_one_even_if_gatewayd_was_told_otherwise(make_gateway):
    """brokerd cannot see where gatewayd listens: with gatewayd --port the URL
    keeps the configured port, and says that it assumes it."""
    gw = make_gateway(start=False)
    other = free_port()
    gw.start_broker()
    gw.start_gatewayd(args=["--port", str(other)], wait_port=other)
    answer = dashboard(gw)[1]
    assert answer["port"] == gw.port != other
    assert "--port" in answer["assumes"]
