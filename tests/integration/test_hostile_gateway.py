"""A hostile gatewayd (doc/design.md §1: gatewayd may be broken into). A hand-written
fake gateway (protolink) talks to a real brokerd on gateway.sock while the real
gatewayd serves a well-behaved client at the same time. It sends every message type
with wrong sizes, truncated and over-long fields, unknown types, out-of-state
messages, a replayed nonce, another connection's nonce, another device's valid
signature, forged approve / reject / rotate / revoke / remove without a session the
broker accepted with operator.pairing (floods of challenges, links and unread
output: test_hostile_gateway_floods.py).

After each attack: brokerd is alive (and ASan-clean when stopped), the well-behaved
client still connects and calls, the registry (file and contents) is unchanged, and
nothing brokerd sent the fake gateway contains the shared token or a device token."""

import struct

import pytest

from clawgate_test import harness
from clawgate_test import protolink as pl
from clawgate_test.clawclient import Identity, cli_params, sign_device
from clawgate_test.flows import device_token_connect, pair_device, request_pairing

KNOWN_TYPES = sorted(pl.LAYOUTS)
GW_TYPES = [pl.GW_HELLO, pl.GW_CHALLENGE, pl.GW_CONNECT, pl.GW_RPC, pl.GW_CLOSED,
            pl.GW_SESSION_CLOSED]
VOLATILE = ("lastSeenAtMs", "lastUsedAtMs", "connected")


class Scene:
    """A real brokerd + gatewayd with a paired device (whose device token the
    well-behaved client uses) and a pending request, and what must not change."""

    def __init__(self, gw):
        self.gw = gw
        self.device = Identity()
        self.device_token = pair_device(gw, self.device)
        self.pending_device = Identity()
        self.request_id = request_pairing(gw, self.pending_device)
        self.registry_file = (gw.state_dir / "registry.json").read_bytes()
        self.listing = self.snapshot()
        self.received = []      # every byte string brokerd sent a fake gateway

    def snapshot(self):
        listing = self.gw.devices()
        for entry in listing["paired"]:
            for key in VOLATILE:
                entry.pop(key, None)
            for token in entry["tokens"]:
                token.pop("lastUsedAtMs", None)
        return listing

    def fake(self, hello=True):
        link = RecordingGateway(self.gw.sock_dir / "gateway.sock", self.received)
        if hello:
            link.hello()
        return link

    def assert_unharmed(self):
        assert self.gw.broker.alive(), self.gw.logs()
        session = device_token_connect(self.gw, self.device, self.device_token)
        assert session.ok, "the well-behaved client cannot connect any more"
        assert session.conn.request("health")["ok"] is True
        session.close()
        assert self.snapshot() == self.listing, "the registry changed"
        assert (self.gw.state_dir / "registry.json").read_bytes() == self.registry_file
        seen = b"".join(self.received)
        for secret in (self.gw.token, self.device_token):
            assert secret.encode() not in seen, "brokerd sent a secret to the fake gateway"


class RecordingGateway(pl.FakeGateway):
    """A fake gateway that keeps every byte it receives."""

    def __init__(self, path, sink):
        super().__init__(path, timeout=10.0)
        self.sink = sink

    def _exact(self, n):
        data = super()._exact(n)
        self.sink.append(data)
        return data


@pytest.fixture
def scene(gateway):
    return Scene(gateway)


def dropped(link):
    assert link.eof(), "brokerd kept a link that sent garbage"
    link.close()


def signed_connect(ch, identity, *, token=None, device_token=None, nonce=None, signer=None,
                   peer_ip="127.0.0.1", scopes=("operator.read",)):
    """GW_CONNECT for identity, signed (by signer's key if given) over nonce."""
    params = cli_params(token=token, device_token=device_token, scopes=scopes)
    sign_device(params, identity, nonce=ch["nonce"] if nonce is None else nonce,
                signed_at=ch["ts"], version="v3")
    if signer is not None:
        other = dict(params)
        sign_device(other, signer, nonce=ch["nonce"] if nonce is None else nonce,
                    signed_at=ch["ts"], version="v3", device_id=identity.device_id)
        params["device"]["signature"] = other["device"]["signature"]
    return pl.connect_msg(ch["conn"], params, peer_ip=peer_ip)


