"""A hostile gatewayd flooding brokerd (the rest of the hostile-gateway suite is
test_hostile_gateway.py): challenges, links, links that never say hello or never
read, links from the wrong account. brokerd's memory must stay within a bound
with every link misbehaving at once and go back once they close, and the
well-behaved client keeps connecting throughout."""

import os
import socket
import time

import pytest

from clawgate_test import harness
from clawgate_test import protolink as pl
from test_hostile_gateway import Scene

LINK_CHALLENGES = 8192      # GWLINK_LINK_CHALLENGES
ALL_CHALLENGES = 32768      # GWLINK_ALL_CHALLENGES
LINK_OUTPUT = 1 << 20       # GWLINK_LINK_OUTPUT
MAX_LINKS = 64              # GWLINK_MAX_LINKS
HELLO_TIMEOUT = 5.0         # GWLINK_HELLO_TIMEOUT_MS
# brokerd's growth with every link misbehaving: 24 MiB of queued output across
# links, 32768 challenges, 64 links' buffers (measured: 31 MiB in a release
# build, 42 MiB under AddressSanitizer).
RSS_BOUND_KIB = 64 * 1024


@pytest.fixture
def scene(gateway):
    return Scene(gateway)


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def flood(link, first_conn, count):
    """count challenges for fresh conns, pipelined in chunks: (challenges, busy)."""
    challenges = busy = 0
    chunk = 5000
    for start in range(first_conn, first_conn + count, chunk):
        n = min(chunk, first_conn + count - start)
        link.send_raw(b"".join(pl.encode(pl.GW_CHALLENGE, {"conn": c}, 1)
                               for c in range(start, start + n)))
        for _ in range(n):
            answer_type, _, msg = link.recv()
            if answer_type == pl.BR_CHALLENGE:
                challenges += 1
            else:
                assert answer_type == pl.BR_REJECT, answer_type
                assert (msg["close_code"], msg["close_reason"]) == (1013, "gateway busy"), msg
                busy += 1
    return challenges, busy


def unread_flood(link, count, first_conn=1):
    """count challenges sent without reading a byte of the answers; False if
    brokerd dropped the link before it took them all."""
    chunk = 2000
    try:
        for start in range(first_conn, first_conn + count, chunk):
            link.send_raw(b"".join(pl.encode(pl.GW_CHALLENGE, {"conn": c}, 1)
                                   for c in range(start, start + chunk)))
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        return False
    return True


# AddressSanitizer keeps freed memory in a quarantine (256 MiB by default) and
# returns free pages to the system only now and then, which would show as growth
# here; these tests turn both off to see what brokerd itself retains.
NO_QUARANTINE = {"ASAN_OPTIONS": harness.SANITIZER_ENV["ASAN_OPTIONS"] +
                 ":quarantine_size_mb=0:allocator_release_to_os_interval_ms=0"}


def test_a_challenge_flood_is_bounded(make_gateway):
    scene = Scene(make_gateway(broker_env=NO_QUARANTINE))
    pid = scene.gw.broker.pid
    link = scene.fake()
    before = rss_kib(pid)
    assert flood(link, 1, LINK_CHALLENGES + 1000) == (LINK_CHALLENGES, 1000)
    full = rss_kib(pid)
    scene.assert_unharmed()
    # Once the table is full, more floods cost nothing that stays.
    for round_no in range(2):
        assert flood(link, 10**6 * (round_no + 1), 20000) == (0, 20000)
    after = rss_kib(pid)
    print("brokerd RSS: %d KiB before, %d KiB with %d challenges outstanding, %d KiB after "
          "40000 more" % (before, full, LINK_CHALLENGES, after))
    assert after - full < 4 * 1024, "RSS grew %d KiB after the table was full" % (
        after - full)
    scene.received.clear()      # nonces, nothing secret; keeps the secret scan small
    scene.assert_unharmed()
    link.close()
    # The link's challenges go with it: a new link has the full quota again.
    fresh = scene.fake()
    assert flood(fresh, 1, 10) == (10, 0)
    scene.assert_unharmed()


