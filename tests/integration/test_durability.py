"""Durability (doc/design.md §5): brokerd is killed with SIGKILL at random moments during
a stream of approve / reject / rotate / revoke commands; after every restart the
registry loads and every acknowledged command is in it. A registry brokerd cannot
read is never overwritten: it refuses to start and names the file and the problem.

The commands go over control.sock with protolink's client (gatewayctl per command
would be slow), and the pairing requests they act on are created by signed device
connects over gateway.sock, each from its own address (the per-address rate)."""

import json
import os
import random
import signal
import threading
import time

import pytest

from clawgate_test import protolink as pl
from clawgate_test.clawclient import Identity

COMMANDS = 1000
MIN_KILLS = 5
TIME_LIMIT_S = 120      # a guard against a hang, far above the normal run time
KILL_AFTER_S = (0.05, 0.5)


class Model:
    """What the acknowledged commands say the registry holds."""

    def __init__(self):
        self.paired = {}        # device id -> ("approved"|"rotate"|"revoke", ts or None)
        self.rejected = {}      # request id -> device id
        self.inflight = None    # (command, device id) sent but not acknowledged
        self.acked = 0
        self.audited = set()    # (what, device id, request id or ts) acknowledged

    def check(self, listing):
        """Compares the registry after a restart with the model; adopts the effect
        of the one command that was in flight if it took effect."""
        paired = {d["deviceId"]: d for d in listing["paired"]}
        pending = {p["requestId"] for p in listing["pending"]}
        inflight_dev = self.inflight[1] if self.inflight else None
        problems = []
        for dev, (last, ts) in self.paired.items():
            if dev not in paired:
                problems.append("approved device %s is gone" % dev)
                continue
            (token,) = paired[dev]["tokens"]
            if dev == inflight_dev:
                continue
            if last == "rotate" and (token.get("rotatedAtMs") != ts or "revokedAtMs" in token):
                problems.append("rotation at %d of %s lost: %r" % (ts, dev, token))
            if last == "revoke" and token.get("revokedAtMs") != ts:
                problems.append("revocation at %d of %s lost: %r" % (ts, dev, token))
        for rid, dev in self.rejected.items():
            if rid in pending or dev in paired:
                problems.append("rejected request %s of %s is back" % (rid, dev))
        extra = set(paired) - set(self.paired) - {inflight_dev}
        if extra:
            problems.append("devices nobody approved: %s" % sorted(extra))
        assert not problems, "after a restart:\n  " + "\n  ".join(problems)
        if self.inflight:
            command, dev = self.inflight
            if command == "approve" and dev in paired:
                self.paired[dev] = ("approved", None)
            elif command in ("rotate", "revoke") and dev in paired:
                (token,) = paired[dev]["tokens"]
                if "revokedAtMs" in token:
                    self.paired[dev] = ("revoke", token["revokedAtMs"])
                elif "rotatedAtMs" in token:
                    self.paired[dev] = ("rotate", token["rotatedAtMs"])
        self.inflight = None


class Killer:
    """SIGKILLs the broker at a random moment after it is armed."""

    def __init__(self, rng):
        self.rng = rng
        self.timer = None
        self.fired = threading.Event()

    def arm(self, daemon):
        self.fired.clear()

        def kill():
            self.fired.set()
            daemon.signal(signal.SIGKILL)
        self.timer = threading.Timer(self.rng.uniform(*KILL_AFTER_S), kill)
        self.timer.start()

    def disarm(self):
        if self.timer is not None:
            self.timer.cancel()


def open_links(gw):
    """Links to a (re)started broker. After a SIGKILL the old sockets are still
    there until the new broker replaces them, so connecting is retried."""
    deadline = time.monotonic() + 15
    while True:
        try:
            ctl = pl.Control(gw.control_socket)
            break
        except ConnectionRefusedError:
            if not gw.broker.alive() or time.monotonic() > deadline:
                gw.broker.fail("does not accept on %s" % gw.control_socket)
            time.sleep(0.02)
    fake = pl.FakeGateway(gw.sock_dir / "gateway.sock")
    fake.hello()
    return ctl, fake


def new_request(fake, token, n):
    """A pairing request of a new device from its own address: (request id, device id)."""
    ident = Identity()
    peer = "10.%d.%d.%d" % (n >> 16 & 255, n >> 8 & 255, n & 255)
    answer_type, rej = pl.device_connect(fake, ident, token=token, peer_ip=peer)
    assert answer_type == pl.BR_REJECT and rej["details"]["code"] == "PAIRING_REQUIRED", rej
    return rej["details"]["requestId"], ident.device_id


