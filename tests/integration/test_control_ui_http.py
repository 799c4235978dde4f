"""gatewayd serves clawgate's own Control UI (gatewayd/ui/, embedded at build
time) on plain GETs: the right Content-Type, a strict CSP, 404 elsewhere; index.html
carries the gatewayctl command brokerd names (data-gatewayctl, HTML-escaped)."""

import html
import os
import re
from pathlib import Path

import pytest

UI_DIR = Path(__file__).resolve().parents[2] / "gatewayd" / "ui"
MARK = b'data-gatewayctl="gatewayctl"'


def page_gatewayctl(gateway):
    """The data-gatewayctl value of the served index.html, unescaped."""
    status, _, body = gateway.http("/")
    assert status == 200
    match = re.search(rb'<html lang="en" data-gatewayctl="([^"]*)">', body)
    assert match, body[:300]
    return html.unescape(match.group(1).decode())


def derived_gatewayctl(gateway):
    """What brokerd derives for a control socket outside /run/clawgate."""
    return "gatewayctl --socket %s" % os.path.realpath(gateway.control_socket)


def served_index(gateway):
    """index.html as gatewayd serves it: the mark carries the derived command."""
    source = (UI_DIR / "index.html").read_bytes()
    assert source.count(MARK) == 1
    return source.replace(MARK, b'data-gatewayctl="%s"' % derived_gatewayctl(gateway).encode())


def test_every_ui_file_is_served_byte_for_byte_with_its_type(gateway):
    types = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
             ".css": "text/css; charset=utf-8"}
    for source in sorted(UI_DIR.glob("*.*")):
        if source.suffix not in types:
            continue
        # At / and at the fixed /clawgate/, which stays clawgate's own page when
        # gateway.controlUi.root serves / (test_control_ui_root.py).
        for prefix in ("/", "/clawgate/"):
            status, headers, body = gateway.http(prefix + source.name + "?v=1")
            assert status == 200, prefix + source.name
            assert headers["content-type"] == types[source.suffix], source.name
            want = served_index(gateway) if source.name == "index.html" else source.read_bytes()
            assert body == want, prefix + source.name
            assert int(headers["content-length"]) == len(want), source.name
            assert headers["x-content-type-options"] == "nosniff"


def test_root_is_the_page_under_a_strict_csp(gateway):
    status, headers, body = gateway.http("/")
    assert status == 200
    assert body == served_index(gateway)
    csp = [d.strip() for d in headers["content-security-policy"].split(";")]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "connect-src 'self' ws: wss:" in csp
    assert "frame-ancestors 'none'" in csp
    # Everything the page loads is its own (no CDN), and all of it is served.
    # (data:, is the empty favicon that keeps browsers from asking for one.)
    # Relative references, so that the same page works at / and at /clawgate/.
    refs = [r for r in re.findall(r'(?:src|href)="([^"]*)"', body.decode()) if r != "data:,"]
    assert refs and all(re.fullmatch(r"[a-z0-9_-]+\.[a-z]+", r) for r in refs), refs
    for ref in refs:
        assert gateway.http("/" + ref)[0] == 200, ref
        assert gateway.http("/clawgate/" + ref)[0] == 200, ref
    assert gateway.http("/clawgate/")[2] == body


def test_other_paths_and_methods_are_refused(gateway):
    for path in ("/nope", "/index.html/", "/../index.html", "/ui/app.js", "/%2e%2e/etc/passwd",
                 "/clawgate", "/clawgate/nope", "/clawgate/../app.js"):
        status, headers, body = gateway.http(path)
        assert status == 404, path
        assert b"the Control UI is at /" in body
    status, headers, _ = gateway.http("/", method="POST")
    assert status == 405 and headers["allow"] == "GET"


# ---- the gatewayctl command the page shows ----

def test_the_page_carries_the_derived_command(gateway):
    """The harness's control socket is not gatewayctl's default: --socket and its
    absolute path, so that the command runs from any directory."""
    assert page_gatewayctl(gateway) == derived_gatewayctl(gateway)


HOSTILE = """/opt/x"y/gatewayctl --socket '/srv/<b>&amp;</b>/control.sock' # it's <script>"""


def test_clawgate_gatewayctl_is_shown_html_escaped(make_gateway):
    gw = make_gateway(config_clawgate={"gatewayctl": HOSTILE})
    assert page_gatewayctl(gw) == HOSTILE
    body = gw.http("/")[2].decode()
    assert "<script>" not in body and "<b>" not in body
    assert ('data-gatewayctl="/opt/x&quot;y/gatewayctl --socket &#39;/srv/&lt;b&gt;&amp;amp;'
            '&lt;/b&gt;/control.sock&#39; # it&#39;s &lt;script&gt;"') in body


def test_the_environment_names_it_unless_the_config_does(make_gateway):
    env = {"CLAWGATE_GATEWAYCTL": "/opt/clawgate/bin/gatewayctl --socket /srv/cg.sock"}
    gw = make_gateway(broker_env=env)
    assert page_gatewayctl(gw) == env["CLAWGATE_GATEWAYCTL"]
    both = make_gateway(broker_env=env, config_clawgate={"gatewayctl": "sudo gatewayctl"})
    assert page_gatewayctl(both) == "sudo gatewayctl"


@pytest.mark.parametrize("clawgate, problem", [
    ({"gatewayctl": "gatewayctl\n--socket /x"}, "clawgate.gatewayctl must be the command"),
    ({"gatewayctl": "g" * 513}, "clawgate.gatewayctl must be the command"),
    ({"gatewayctl": "   "}, "clawgate.gatewayctl must be the command"),
    ({"gatewayctl": ["gatewayctl"]}, "clawgate.gatewayctl must be a string"),
    ("gatewayctl", "clawgate must be an object"),
])
def test_a_bad_command_is_refused_by_brokerd(make_gateway, clawgate, problem):
    gw = make_gateway(start=False, config_clawgate=clawgate)
    with pytest.raises(AssertionError):
        gw.start_broker()
    assert problem in gw.log_text("brokerd")
    gw.broker = None


def test_a_bad_environment_command_is_refused_by_brokerd(make_gateway):
    gw = make_gateway(start=False, broker_env={"CLAWGATE_GATEWAYCTL": "gatewayctl\tx"})
    with pytest.raises(AssertionError):
        gw.start_broker()
    assert "CLAWGATE_GATEWAYCTL is not a command line" in gw.log_text("brokerd")
    gw.broker = None
