"""gateway.tls.autoGenerate: with gateway.tls.enabled and no certPath/keyPath,
brokerd makes a self-signed certificate for the host's names and addresses at the
first start, keeps it in its state dir (tls-cert.pem, tls-key.pem, 0600) and
hands it to gatewayd; gatewayctl status and both logs show its SHA-256
fingerprint, which must be that of the certificate the TLS handshake presents.
clawgate.json(5): gateway.tls.autoGenerate."""

import datetime
import hashlib
import socket
import ssl
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from clawgate_test.harness import BROKERD
from clawgate_test.netns import private_netns

AUTO = {"tls": {"enabled": True}}


def fingerprint(der):
    return ":".join("%02X" % b for b in hashlib.sha256(der).digest())


def served_der(addr, port):
    """The certificate the gateway's TLS handshake presents, unverified."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((addr, port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            return s.getpeercert(binary_form=True)


def verified_handshake(cert_path, addr, port, name):
    """A handshake that trusts only cert_path and checks it names `name`."""
    ctx = ssl.create_default_context(cafile=str(cert_path))
    with socket.create_connection((addr, port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as s:
            return s.version()


def sans(cert):
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return (set(ext.get_values_for_type(x509.DNSName)),
            {str(a) for a in ext.get_values_for_type(x509.IPAddress)})


def status_tls(gw):
    return gw.ctl_ok("status", json_output=True).json["tls"]


def test_generated_at_first_start_kept_at_the_next(make_gateway):
    gw = make_gateway(listen_addr="127.0.0.2", config_extra=AUTO)
    cert_path, key_path = gw.state_dir / "tls-cert.pem", gw.state_dir / "tls-key.pem"
    for path in (cert_path, key_path):
        assert path.stat().st_mode & 0o777 == 0o600, oct(path.stat().st_mode)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    assert cert.not_valid_after - cert.not_valid_before <= datetime.timedelta(days=825)
    dns, ips = sans(cert)
    assert "localhost" in dns and socket.gethostname() in dns, dns
    assert {"127.0.0.2", "127.0.0.1", "::1"} <= ips, ips

    der = served_der("127.0.0.2", gw.port)
    assert der == cert.public_bytes(Encoding.DER), "gatewayd serves another certificate"
    fp = fingerprint(der)
    tls = status_tls(gw)
    assert tls["source"] == "generated" and tls["fingerprintSha256"] == fp, tls
    assert tls["certPath"] == str(cert_path), tls
    text = gw.ctl_ok("status").stdout
    assert "TLS SHA-256 fingerprint: %s" % fp in text, text
    assert "SHA-256 fingerprint %s" % fp in gw.log_text("brokerd")
    assert "SHA-256 fingerprint %s" % fp in gw.log_text("gatewayd")
    # A client trusting that one certificate accepts it for the configured address.
    assert verified_handshake(cert_path, "127.0.0.2", gw.port, "127.0.0.2") in (
        "TLSv1.2", "TLSv1.3")
    assert gw.ctl_ok("dashboard", json_output=True).json["url"].startswith("https://127.0.0.2:")

    gw.restart()
    assert fingerprint(served_der("127.0.0.2", gw.port)) == fp
    assert status_tls(gw)["fingerprintSha256"] == fp
    log = gw.log_text("brokerd")
    assert log.count("TLS: generated") == 1, log
    assert "TLS: the self-signed certificate %s, valid until" % cert_path in log, log


def test_the_lan_address_is_named(make_gateway):
    """bind lan: the host's interface addresses go into the certificate, so a
    browser on the LAN reaching https://<address>:port/ finds it named."""
    with private_netns(["10.77.0.5/24"]):
        gw = make_gateway(start=False, config_extra={"bind": "lan", **AUTO})
        gw.start()
        cert_path = gw.state_dir / "tls-cert.pem"
        _, ips = sans(x509.load_pem_x509_certificate(cert_path.read_bytes()))
        assert "10.77.0.5" in ips, ips
        assert verified_handshake(cert_path, "10.77.0.5", gw.port, "10.77.0.5")
        gw.stop()


def test_own_files_are_not_replaced_and_show_their_path(tls_gateway):
    tls = status_tls(tls_gateway)
    assert tls == {"source": "files", "certPath": str(tls_gateway.cert)}, tls
    assert not (tls_gateway.state_dir / "tls-cert.pem").exists()


def start_fails(gw):
    with pytest.raises(AssertionError) as exc:
        gw.start_broker()
    gw.broker = None
    return str(exc.value)


@pytest.mark.parametrize("damage", ["cert", "key", "other_key", "missing_cert"])
def test_a_broken_stored_pair_stops_brokerd_naming_file_and_fix(make_gateway, damage):
    gw = make_gateway(config_extra=AUTO)
    gw.stop()
    cert_path, key_path = gw.state_dir / "tls-cert.pem", gw.state_dir / "tls-key.pem"
    if damage == "cert":
        cert_path.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
        named = "%s holds no PEM certificate" % cert_path
    elif damage == "key":
        key_path.write_text("garbage\n")
        named = "%s holds no unencrypted PEM private key" % key_path
    elif damage == "other_key":
        other = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                                "ec_paramgen_curve:P-256"], check=True, capture_output=True,
                               timeout=30).stdout
        key_path.write_bytes(other)
        named = "%s is not the key of the certificate %s" % (key_path, cert_path)
    else:
        cert_path.unlink()
        named = "%s is there but %s is not" % (key_path, cert_path)
    before = key_path.read_bytes()
    check = subprocess.run([str(BROKERD), "--check-config", "--config", str(gw.config_path),
                            "--state-dir", str(gw.state_dir)], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 1 and named in check.stderr, check
    message = start_fails(gw)
    assert named in message, message
    assert "delete %s" % (key_path if damage == "missing_cert" else cert_path) in message, \
        message
    # Refused, not repaired: what the admin may still want is left as it was.
    assert key_path.read_bytes() == before


def test_auto_generate_false_without_files_is_refused(make_gateway):
    gw = make_gateway(start=False, config_extra={"tls": {"enabled": True,
                                                         "autoGenerate": False}})
    message = start_fails(gw)
    assert "gateway.tls.enabled needs both gateway.tls.certPath and gateway.tls.keyPath" \
        in message, message
    assert "gateway.tls.autoGenerate true" in message, message