def run_one(rng, model, ctl, fake, token, n):
    if model.paired and rng.random() < 0.4:
        dev = rng.choice(sorted(model.paired))
        command = rng.choice(["rotate", "revoke"])
        model.inflight = (command, dev)
        msg_type = pl.CTL_TOKEN_ROTATE if command == "rotate" else pl.CTL_TOKEN_REVOKE
        res = ctl.command(msg_type, {"device_id": dev, "role": "operator"})
        ts = res["rotatedAtMs"] if command == "rotate" else res["revokedAtMs"]
        model.paired[dev] = (command, ts)
        model.audited.add((command, dev, ts))
    else:
        rid, dev = new_request(fake, token, n)
        command = "approve" if rng.random() < 0.6 else "reject"
        model.inflight = (command, dev)
        if command == "approve":
            ctl.command(pl.CTL_APPROVE, {"id": rid})
            model.paired[dev] = ("approved", None)
        else:
            ctl.command(pl.CTL_REJECT, {"id": rid})
            model.rejected[rid] = dev
        model.audited.add((command, dev, rid))
    model.inflight = None
    model.acked += 1


def test_sigkill_during_a_command_stream_loses_no_acknowledged_command(make_gateway):
    seed = int.from_bytes(os.urandom(4), "big")
    print("random seed %d (the kill moments and the command mix)" % seed)
    rng = random.Random(seed)
    gw = make_gateway(start=False)
    gw.start_broker()
    token = gw.token
    model, killer = Model(), Killer(rng)
    kills, n = 0, 0
    deadline = time.monotonic() + TIME_LIMIT_S
    ctl, fake = open_links(gw)
    killer.arm(gw.broker)
    try:
        while model.acked < COMMANDS or kills < MIN_KILLS:
            assert time.monotonic() < deadline, "%d commands, %d kills after %d s" % (
                model.acked, kills, TIME_LIMIT_S)
            n += 1
            try:
                run_one(rng, model, ctl, fake, token, n)
                continue
            except (EOFError, ConnectionError):
                pass
            # The link broke: that must be our SIGKILL, not a crash.
            daemon = gw.broker
            daemon.proc.wait(10)
            if not killer.fired.is_set() or daemon.proc.returncode != -9:
                daemon.fail("died on its own (status %s)" % daemon.proc.returncode)
            kills += 1
            ctl.close()
            fake.close()
            gw.start_broker()       # fails, quoting the log, if the registry does not load
            ctl, fake = open_links(gw)
            model.check(ctl.command(pl.CTL_LIST))
            killer.arm(gw.broker)
    finally:
        killer.disarm()
    # A last, clean restart: everything acknowledged is still there.
    ctl.close()
    fake.close()
    gw.broker.stop()
    gw.start_broker()
    ctl = pl.Control(gw.control_socket)
    model.check(ctl.command(pl.CTL_LIST))
    ctl.close()
    print("%d acknowledged commands, %d SIGKILLs, %d devices paired" % (
        model.acked, kills, len(model.paired)))
    assert model.acked >= COMMANDS and kills >= MIN_KILLS
    # The audit line of an acknowledged command was on disk before the answer.
    logged = set()
    for line in (gw.state_dir / "audit.log").read_text().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue        # a line a SIGKILL cut short (brokerd ended it at start-up)
        key = e.get("requestId") if e["what"] in ("approve", "reject") else e["ts"]
        logged.add((e["what"], e.get("deviceId"), key))
    missing = model.audited - logged
    assert not missing, "%d acknowledged commands are not in the audit log, e.g. %r" % (
        len(missing), sorted(missing)[:3])


# ---- a registry brokerd cannot read ----

def corrupt_truncated(text):
    return text[:len(text) // 2]


def corrupt_version(text):
    doc = json.loads(text)
    doc["version"] = 99
    return json.dumps(doc)


def corrupt_device_id(text):
    doc = json.loads(text)
    doc["paired"][0]["deviceId"] = "0" * 64
    return json.dumps(doc)


@pytest.mark.parametrize("corrupt, problem", [
    (corrupt_truncated, "not valid JSON"),
    (corrupt_version, "version must be 1"),
    (corrupt_device_id, "paired[0]: deviceId is not the SHA-256 of publicKey"),
])
def test_a_corrupted_registry_is_refused_and_kept(make_gateway, corrupt, problem):
    gw = make_gateway(start=False)
    gw.start_broker()
    ctl, fake = open_links(gw)
    rid, _ = new_request(fake, gw.token, 1)
    ctl.command(pl.CTL_APPROVE, {"id": rid})
    ctl.close()
    fake.close()
    gw.broker.stop()
    path = gw.state_dir / "registry.json"
    broken = corrupt(path.read_text())
    path.write_text(broken)
    audit_before = (gw.state_dir / "audit.log").read_bytes()

    with pytest.raises(AssertionError) as failed:
        gw.start_broker()
    daemon, gw.broker = gw.broker, None
    assert daemon.proc.wait(10) != 0
    message = str(failed.value)
    assert "refusing to start" in message and str(path) in message, message
    assert problem in message, message
    assert "restore it from a backup" in message, message
    assert path.read_text() == broken, "brokerd changed the registry it refused"
    assert (gw.state_dir / "audit.log").read_bytes() == audit_before
    assert not (gw.state_dir / ".registry.json.tmp").exists()
