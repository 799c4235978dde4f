"""The global cap on pending pairing requests (1024, PAIRING_PENDING_MAX), driven
the way a storm from many addresses would fill it: through a fake gateway link
(protolink) that claims 103 client addresses, 10 new requests each (the
per-address budget). The real gatewayd cannot be used for this: one loopback test
client would meet the per-address budget long before the global cap."""

from clawgate_test import protolink as pl
from clawgate_test.clawclient import Identity, cli_params, sign_device

PENDING_MAX = 1024
PER_ADDRESS = 10    # PAIRING_RATE_BURST


def test_pending_requests_stop_at_the_cap(gateway):
    link = pl.FakeGateway(gateway.sock_dir / "gateway.sock")
    link.hello()
    first = None
    for i in range(PENDING_MAX):
        ident = Identity()
        peer = "198.51.100.%d" % (i // PER_ADDRESS + 1)
        answer_type, rej = pl.device_connect(link, ident, token=gateway.token, peer_ip=peer)
        assert answer_type == pl.BR_REJECT, rej
        assert rej["code"] == "NOT_PAIRED", rej
        first = first or (ident, peer)
    assert len(gateway.devices()["pending"]) == PENDING_MAX
    # Over the cap: refused from a fresh address, whether its signature is good or
    # not (it is not checked), and the refusal is held (delay_ms) for a random
    # time in the second half of the 5 s the broker allows itself.
    for good_signature in (True, False):
        ch = link.challenge()
        params = cli_params(token=gateway.token, scopes=["operator.read"])
        sign_device(params, Identity(), signed_at=ch["ts"], version="v3",
                    nonce=ch["nonce"] if good_signature else "not-" + ch["nonce"])
        answer_type, rej = link.connect(pl.connect_msg(ch["conn"], params,
                                                       peer_ip="203.0.113.200"))
        assert answer_type == pl.BR_REJECT, rej
        assert rej["code"] == "UNAVAILABLE", rej
        assert rej["message"] == "too many pending pairing requests; retry later", rej
        assert rej["close_code"] == 1013, rej
        assert rej["retry_after_ms"] == 30000, rej
        assert 2500 <= rej["delay_ms"] <= 5000, rej
    assert len(gateway.devices()["pending"]) == PENDING_MAX
    # A device that is already waiting keeps its request alive.
    ident, peer = first
    answer_type, rej = pl.device_connect(link, ident, token=gateway.token, peer_ip=peer)
    assert answer_type == pl.BR_REJECT and rej["code"] == "NOT_PAIRED", rej
    link.close()
