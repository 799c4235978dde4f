"""The real OpenClaw Control UI pairs over https:// on a LAN address in headless
Chromium, against the certificate brokerd generated (gateway.tls.autoGenerate):
the device identity it needs exists only in a secure context, which plain http://
on a LAN address is not. The LAN is a network namespace of the test's own
(clawgate_test.netns); the browser trusts exactly the generated certificate
(tls_control_ui.mjs)."""

import base64
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from clawgate_test.browser import run_browser_script
from clawgate_test.netns import private_netns

LAN_ADDR = "10.77.0.5"


def spki_hash(cert):
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def test_real_control_ui_pairs_over_https_on_a_lan_address(openclaw, node, make_gateway,
                                                          artifacts, tmp_path):
    root = openclaw.OPENCLAW.parents[1] / "openclaw" / "dist" / "control-ui"
    with private_netns([LAN_ADDR + "/24"]):
        gw = make_gateway(start=False, config_extra={
            "bind": "lan", "tls": {"enabled": True}, "controlUi": {"root": str(root)}})
        gw.start()
        cert = x509.load_pem_x509_certificate((gw.state_dir / "tls-cert.pem").read_bytes())
        facts = run_browser_script("tls_control_ui.mjs", node, gw, artifacts, tmp_path,
                                   CLAWGATE_HOST=LAN_ADDR, CLAWGATE_SPKI=spki_hash(cert))
        paired = gw.devices()["paired"]
        gw.stop()
    assert facts["problems"] == [], facts["problems"]
    assert facts["url"].startswith("https://%s:%d/" % (LAN_ADDR, gw.port)), facts["url"]
    # The page came over TLS with the generated certificate.
    cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert facts["security"]["subjectName"] == cn, facts["security"]
    assert [d["deviceId"] for d in paired] == [facts["deviceId"]]
    assert paired[0]["clientId"] == "openclaw-control-ui"
