"""The real OpenClaw Control UI (npm openclaw@2026.9.6, dist/control-ui/), served
by gatewayd from gateway.controlUi.root, pairs against clawgate in headless
Chromium (real_control_ui.mjs; screenshots in the artifacts dir)."""

import pytest

from clawgate_test.browser import run_browser_script

# The six scopes the real UI asks for (doc/protocol.md §3.4 vector B).
UI_SCOPES = {"operator.admin", "operator.read", "operator.write", "operator.approvals",
             "operator.questions", "operator.pairing"}


@pytest.fixture
def real_ui_gateway(openclaw, node, make_gateway):
    root = openclaw.OPENCLAW.parents[1] / "openclaw" / "dist" / "control-ui"
    assert (root / "index.html").is_file(), root
    return make_gateway(config_extra={"controlUi": {"root": str(root)}})


def test_real_control_ui_pairs_and_connects(node, real_ui_gateway, artifacts, tmp_path):
    facts = run_browser_script("real_control_ui.mjs", node, real_ui_gateway, artifacts, tmp_path)
    # Every file it loaded was served (no 404), and nothing broke in the page.
    assert facts["problems"] == [], facts["problems"]
    paired = real_ui_gateway.devices()["paired"]
    assert [d["deviceId"] for d in paired] == [facts["deviceId"]]
    assert paired[0]["clientId"] == "openclaw-control-ui"
    assert UI_SCOPES <= set(paired[0]["scopes"]), paired[0]["scopes"]
    for name in ("11-real-control-ui-approve-this-browser", "12-real-control-ui-connected"):
        assert (artifacts / (name + ".png")).stat().st_size > 1000, name
