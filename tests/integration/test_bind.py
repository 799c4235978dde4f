"""gateway.bind: which addresses gatewayd listens on.

`lan` listens on every IPv4 and every IPv6 address: the test reaches it over
both loopback addresses only (it adds no address to any interface), and the
gateway runs only as long as the test (a random port, a random token)."""

from clawgate_test.clawclient import cli_params, handshake
from clawgate_test.harness import port_accepts


def connect_ok(gw, host):
    url = "ws://%s:%d/" % ("[%s]" % host if ":" in host else host, gw.port)
    attempt = handshake(url, cli_params(token=gw.token))
    assert attempt.ok, attempt.res
    attempt.close()


def listening(port):
    """The local addresses (hex, as the kernel prints them) of the TCP sockets
    listening on port, from /proc/net/tcp and tcp6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                local, state = line.split()[1], line.split()[3]
                addr, hexport = local.split(":")
                if state == "0A" and int(hexport, 16) == port:
                    found.add(addr)
    return found


IPV4_ANY, IPV6_ANY = "0" * 8, "0" * 32


def test_lan_listens_on_ipv4_and_ipv6(make_gateway):
    gw = make_gateway(config_extra={"bind": "lan"})
    assert port_accepts(gw.port, "::1"), "bind lan: nothing accepts on [::1]:%d" % gw.port
    connect_ok(gw, "127.0.0.1")
    connect_ok(gw, "::1")
    assert listening(gw.port) == {IPV4_ANY, IPV6_ANY}, listening(gw.port)
    log = gw.log_text("gatewayd")
    assert "listening on 0.0.0.0:%d" % gw.port in log, log
    assert "listening on [::]:%d" % gw.port in log, log


def test_loopback_listens_on_both_loopback_addresses(make_gateway):
    gw = make_gateway()
    connect_ok(gw, "127.0.0.1")
    connect_ok(gw, "::1")
    assert IPV4_ANY not in listening(gw.port) and IPV6_ANY not in listening(gw.port)


def test_lan_without_ipv6_listens_on_ipv4(make_gateway):
    # A kernel without IPv6 refuses the "::" listener (EAFNOSUPPORT); strace
    # makes the second bind, the one of "::", fail that way.
    strace = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=bind",
              "-e", "inject=bind:error=EAFNOSUPPORT:when=2"]
    gw = make_gateway(config_extra={"bind": "lan"}, gatewayd_wrapper=strace)
    connect_ok(gw, "127.0.0.1")
    assert not port_accepts(gw.port, "::1")
    assert listening(gw.port) == {IPV4_ANY}, listening(gw.port)
    assert gw.gatewayd.logged("not listening on [::]:%d: this host has no IPv6" % gw.port)
