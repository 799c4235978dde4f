"""gatewayd serves clawgate's own Control UI (gatewayd/ui/, embedded at build
time) on plain GETs: the right Content-Type, a strict CSP, 404 elsewhere."""

import http.client
import re
from pathlib import Path

UI_DIR = Path(__file__).resolve().parents[2] / "gatewayd" / "ui"


def get(gateway, path, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_every_ui_file_is_served_byte_for_byte_with_its_type(gateway):
    types = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
             ".css": "text/css; charset=utf-8"}
    for source in sorted(UI_DIR.glob("*.*")):
        if source.suffix not in types:
            continue
        status, headers, body = get(gateway, "/" + source.name + "?v=1")
        assert status == 200, source.name
        assert headers["content-type"] == types[source.suffix], source.name
        assert body == source.read_bytes(), source.name
        assert headers["x-content-type-options"] == "nosniff"


def test_root_is_the_page_under_a_strict_csp(gateway):
    status, headers, body = get(gateway, "/")
    assert status == 200
    assert body == (UI_DIR / "index.html").read_bytes()
    csp = [d.strip() for d in headers["content-security-policy"].split(";")]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "connect-src 'self' ws: wss:" in csp
    assert "frame-ancestors 'none'" in csp
    # Everything the page loads is its own (no CDN), and all of it is served.
    # (data:, is the empty favicon that keeps browsers from asking for one.)
    refs = [r for r in re.findall(r'(?:src|href)="([^"]*)"', body.decode()) if r != "data:,"]
    assert refs and all(r.startswith("/") and not r.startswith("//") for r in refs), refs
    for ref in refs:
        assert get(gateway, ref)[0] == 200, ref


def test_other_paths_and_methods_are_refused(gateway):
    for path in ("/nope", "/index.html/", "/../index.html", "/ui/app.js", "/%2e%2e/etc/passwd"):
        status, headers, body = get(gateway, path)
        assert status == 404, path
        assert b"the Control UI is at /" in body
    status, headers, _ = get(gateway, "/", method="POST")
    assert status == 405 and headers["allow"] == "GET"