def sample(msg_type):
    """A payload of the right shape for each type (its size is what matters)."""
    return pl.encode_payload(msg_type, {"conn": 5, "scopes": ["operator.read"]})


# ---- frames and fields ----

# Every type one byte too long, and every type with fields one byte too short.
WRONG_SIZES = [(t, "long") for t in KNOWN_TYPES] + [
    (t, "short") for t in KNOWN_TYPES if pl.LAYOUTS[t]]


@pytest.mark.parametrize("msg_type, damage", WRONG_SIZES,
                         ids=["0x%04x-%s" % w for w in WRONG_SIZES])
def test_every_type_with_a_wrong_size_drops_the_link(scene, msg_type, damage):
    payload = sample(msg_type)
    payload = payload[:-1] if damage == "short" else payload + b"\0"
    # A hello is checked before the hello, everything else after it.
    link = scene.fake(hello=msg_type != pl.GW_HELLO)
    link.send_raw(pl.frame(msg_type, payload))
    dropped(link)
    scene.assert_unharmed()


@pytest.mark.parametrize("msg_type", [0x0000, 0x0106, 0x01ff, 0x0303, 0x040f, 0xffff],
                         ids=lambda t: "0x%04x" % t)
def test_unknown_types_drop_the_link(scene, msg_type):
    link = scene.fake()
    link.send_raw(pl.frame(msg_type, b""))
    dropped(link)
    scene.assert_unharmed()


@pytest.mark.parametrize("header", [
    {"flags": 1}, {"version": pl.VERSION + 1}, {"length": 64 * 1024 + 1},
    {"length": 0xffffffff},
], ids=["flags", "version", "over-64KiB", "4GiB"])
def test_bad_headers_drop_the_link(scene, header):
    link = scene.fake()
    link.send_raw(pl.frame(pl.GW_CHALLENGE, struct.pack(">Q", 9), **header))
    dropped(link)
    scene.assert_unharmed()


def test_a_half_sent_frame_does_not_stall_the_broker(scene):
    link = scene.fake()
    whole = pl.frame(pl.GW_CONNECT, b"x" * 1000)
    link.send_raw(whole[:40])
    scene.assert_unharmed()         # other links are served while it waits
    link.close()
    scene.assert_unharmed()


def field_bytes(value):
    return struct.pack(">I", len(value)) + value


def connect_payload(**overrides):
    """A GW_CONNECT payload with raw bytes for some string fields."""
    fields = []
    msg = {"conn": 1, "min_protocol": 4, "max_protocol": 4, "client_id": "cli",
           "client_mode": "cli", "scopes": ["operator.read"]}
    for name, kind in pl.LAYOUTS[pl.GW_CONNECT]:
        if name in overrides:
            fields.append(overrides[name])
        else:
            fields.append(_one(kind, msg.get(name)))
    return b"".join(fields)


def _one(kind, value):
    if kind in pl.INTS:
        return struct.pack(pl.INTS[kind], value or 0)
    if kind == "str":
        return field_bytes((value or "").encode())
    return struct.pack(">I", len(value or [])) + b"".join(
        field_bytes(s.encode()) for s in value or [])


@pytest.mark.parametrize("field, raw", [
    ("device_id", field_bytes(b"a" * 129)),                 # over PROTO_ID_MAX
    ("token", field_bytes(b"t" * 513)),                     # over PROTO_TOKEN_MAX
    ("client_display_name", field_bytes(b"n" * 257)),       # over PROTO_TEXT_MAX
    ("client_id", field_bytes(b"c l i")),                   # an atom with spaces
    ("client_display_name", field_bytes(b"\xff\xfe")),      # not UTF-8
    ("client_display_name", field_bytes(b"a\x01b")),        # a control character
    ("token", field_bytes(b"abc\0def")),                    # a NUL inside
    ("scopes", struct.pack(">I", 33) + field_bytes(b"operator.read") * 33),   # too many
    ("scopes", struct.pack(">I", 0xffffffff)),              # a count that lies
    ("origin", struct.pack(">I", 0xffffffff) + b"x"),       # a length that lies
], ids=["id-129", "token-513", "name-257", "atom-space", "utf8", "control", "nul",
        "33-scopes", "count-4G", "length-4G"])
