"""Assertions for the rejections of doc/protocol.md §4-§5: exact error code, message and
details in the `res`, then the close frame with the exact code and reason."""

import re

from . import frames

# <hint> of the unauthorized messages for a CLI on loopback (§5).
LOCAL_CLI_HINT = "use this gateway's gateway.auth.token or pair the device"

PAIRING_REQUIREMENTS = {
    "not-paired": "device is not approved yet",
    "role-upgrade": "device is asking for a higher role than currently approved",
    "scope-upgrade": "device is asking for more scopes than currently approved",
    "metadata-upgrade": "device identity changed and must be re-approved",
}
REMEDIATION_HINTS = {
    "not-paired": "Approve this device from the pending pairing requests.",
    "role-upgrade": "Review the requested role upgrade, then approve the pending request.",
    "scope-upgrade": "Review the requested scopes, then approve the pending upgrade.",
    "metadata-upgrade": "Review the refreshed device details, then approve the pending request.",
}
WAIT_THEN_RETRY = {"recommendedNextStep": "wait_then_retry", "retryable": True,
                   "pauseReconnect": False}


def truncate_reason(text, limit=120):
    """§5.1: the longest whole-character prefix of at most limit UTF-8 bytes."""
    raw = text.encode("utf-8")[:limit]
    return raw.decode("utf-8", errors="ignore")


def details_include(err, want):
    got = err.get("details")
    assert isinstance(got, dict), "error has no details object: %r" % (err,)
    for key, value in want.items():
        assert key in got, "details lack %r: %r" % (key, err)
        assert got[key] == value, "details.%s is %r, want %r: %r" % (key, got[key], value, err)
    return got


def rejected(attempt, *, code, message, close_code=1008, reason=None, details=None):
    """The connect `res` failed with exactly code/message (and details containing
    `details`), then the server closed with close_code and reason (default: the
    message cut to 120 bytes). Returns the error object."""
    err = attempt.error
    assert err["code"] == code, "error.code %r, want %r: %r" % (err["code"], code, err)
    assert err["message"] == message, "error.message %r, want %r" % (err["message"], message)
    if details is not None:
        details_include(err, details)
    want_close = (close_code, truncate_reason(message) if reason is None else reason)
    got_close = attempt.expect_close()
    assert got_close == want_close, "close %r, want %r" % (got_close, want_close)
    return err


def closed_without_res(conn, close_code, reason=""):
    """The server answered nothing and closed (framing errors, §5 first rows)."""
    got = conn.expect_close()
    assert got == (close_code, reason), "close %r, want %r" % (got, (close_code, reason))


def unauthorized(attempt, message, *, details_code, auth_reason, next_step, can_retry=False):
    """§5 'Unauthorized (any)': INVALID_REQUEST, the message as close reason, and
    details {code, authReason, canRetryWithDeviceToken, recommendedNextStep}."""
    return rejected(attempt, code="INVALID_REQUEST", message=message, details={
        "code": details_code, "authReason": auth_reason,
        "canRetryWithDeviceToken": can_retry, "recommendedNextStep": next_step})


def device_auth_failed(attempt, message, details_code, reason):
    """§5 device-proof rejections: INVALID_REQUEST, details {code, reason}."""
    return rejected(attempt, code="INVALID_REQUEST", message=message,
                    details={"code": details_code, "reason": reason})


def forbidden(res, scope):
    """§7.1 missing scope, exactly."""
    assert res["ok"] is False, res
    assert res["error"] == {
        "code": "FORBIDDEN",
        "message": "missing scope: %s" % scope,
        "details": {"code": "MISSING_SCOPE", "missingScope": scope, "requiredScopes": [scope]},
    }, res


def pairing_required(attempt, identity, *, requested_scopes, reason="not-paired",
                     requested_role="operator", control_ui=False):
    """§4.5 step 4: NOT_PAIRED + PAIRING_REQUIRED details, then close 1008
    `pairing required: <requirement> (requestId: <id>)` cut at 120 bytes.
    Returns the request id."""
    requirement = PAIRING_REQUIREMENTS[reason]
    err = attempt.error
    assert err["code"] == "NOT_PAIRED", err
    assert err["message"] == "pairing required: " + requirement, err
    details = details_include(err, {
        "code": "PAIRING_REQUIRED",
        "reason": reason,
        "remediationHint": REMEDIATION_HINTS[reason],
        "deviceId": identity.device_id,
        "requestedRole": requested_role,
        "requestedScopes": list(requested_scopes),
    })
    request_id = details.get("requestId")
    assert isinstance(request_id, str) and frames.UUID4_RE.match(request_id), details
    if control_ui:
        details_include(err, WAIT_THEN_RETRY)
    else:
        # The CLI never gets the wait_then_retry trio (§4.5).
        for key in WAIT_THEN_RETRY:
            assert key not in details, "CLI pairing details carry %r: %r" % (key, details)
    if reason != "not-paired":
        assert "approvedRoles" in details and "approvedScopes" in details, details
    full = "pairing required: %s (requestId: %s)" % (requirement, request_id)
    got_close = attempt.expect_close()
    assert got_close == (1008, truncate_reason(full)), "close %r" % (got_close,)
    return request_id


def verification_code_shown(text, device_id):
    """doc/design.md §1: a short code from the device id (first 6 hex in two groups)."""
    return re.search(r"%s[\s:-]?%s" % (device_id[:3], device_id[3:6]), text) is not None
