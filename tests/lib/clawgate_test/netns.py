"""Remote addresses without leaving the host: private_netns(addresses) moves the
calling thread (and every process it starts from then on) into a network
namespace of its own with lo up and the addresses on it, and back afterwards.
Root only; the test is skipped otherwise."""

import contextlib
import ctypes
import os
import subprocess

import pytest

CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def private_netns(addresses):
    """addresses: "10.77.0.1/32" style (a plain address gets /32)."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a network namespace")
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if _libc.unshare(CLONE_NEWNET) != 0:
            pytest.skip("cannot make a network namespace: %s" %
                        os.strerror(ctypes.get_errno()))
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        for addr in addresses:
            subprocess.run(["ip", "addr", "add", addr if "/" in addr else addr + "/32",
                            "dev", "lo"], check=True)
        yield
    finally:
        if _libc.setns(original, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "cannot return to the test's network namespace")
        os.close(original)