def test_bad_connect_fields_drop_the_link(scene, field, raw):
    link = scene.fake()
    ch = link.challenge()
    payload = connect_payload(conn=struct.pack(">Q", ch["conn"]), **{field: raw})
    link.send_raw(pl.frame(pl.GW_CONNECT, payload))
    dropped(link)
    scene.assert_unharmed()


def test_the_connect_builder_itself_is_accepted(scene):
    """The field tests above differ from an acceptable GW_CONNECT only in that
    field: this one, unchanged, gets an answer instead of a dropped link."""
    link = scene.fake()
    ch = link.challenge()
    link.send_raw(pl.frame(pl.GW_CONNECT, connect_payload(conn=struct.pack(">Q", ch["conn"]))))
    answer_type, _, rej = link.recv()
    assert answer_type == pl.BR_REJECT, rej
    scene.assert_unharmed()


# ---- out of state ----

def forged_rpc(conn, method, ticket=b"", **params):
    bits = {"request_id": pl.RPC_REQUEST_ID, "device_id": pl.RPC_DEVICE_ID,
            "role": pl.RPC_ROLE}
    msg = {"conn": conn, "ticket": ticket, "id": "forged", "method": method,
           "params": sum(bits[k] for k in params)}
    msg.update(params)
    return msg


@pytest.mark.parametrize("attack", [
    "challenge-before-hello", "second-hello", "connect-without-challenge",
    "connect-twice", "rpc-never-accepted", "rpc-after-reject", "conn-zero",
    "conn-reused", "broker-message", "control-command",
])
def test_out_of_state_messages_drop_the_link(scene, attack):
    link = scene.fake(hello=attack != "challenge-before-hello")
    token = scene.gw.token
    if attack == "challenge-before-hello":
        link.send(pl.GW_CHALLENGE, {"conn": 1})
    elif attack == "second-hello":
        link.send(pl.GW_HELLO, {"pid": 1})
    elif attack == "connect-without-challenge":
        link.send(pl.GW_CONNECT, pl.connect_msg(77, cli_params(token=token)))
    elif attack == "connect-twice":
        ch = link.challenge()
        msg = pl.connect_msg(ch["conn"], cli_params(token=token))
        assert link.call(pl.GW_CONNECT, msg)[0] == pl.BR_ACCEPT
        link.send(pl.GW_CONNECT, msg)
    elif attack == "rpc-never-accepted":
        link.challenge()
        link.send(pl.GW_RPC, forged_rpc(1, "device.pair.approve", request_id=scene.request_id))
    elif attack == "rpc-after-reject":
        ch = link.challenge()
        assert link.call(pl.GW_CONNECT, pl.connect_msg(
            ch["conn"], cli_params(token="wrong")))[0] == pl.BR_REJECT
        link.send(pl.GW_RPC, forged_rpc(ch["conn"], "device.pair.approve",
                                        request_id=scene.request_id))
    elif attack == "conn-zero":
        link.send(pl.GW_CHALLENGE, {"conn": 0})
    elif attack == "conn-reused":
        link.challenge(5)
        link.send(pl.GW_CHALLENGE, {"conn": 5})
    elif attack == "broker-message":
        link.send(pl.BR_ACCEPT, {"conn": 1, "role": "operator", "method": "token",
                                 "scopes": ["operator.admin"]})
    else:
        link.send(pl.CTL_APPROVE, {"id": scene.request_id})
    dropped(link)
    scene.assert_unharmed()


# ---- nonces and signatures ----

def answer(link, msg):
    answer_type, res = link.connect(msg)
    assert answer_type == pl.BR_REJECT, "brokerd accepted a forged connect: %r" % res
    return res


