"""SIGHUP to brokerd (systemctl reload brokerd) and TLS: while TLS stays on and
its source (certPath/keyPath, or the generated pair) stays the same, the
certificate and key are loaded again for new connections, also when the files
were replaced in place (certbot); TLS sessions opened before keep theirs and
keep working. gatewayd reads certPath and keyPath itself, as the account it
runs as (clawgate-gw); brokerd reads the generated pair again from its state
dir. A pair that cannot be used keeps the running one, logged with the fix;
TLS turned on or off, or another source, waits for a restart.
brokerd(8) RELOAD, clawgate.json(5) gateway.tls.*."""

import hashlib
import os
import pwd
import signal
import socket
import ssl
import time

import pytest

from clawgate_test.clawclient import cli_params, handshake
from clawgate_test.fixtures import self_signed_cert


def fingerprint(der):
    return ":".join("%02X" % b for b in hashlib.sha256(der).digest())


def served_fp(gw):
    """The fingerprint of the certificate a new TLS connection is shown."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            return fingerprint(s.getpeercert(binary_form=True))


def pem_fp(path):
    return fingerprint(ssl.PEM_cert_to_DER_cert(path.read_text()))


def give(path, account, mode=0o600):
    """As root, path belongs to account (the daemons read as theirs)."""
    os.chmod(path, mode)
    if os.geteuid() == 0:
        pw = pwd.getpwnam(account)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def new_pair(directory, account):
    directory.mkdir(mode=0o755, exist_ok=True)
    cert, key = self_signed_cert(directory)
    give(cert, account, 0o644)
    give(key, account)
    return cert, key


def wait_log(gw, daemon, text, count=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while gw.log_text(daemon).count(text) < count:
        assert time.monotonic() < deadline, "no %r in %s's log:\n%s" % (text, daemon, gw.logs())
        time.sleep(0.05)


SUMMARIES = ("reload: the configuration has not changed",
             "waiting for a restart; every session stays",
             "kept the running configuration, nothing changed")


def summaries(gw):
    text = gw.log_text("brokerd")
    return sum(text.count(s) for s in SUMMARIES)


def reload(gw):
    """SIGHUP to brokerd; returns once its reload has logged its summary."""
    before = summaries(gw)
    gw.broker.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while summaries(gw) == before:
        assert time.monotonic() < deadline, "no reload summary:\n" + gw.logs()
        time.sleep(0.05)
    assert gw.broker.alive()


def replace(src_dir, cert, key):
    """Puts a new pair in place the way certbot does: new files renamed over."""
    os.replace(src_dir / "cert.pem", cert)
    os.replace(src_dir / "key.pem", key)


@pytest.fixture
def files_gateway(make_gateway):
    def make(gatewayd_args=()):
        gw = make_gateway(start=False)
        cert, key = new_pair(gw.root / "tls", "clawgate-gw")
        config = gw.config()
        config["gateway"]["tls"] = {"enabled": True, "certPath": str(cert),
                                    "keyPath": str(key)}
        gw.write_config(config)
        gw.start(gatewayd_args=gatewayd_args)
        gw.cert, gw.key = cert, key
        return gw
    return make


def tls_session(gw, cert):
    attempt = handshake("wss://127.0.0.1:%d/" % gw.port, cli_params(token=gw.token),
                        ssl=ssl.create_default_context(cafile=str(cert)))
    assert attempt.ok, attempt.error
    return attempt


def test_files_replaced_in_place_serve_new_connections_sessions_stay(files_gateway, tmp_path):
    gw = files_gateway(gatewayd_args=["--workers", "2"])
    old = pem_fp(gw.cert)
    assert served_fp(gw) == old
    kept = tmp_path / "old-cert.pem"
    kept.write_bytes(gw.cert.read_bytes())
    session = tls_session(gw, gw.cert)

    new_cert, _ = new_pair(gw.root / "next", "clawgate-gw")
    new = pem_fp(new_cert)
    replace(gw.root / "next", gw.cert, gw.key)
    reload(gw)
    assert gw.broker.logged("reload: gatewayd loads the certificate %s and the key %s again "
                            "for new connections" % (gw.cert, gw.key))
    # Both workers took it.
    wait_log(gw, "gatewayd", "TLS: new connections get the certificate %s (SHA-256 "
             "fingerprint %s); connections already open keep theirs" % (gw.cert, new), 2)
    for _ in range(4):
        assert served_fp(gw) == new
    assert tls_session(gw, gw.cert).conn.request("health")["ok"] is True
    # The session from before, on the old certificate, goes on.
    assert session.conn.request("health")["ok"] is True
    assert not gw.gatewayd.logged("lost the link to brokerd")


@pytest.mark.parametrize("damage", ["mismatched", "missing", "garbage", "unreadable"])
def test_a_pair_that_cannot_be_used_keeps_the_running_one(files_gateway, damage):
    if damage == "unreadable" and os.geteuid() != 0:
        pytest.skip("gatewayd drops to clawgate-gw only when started as root")
    gw = files_gateway()
    old = served_fp(gw)
    session = tls_session(gw, gw.cert)
    if damage == "mismatched":
        _, other_key = new_pair(gw.root / "other", "clawgate-gw")
        os.replace(other_key, gw.key)
        why = "the private key %s is not the key of the certificate %s" % (gw.key, gw.cert)
    elif damage == "missing":
        gw.cert.unlink()
        why = "cannot load the certificate %s (No such file or directory)" % gw.cert
    elif damage == "garbage":
        gw.key.write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n")
        why = "cannot load the private key %s" % gw.key
    else:
        # Readable to root, who started gatewayd, not to the account it runs as.
        os.chown(gw.key, 0, 0)
        why = "cannot load the private key %s (Permission denied)" % gw.key
    reload(gw)
    wait_log(gw, "gatewayd", "TLS: kept the running certificate for new connections: " + why)
    (line,) = [l for l in gw.log_text("gatewayd").splitlines()
               if "TLS: kept the running certificate" in l]
    assert "readable by the account gatewayd runs as, clawgate-gw under systemd" in line, line
    assert "then reload again (systemctl reload brokerd)" in line, line
    assert served_fp(gw) == old
    assert session.conn.request("health")["ok"] is True
    # Fixed, the next reload applies it.
    new = pem_fp(new_pair(gw.root / "next", "clawgate-gw")[0])
    replace(gw.root / "next", gw.cert, gw.key)
    reload(gw)
    wait_log(gw, "gatewayd", "TLS: new connections get the certificate")
    assert served_fp(gw) == new


def test_other_paths_apply_another_source_waits_for_a_restart(files_gateway):
    gw = files_gateway()
    cert, key = new_pair(gw.root / "moved", "clawgate-gw")
    config = gw.config()
    config["gateway"]["tls"].update(certPath=str(cert), keyPath=str(key))
    gw.write_config(config)
    reload(gw)
    assert gw.broker.logged("reload: gateway.tls.certPath changed: gatewayd loads it for new "
                            "connections")
    assert gw.broker.logged("reload: gateway.tls.keyPath changed")
    wait_log(gw, "gatewayd", "TLS: new connections get the certificate %s" % cert)
    assert served_fp(gw) == pem_fp(cert)
    assert gw.ctl_ok("status", json_output=True).json["tls"]["certPath"] == str(cert)

    # The generated pair instead of files: a restart.
    config["gateway"]["tls"] = {"enabled": True}
    gw.write_config(config)
    reload(gw)
    assert gw.broker.logged("reload: gateway.tls.autoGenerate changed (from certPath and "
                            "keyPath to the generated certificate): restart brokerd and "
                            "gatewayd (systemctl restart brokerd gatewayd)")
    assert not gw.broker.logged("reload: gateway.tls.certPath changed: restart")
    assert served_fp(gw) == pem_fp(cert)
    # TLS off: a restart too, and said once.
    config["gateway"].pop("tls")
    gw.write_config(config)
    reload(gw)
    assert gw.broker.logged("reload: gateway.tls.enabled changed: restart brokerd and "
                            "gatewayd")
    assert gw.log_text("brokerd").count("reload: gateway.tls.autoGenerate changed") == 1
    assert served_fp(gw) == pem_fp(cert)


AUTO = {"tls": {"enabled": True}}


def test_a_replaced_generated_pair_serves_new_connections(make_gateway):
    gw = make_gateway(config_extra=AUTO)
    state_cert, state_key = gw.state_dir / "tls-cert.pem", gw.state_dir / "tls-key.pem"
    old = pem_fp(state_cert)
    assert served_fp(gw) == old
    session = tls_session(gw, state_cert)

    made_cert, made_key = new_pair(gw.root / "made", "clawgate-broker")
    new = pem_fp(made_cert)
    os.replace(made_key, state_key)
    os.replace(made_cert, state_cert)
    give(state_cert, "clawgate-broker")
    reload(gw)
    assert gw.broker.logged("reload: the self-signed certificate %s changed: new connections "
                            "get it (SHA-256 fingerprint %s" % (state_cert, new))
    assert gw.broker.logged("reload: 1 change applied, 0 waiting for a restart")
    wait_log(gw, "gatewayd", "TLS: new connections get brokerd's self-signed certificate "
             "(SHA-256 fingerprint %s)" % new)
    assert served_fp(gw) == new
    assert gw.ctl_ok("status", json_output=True).json["tls"]["fingerprintSha256"] == new
    assert "TLS SHA-256 fingerprint: %s" % new in gw.ctl_ok("status").stdout
    assert session.conn.request("health")["ok"] is True

    # A broken one: the running pair stays, and the log says what to do.
    state_cert.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    give(state_cert, "clawgate-broker")
    reload(gw)
    assert gw.broker.logged("%s holds no PEM certificate" % state_cert)
    assert gw.broker.logged("reload: kept the running self-signed certificate (SHA-256 "
                            "fingerprint %s) for new connections: fix the problem above, then "
                            "reload again (systemctl reload brokerd)" % new)
    assert served_fp(gw) == new
    assert gw.ctl_ok("status", json_output=True).json["tls"]["fingerprintSha256"] == new
    assert session.conn.request("health")["ok"] is True
