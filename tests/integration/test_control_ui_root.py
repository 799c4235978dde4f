"""gateway.controlUi.root: gatewayd serves a Control UI from a directory (the real
OpenClaw one in the browser suite) beneath a directory fd, with no way out of it:
no "..", no symlinks, no dot files; precompressed siblings when accepted, MIME
types by extension, index.html for app routes, /control-ui-config.json. The
suite runs gatewayd under seccomp kill mode, so these requests also prove the
sandbox allows what serving files needs."""

import base64
import hashlib
import json
import socket
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from clawgate_test.harness import SANITIZER_ENV


@pytest.fixture
def ui_root():
    root = Path(tempfile.mkdtemp(prefix="clawgate-ui-"))
    # gatewayd drops to clawgate-gw: the tree must be readable by others.
    root.chmod(0o755)
    (root / "assets").mkdir(mode=0o755)
    (root / "index.html").write_text("<!doctype html><p>the app</p>\n")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>\n")
    (root / "manifest.webmanifest").write_text("{}\n")
    (root / "assets" / "app-1a2b.js").write_text("console.log('plain');\n")
    (root / "assets" / "app-1a2b.js.br").write_bytes(b"BROTLI BYTES")
    (root / "assets" / "app-1a2b.js.gz").write_bytes(b"GZIP BYTES")
    (root / "assets" / "style-9f.css").write_text("p{}\n")
    (root / ".env").write_text("SECRET=1\n")
    (root / "outside.txt").symlink_to("/etc/hostname")
    (root / "assets" / "alias.js").symlink_to("app-1a2b.js")
    (root / "assets" / "big.bin").write_bytes(b"\0" * 200000)
    for path in root.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_files_types_and_app_routes(make_gateway, ui_root):
    gw = make_gateway(config_extra={"controlUi": {"root": str(ui_root)}})
    index = (ui_root / "index.html").read_bytes()
    for path in ("/", "/?x=1", "/chat", "/settings/profile", "/index.html", "/assets"):
        status, headers, body = gw.http(path)
        assert (status, body) == (200, index), path
        assert headers["content-type"] == "text/html; charset=utf-8", path
        assert headers["cache-control"] == "no-cache", path
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    for path, ctype in (("/favicon.svg", "image/svg+xml"),
                        ("/manifest.webmanifest", "application/manifest+json"),
                        ("/assets/style-9f.css", "text/css; charset=utf-8"),
                        ("/assets/big.bin", "application/octet-stream")):
        status, headers, body = gw.http(path)
        assert status == 200 and headers["content-type"] == ctype, path
        assert body == (ui_root / path[1:]).read_bytes(), path
        assert headers["x-content-type-options"] == "nosniff"
    assert gw.http("/assets/style-9f.css")[1]["cache-control"].endswith("immutable")


def test_clawgates_own_page_stays_at_clawgate(make_gateway, ui_root):
    gw = make_gateway(config_extra={"controlUi": {"root": str(ui_root)}})
    assert gw.http("/")[2] == (ui_root / "index.html").read_bytes()
    status, headers, body = gw.http("/clawgate/")
    assert status == 200 and b"<title>clawgate Control UI</title>" in body
    assert b"data-gatewayctl=" in body
    for path in ("/clawgate/app.js", "/clawgate/keys.js", "/clawgate/nacl.js", "/clawgate/sha256.js",
                 "/clawgate/style.css"):
        assert gw.http(path)[0] == 200, path
    # Only clawgate's own files are below /clawgate/, never the root's.
    assert gw.http("/clawgate/favicon.svg")[0] == 404


def test_precompressed_siblings_follow_accept_encoding(make_gateway, ui_root):
    gw = make_gateway(config_extra={"controlUi": {"root": str(ui_root)}})
    path = "/assets/app-1a2b.js"
    for accept, body, encoding in (("gzip, deflate, br, zstd", b"BROTLI BYTES", "br"),
                                   ("gzip", b"GZIP BYTES", "gzip"),
                                   ("identity", b"console.log('plain');\n", None),
                                   (None, b"console.log('plain');\n", None)):
        status, headers, got = gw.http(path, headers={"Accept-Encoding": accept} if accept else {})
        assert (status, got) == (200, body), accept
        assert headers.get("content-encoding") == encoding, accept
        assert headers["content-type"] == "text/javascript; charset=utf-8"
        assert headers["vary"] == "Accept-Encoding"


def test_nothing_outside_the_directory_or_hidden(make_gateway, ui_root):
    gw = make_gateway(config_extra={"controlUi": {"root": str(ui_root)}})
    for path in ("/../" + ui_root.name + "/index.html", "/assets/../index.html",
                 "/%2e%2e/etc/passwd", "/..%2fetc/passwd", "/.env", "/assets/.", "//etc/passwd",
                 "/outside.txt", "/assets/alias.js", "/missing.js", "/assets/",
                 "/index.html%00.js", "/assets/app-1a2b.js.br/x.js"):
        status, _, body = gw.http(path)
        assert status == 404, (path, body)
        assert b"/etc" not in body and b"SECRET" not in body
    assert gw.gatewayd.alive()


def test_control_ui_config(make_gateway, ui_root):
    gw = make_gateway(config_extra={"controlUi": {"root": str(ui_root)}})
    status, headers, body = gw.http("/control-ui-config.json")
    assert status == 200 and headers["content-type"] == "application/json"
    config = json.loads(body)
    assert config["basePath"] == "" and config["serverVersion"].startswith("clawgate ")


def test_a_root_that_is_no_directory_stops_gatewayd_with_the_fix(make_gateway, tmp_path):
    gw = make_gateway(start=False,
                      config_extra={"controlUi": {"root": str(tmp_path / "missing")}})
    gw.start_broker()
    with pytest.raises(AssertionError):
        gw.start_gatewayd()
    log = gw.log_text("gatewayd")
    assert "cannot open gateway.controlUi.root" in log and "remove the key" in log
    gw.gatewayd = None