def test_a_replayed_nonce_is_refused(scene):
    link = scene.fake()
    first = link.challenge()
    # The paired device on its device token: accepted, and the nonce is used up.
    answer_type, acc = link.connect(signed_connect(first, scene.device,
                                                   device_token=scene.device_token))
    assert answer_type == pl.BR_ACCEPT and acc["device_token"] == "", acc
    second = link.challenge()
    res = answer(link, signed_connect(second, scene.device, device_token=scene.device_token,
                                      nonce=first["nonce"]))
    assert res["message"] == "device nonce mismatch", res
    scene.assert_unharmed()


def test_a_nonce_issued_to_another_connection_is_refused(scene):
    link = scene.fake()
    mine, other = link.challenge(), link.challenge()
    res = answer(link, signed_connect(mine, scene.device, token=scene.gw.token,
                                      nonce=other["nonce"]))
    assert res["message"] == "device nonce mismatch", res
    # A nonce from a different link is no better.
    link2 = scene.fake()
    theirs = link2.challenge()
    ch = link.challenge()
    res = answer(link, signed_connect(ch, scene.device, token=scene.gw.token,
                                      nonce=theirs["nonce"]))
    assert res["message"] == "device nonce mismatch", res
    scene.assert_unharmed()


def test_another_devices_valid_signature_is_refused(scene):
    link = scene.fake()
    intruder = Identity()
    ch = link.challenge()
    # The paired device's id and key, signed (validly) by the intruder's key.
    res = answer(link, signed_connect(ch, scene.device, token=scene.gw.token, signer=intruder))
    assert res["message"] == "device signature invalid", res
    # The intruder's own valid signature with the paired device's id.
    ch = link.challenge()
    params = cli_params(token=scene.gw.token)
    sign_device(params, intruder, nonce=ch["nonce"], signed_at=ch["ts"], version="v3",
                device_id=scene.device.device_id)
    res = answer(link, pl.connect_msg(ch["conn"], params))
    assert res["message"] == "device identity mismatch", res
    scene.assert_unharmed()


# ---- forged pairing decisions ----

@pytest.mark.parametrize("session", ["no-scopes", "operator.read"])
@pytest.mark.parametrize("method", ["device.pair.approve", "device.pair.reject",
                                    "device.pair.remove", "device.token.rotate",
                                    "device.token.revoke", "device.pair.rename"])
def test_forged_decisions_without_operator_pairing_are_refused(scene, session, method):
    link = scene.fake()
    ch = link.challenge()
    # A device-less operator from a remote address is accepted with no scopes; the
    # local admin CLI keeps the ones it asks for.
    peer = "203.0.113.7" if session == "no-scopes" else "127.0.0.1"
    params = cli_params(token=scene.gw.token, scopes=["operator.read"])
    answer_type, acc = link.connect(pl.connect_msg(ch["conn"], params, peer_ip=peer))
    assert answer_type == pl.BR_ACCEPT, acc
    assert acc["scopes"] == ([] if session == "no-scopes" else ["operator.read"]), acc
    args = {"request_id": scene.request_id, "device_id": scene.device.device_id,
            "role": "operator"}
    msg = forged_rpc(ch["conn"], method, acc["ticket"], **args)
    msg["label"] = "owned"
    answer_type, res = link.call(pl.GW_RPC, msg)
    assert answer_type == pl.BR_RPC_RESULT and not res["ok"], res
    assert res["code"] == "FORBIDDEN", res
    assert res["message"] == "missing scope: operator.pairing", res
    scene.assert_unharmed()


# ---- session tickets ----
#
# brokerd keeps nothing per accepted session: gatewayd holds the session's ticket
# (sealed with a key only brokerd has) and sends it with each RPC. A ticket that
# was forged or altered, or belongs to another conn or link, drops the link; a
# genuine ticket of a session brokerd closed is refused, whatever gatewayd does.

def accepted(link, msg):
    answer_type, acc = link.connect(msg)
    assert answer_type == pl.BR_ACCEPT, acc
    assert len(acc["ticket"]) == pl.TICKET_LEN, acc
    return acc