def fill_links(scene):
    """Links flooding until all links together are at their cap: (links, given)."""
    links = [scene.fake() for _ in range(ALL_CHALLENGES // LINK_CHALLENGES + 1)]
    given = [flood(link, 1, LINK_CHALLENGES)[0] for link in links]
    return links, given


def test_challenges_are_capped_across_links(scene):
    links, given = fill_links(scene)
    # Each link is within its own cap, but all links together are at theirs (the
    # real gatewayd may hold a few for its own conns).
    assert given[0] == LINK_CHALLENGES, given
    assert ALL_CHALLENGES - 64 <= sum(given) <= ALL_CHALLENGES, given
    assert given[-1] < LINK_CHALLENGES, given
    assert flood(links[-1], 10**6, 10) == (0, 10)
    assert scene.gw.broker.logged("%d challenges are outstanding on all links, the limit"
                                  % ALL_CHALLENGES)
    links[0].close()
    harness.wait_until(lambda: flood(links[-1], 2 * 10**6, 1) == (1, 0), 5,
                       "a closed link's challenges were not given back")
    for link in links:
        link.close()
    # Nothing leaks: a second round gets as many as the first.
    links, again = fill_links(scene)
    assert sum(again) == sum(given), (given, again)
    for link in links:
        link.close()
    scene.received.clear()
    scene.assert_unharmed()


def test_a_link_flood_is_bounded(scene):
    links, refused = [], 0
    for _ in range(MAX_LINKS + 16):
        link = scene.fake(hello=False)
        try:
            link.hello()
            links.append(link)
        except (EOFError, ConnectionError):
            refused += 1
            link.close()
    # The real gatewayd holds one of the MAX_LINKS.
    assert len(links) == MAX_LINKS - 1 and refused == 17, (len(links), refused)
    scene.assert_unharmed()
    for link in links:
        link.close()
    scene.assert_unharmed()


def test_links_beyond_the_workers_gatewayd_runs_are_refused(scene):
    """The real gatewayd runs one worker, which holds its link: a link that says the
    same is one too many, and a hello naming a worker it does not run is refused."""
    for (worker, workers), logged in (((0, 1), "gatewayd runs 1 worker, which have their "
                                       "links already"),
                                      ((3, 2), "its hello names worker 3 of 2")):
        link = scene.fake(hello=False)
        with pytest.raises((EOFError, ConnectionError)):
            link.hello(worker=worker, workers=workers)
        link.close()
        assert scene.gw.broker.logged(logged), logged
    scene.assert_unharmed()


def test_a_link_without_a_hello_is_dropped(scene):
    silent = scene.fake(hello=False)
    started = time.monotonic()
    assert silent.eof(timeout=HELLO_TIMEOUT + 5), "a link that never said hello was kept"
    waited = time.monotonic() - started
    assert HELLO_TIMEOUT - 1 <= waited <= HELLO_TIMEOUT + 3, waited
    assert scene.gw.broker.logged("no hello within 5000 ms of connecting (the limit)")
    silent.close()
    scene.assert_unharmed()


def test_a_link_that_never_reads_is_dropped(scene):
    link = scene.fake()
    # 40,000 answers (challenges, then "gateway busy") are far more than the
    # per-link cap plus what the socket holds.
    unread_flood(link, 40000)
    assert link.eof(timeout=10), "a link that never reads was kept"
    assert scene.gw.broker.logged("over the limit of %d per link" % LINK_OUTPUT)
    link.close()
    scene.received.clear()
    scene.assert_unharmed()


def test_every_link_misbehaving_keeps_the_broker_bounded(make_gateway):
    """63 links (all the real gatewayd leaves) flood challenges and never read:
    brokerd stays under RSS_BOUND_KIB of growth, sheds the links, serves the
    well-behaved client, and gives the memory back once the links are gone."""
    scene = Scene(make_gateway(broker_env=NO_QUARANTINE))
    pid = scene.gw.broker.pid
    before = peak = rss_kib(pid)
    links = [scene.fake() for _ in range(MAX_LINKS - 1)]
    for round_no in range(3):
        for i, link in enumerate(links):
            unread_flood(link, 4000, first_conn=1 + round_no * 4000 + i * 10**6)
            peak = max(peak, rss_kib(pid))
    time.sleep(0.5)
    peak = max(peak, rss_kib(pid))
    assert scene.gw.broker.logged("queued on all links, over the limit")
    for link in links:
        link.close()
    # The links' challenges go with them: the well-behaved client is served again.
    probe = scene.fake()
    conns = iter(range(1, 1000))
    harness.wait_until(lambda: flood(probe, next(conns), 1) == (1, 0), 5,
                       "the closed links' challenges were not given back")
    probe.close()
    scene.received.clear()
    scene.assert_unharmed()
    after = rss_kib(pid)
    print("brokerd RSS: %d KiB before, %d KiB at the peak with %d links misbehaving, "
          "%d KiB after they closed" % (before, peak, len(links), after))
    assert peak - before < RSS_BOUND_KIB, "RSS grew %d KiB" % (peak - before)
    assert after - before < 16 * 1024, "RSS kept %d KiB after the links closed" % (
        after - before)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another account")
def test_a_link_from_another_account_is_refused(scene):
    """gateway.sock's group admits the peer; brokerd's SO_PEERCRED check does not."""
    sock_path = str(scene.gw.sock_dir / "gateway.sock")
    gid = os.stat(sock_path).st_gid
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            os.setgroups([gid])
            os.setgid(gid)
            os.setuid(65534)        # nobody
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(sock_path)
            s.sendall(pl.encode(pl.GW_HELLO, {"pid": os.getpid(), "worker": 0, "workers": 64}, 1))
            code = 0 if s.recv(1) == b"" else 1
        except (ConnectionResetError, BrokenPipeError):
            code = 0
        except Exception:       # noqa: BLE001 - the child reports by exit code only
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0, "a link from uid 65534 was served (%d)" % (
        os.WEXITSTATUS(status))
    assert scene.gw.broker.logged("running as uid 65534: only gatewayd's account")
    scene.assert_unharmed()