def test_a_relative_root_is_refused_by_brokerd(make_gateway):
    gw = make_gateway(start=False, config_extra={"controlUi": {"root": "dist/control-ui"}})
    with pytest.raises(AssertionError):
        gw.start_broker()
    assert "gateway.controlUi.root must be an absolute" in gw.log_text("brokerd")
    gw.broker = None


def test_healthz_is_the_health_check_not_an_app_route(make_gateway, ui_root):
    gw = make_gateway(config_extra={"controlUi": {"root": str(ui_root)}})
    assert gw.http("/healthz")[::2] == (200, b"ok\n")
    (ui_root / "healthz").write_text("a file\n")
    (ui_root / "healthz").chmod(0o644)
    assert gw.http("/healthz")[::2] == (200, b"ok\n")


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def test_a_large_file_goes_out_as_slow_clients_read_it(make_gateway, ui_root):
    """A file's body is read from disk a chunk at a time as each socket drains:
    clients that read slowly cost gatewayd a few chunks each, not the file."""
    clients, size = 8, 16 << 20
    data = hashlib.sha256(b"seed").digest() * (size // 32)
    (ui_root / "assets" / "large.bin").write_bytes(data)
    (ui_root / "assets" / "large.bin").chmod(0o644)
    gw = make_gateway(start=False, config_extra={"controlUi": {"root": str(ui_root)}})
    # The kernel takes megabytes of each answer; under AddressSanitizer the
    # chunks that carried them would stay resident in its quarantine once freed.
    # What is measured here is what gatewayd holds, so no quarantine.
    gw.extra_env = {"ASAN_OPTIONS": SANITIZER_ENV["ASAN_OPTIONS"] + ":quarantine_size_mb=0"}
    gw.start()
    pid = gw.gatewayd.pid
    before = rss_kib(pid)
    socks = []
    for _ in range(clients):
        # A small receive window keeps the kernel from taking much of the file
        # off gatewayd's hands: what stays unsent is gatewayd's to hold.
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        s.settimeout(10)
        s.connect((gw.addr, gw.port))
        s.sendall(b"GET /assets/large.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        socks.append(s)
    received = [s.recv(65536) for s in socks]   # the head and a first piece
    time.sleep(1.0)                              # slow readers: gatewayd waits
    grown = rss_kib(pid) - before
    # Copied whole, the answers would hold clients x 16 MiB (128 MiB).
    assert grown < 16 * 1024, "gatewayd grew by %d KiB for %d slow clients" % (grown, clients)
    for i, s in enumerate(socks):
        buf = bytearray(received[i])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            piece = s.recv(1 << 20)
            if not piece:
                break
            buf += piece
        s.close()
        head, _, body = bytes(buf).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ") and b"Content-Length: %d" % size in head
        assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest(), i
    assert gw.gatewayd.alive()


def csp_directives(header):
    return {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}


def test_inline_scripts_run_by_their_hash_only(make_gateway, ui_root):
    """A page's inline scripts are allowed by their SHA-256 (as the browser reads
    them: CR LF as LF), not by 'unsafe-inline'; connections only to the origin."""
    boot, second = "\n  globalThis.x = 1;\n", "\r\n  start();\r\n"
    (ui_root / "index.html").write_bytes(
        ("<!doctype html><script data-cfasync=\"false\">%s</script>"
         "<script type=\"module\" src=\"./assets/app-1a2b.js\"></script>"
         "<p>the app</p><SCRIPT>%s</SCRIPT>\n" % (boot, second)).encode())
    (ui_root / "index.html.br").write_bytes(b"BROTLI PAGE")
    for name in ("index.html", "index.html.br"):
        (ui_root / name).chmod(0o644)
    gw = make_gateway(config_extra={"controlUi": {"root": str(ui_root)}})

    def sha(text):
        digest = hashlib.sha256(text.replace("\r\n", "\n").encode()).digest()
        return "'sha256-%s'" % base64.b64encode(digest).decode()

    for path in ("/", "/chat"):
        status, headers, body = gw.http(path, headers={"Accept-Encoding": "br, gzip"})
        assert status == 200 and body == (ui_root / "index.html").read_bytes(), path
        assert "content-encoding" not in headers
        csp = csp_directives(headers["content-security-policy"])
        assert csp["script-src"] == ["'self'", sha(boot), sha(second)], csp
        assert csp["connect-src"] == ["'self'", "data:"], csp
        assert "'unsafe-inline'" not in csp["script-src"] + csp["default-src"]
        assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    # A script, or anything but a page, carries no hash.
    csp = csp_directives(gw.http("/assets/app-1a2b.js")[1]["content-security-policy"])
    assert csp["script-src"] == ["'self'"] and csp["connect-src"] == ["'self'", "data:"]


def test_a_client_that_stops_reading_a_file_is_dropped(make_gateway, ui_root):
    """Each chunk must be taken within 10 s: a client that reads nothing loses the
    rest of the file (it gets what the kernel held, then the end of the stream)."""
    size = 16 << 20
    (ui_root / "assets" / "large.bin").write_bytes(b"x" * size)
    (ui_root / "assets" / "large.bin").chmod(0o644)
    gw = make_gateway(config_extra={"controlUi": {"root": str(ui_root)}})
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    s.settimeout(10)
    s.connect((gw.addr, gw.port))
    s.sendall(b"GET /assets/large.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
    time.sleep(12)
    got = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        piece = s.recv(1 << 20)
        if not piece:
            break
        got += len(piece)
    s.close()
    assert 0 < got < size, got
    assert gw.gatewayd.alive()