def operator_session(link, token, scopes=("operator.read",)):
    """A device-less loopback operator on the shared token: (conn, ticket)."""
    ch = link.challenge()
    acc = accepted(link, pl.connect_msg(ch["conn"], cli_params(token=token,
                                                                scopes=list(scopes))))
    return ch["conn"], acc["ticket"]


def device_session(link, identity, device_token=None, token=None,
                   scopes=("operator.read",)):
    """A paired device's session on link: (conn, ticket)."""
    answer_type, acc = pl.device_connect(link, identity, token=token,
                                         device_token=device_token, scopes=scopes)
    assert answer_type == pl.BR_ACCEPT, acc
    return acc["conn"], acc["ticket"]


def rpc(link, conn, ticket, method="health", **params):
    answer_type, res = link.call(pl.GW_RPC, forged_rpc(conn, method, ticket, **params))
    assert answer_type == pl.BR_RPC_RESULT and res["conn"] == conn, res
    res["ok"] = bool(res["ok"])
    return res


def refused_as_closing(res):
    assert not res["ok"] and res["code"] == "UNAVAILABLE", res
    assert "being closed" in res["message"], res


def flip(ticket, offset, mask=0x01):
    damaged = bytearray(ticket)
    damaged[offset] ^= mask
    return bytes(damaged)


def still_serving(link):
    """The link survived: it still gets challenges."""
    assert link.challenge()["nonce"]


@pytest.mark.parametrize("damage", ["zeros", "all-scopes", "not-shared", "epoch", "role",
                                    "mac"])
def test_a_forged_or_altered_ticket_drops_the_link(scene, damage):
    link = scene.fake()
    conn, ticket = operator_session(link, scene.gw.token)
    assert rpc(link, conn, ticket)["ok"] is True
    forged = {
        "zeros": bytes(pl.TICKET_LEN),
        # operator.read -> every scope bit, to approve the pending request
        "all-scopes": ticket[:16] + b"\xff" * 4 + ticket[20:],
        # off the shared secret: would survive a token change
        "not-shared": flip(ticket, pl.TICKET_FLAGS),
        "epoch": flip(ticket, 8),
        "role": flip(ticket, pl.TICKET_ROLE),
        "mac": flip(ticket, pl.TICKET_LEN - 1, 0x80),
    }[damage]
    link.send(pl.GW_RPC, forged_rpc(conn, "device.pair.approve", forged,
                                    request_id=scene.request_id))
    dropped(link)
    scene.assert_unharmed()


def test_a_forged_close_report_drops_the_link(scene):
    link = scene.fake()
    conn, ticket = operator_session(link, scene.gw.token)
    link.send(pl.GW_SESSION_CLOSED, {"conn": conn, "ticket": flip(ticket, pl.TICKET_MAC)})
    dropped(link)
    scene.assert_unharmed()


@pytest.mark.parametrize("whose", ["another-conn", "another-link", "closed-by-another"])
def test_another_sessions_ticket_drops_the_link(scene, whose):
    link = scene.fake()
    mine, my_ticket = operator_session(link, scene.gw.token)
    # An admin session elsewhere: its ticket would approve the pending request.
    if whose == "another-link":
        other = scene.fake()
        their_conn, theirs = operator_session(other, scene.gw.token,
                                              ("operator.pairing",))
        assert their_conn == mine, "both links number their conns from 1"
    else:
        their_conn, theirs = operator_session(link, scene.gw.token, ("operator.pairing",))
    if whose == "closed-by-another":
        link.send(pl.GW_SESSION_CLOSED, {"conn": mine, "ticket": theirs})
    else:
        link.send(pl.GW_RPC, forged_rpc(mine, "device.pair.approve", theirs,
                                        request_id=scene.request_id))
    dropped(link)
    scene.assert_unharmed()


def next_push(link):
    """The next push brokerd sent the link (reading it if none is collected yet)."""
    if link.pushes:
        return link.pushes.pop(0)
    msg_type, req_id, msg = link.recv()
    assert req_id == 0, (msg_type, msg)
    return msg_type, msg


@pytest.mark.parametrize("event", ["revoke", "rotate", "remove", "token-generate"])
def test_a_closed_sessions_ticket_is_refused(make_gateway, event):
    gw = make_gateway(config_token=False)
    ident = Identity()
    device_token = pair_device(gw, ident)
    link = pl.FakeGateway(gw.sock_dir / "gateway.sock")
    link.hello()
    ctl = pl.Control(gw.control_socket)
    # The shared secret's sessions are what a new one closes; the others a device's.
    shared = event == "token-generate"
    conn, ticket = device_session(link, ident, device_token=None if shared else device_token,
                                  token=gw.token if shared else None)
    assert rpc(link, conn, ticket)["ok"] is True
    assert gw.paired_entry(ident.device_id)["connected"] is True
    if event == "revoke":
        ctl.command(pl.CTL_TOKEN_REVOKE, {"device_id": ident.device_id, "role": "operator"})
    elif event == "rotate":
        ctl.command(pl.CTL_TOKEN_ROTATE, {"device_id": ident.device_id, "role": "operator"})
    elif event == "remove":
        ctl.command(pl.CTL_REMOVE, {"id": ident.device_id})
    else:
        ctl.command(pl.CTL_TOKEN_GENERATE)
    push_type, push = next_push(link)
    assert push_type == pl.BR_CLOSE, push
    if shared:
        assert push["target"] == pl.CLOSE_TARGET_SHARED, push
        assert (push["code"], push["reason"]) == (4001, "gateway auth changed"), push
    else:
        assert push["target"] == pl.CLOSE_TARGET_DEVICE, push
        assert push["device"] == bytes.fromhex(ident.device_id), push
        assert push["roles"] & 1 and push["except_conn"] == 0, push
        assert push["code"] == 1008, push
    # gatewayd here ignores the close; brokerd refuses the session all the same.
    refused_as_closing(rpc(link, conn, ticket))
    refused_as_closing(rpc(link, conn, ticket, "device.pair.list"))
    if event != "remove":
        assert gw.paired_entry(ident.device_id)["connected"] is False
    # Its close report is no violation; the link serves on.
    link.send(pl.GW_SESSION_CLOSED, {"conn": conn, "ticket": ticket})
    still_serving(link)
    ctl.close()
    link.close()
    assert gw.broker.alive(), gw.logs()


def test_the_caller_of_a_rotate_keeps_its_session(gateway):
    gw = gateway
    ident = Identity()
    scopes = ("operator.pairing", "operator.read")
    device_token = pair_device(gw, ident, scopes)
    link = pl.FakeGateway(gw.sock_dir / "gateway.sock")
    link.hello()
    me, my_ticket = device_session(link, ident, device_token, scopes=scopes)
    other, other_ticket = device_session(link, ident, device_token, scopes=scopes)
    for round_no in range(2):
        res = rpc(link, me, my_ticket, "device.token.rotate", device_id=ident.device_id,
                  role="operator")
        assert res["ok"] is True and res["payload"]["tokenDelivery"] == "in-band", res
        push_type, push = next_push(link)
        assert push_type == pl.BR_CLOSE and push["except_conn"] == me, push
        # The caller's own session stays good, across a second rotate of its own too.
        assert rpc(link, me, my_ticket)["ok"] is True
        refused_as_closing(rpc(link, other, other_ticket))
        assert gw.paired_entry(ident.device_id)["connected"] is True
    # The closed session's report counts nothing; the caller's ends the device's.
    link.send(pl.GW_SESSION_CLOSED, {"conn": other, "ticket": other_ticket})
    assert gw.paired_entry(ident.device_id)["connected"] is True
    link.send(pl.GW_SESSION_CLOSED, {"conn": me, "ticket": my_ticket})
    assert gw.paired_entry(ident.device_id)["connected"] is False
    # A rotate by someone else closes the spared session as well.
    new = res["payload"]["token"]
    ctl = pl.Control(gw.control_socket)
    me2, ticket2 = device_session(link, ident, new, scopes=("operator.read",))
    ctl.command(pl.CTL_TOKEN_ROTATE, {"device_id": ident.device_id, "role": "operator"})
    refused_as_closing(rpc(link, me, my_ticket))
    refused_as_closing(rpc(link, me2, ticket2))
    ctl.close()
    link.close()
