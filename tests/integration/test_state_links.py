"""brokerd started as root in a state dir where something was planted: it never
follows a symbolic link to a state file (registry.json, gateway.token, audit.log),
never appends to an audit log with another hard link, and gives its account only
the files it wrote itself, through their descriptors (brokerd/fileio.h)."""

import os
import pwd
import stat
import subprocess

import pytest

from clawgate_test.harness import BROKERD, daemon_env

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: brokerd gives files "
                                "away only when started as root (./check runs as root)")


def broker_uid():
    return pwd.getpwnam("clawgate-broker").pw_uid


def state_dir_of_broker(gw):
    """The state dir as a root-started brokerd wants it: the broker's, mode 0700."""
    gw.state_dir.mkdir()
    os.chown(gw.state_dir, broker_uid(), -1)
    os.chmod(gw.state_dir, 0o700)


def outside_file(gw, text):
    """A root-owned file outside the state dir, for a planted link to point at."""
    target = gw.root / "outside.txt"
    target.write_text(text)
    os.chmod(target, 0o644)
    return target


def run_brokerd(gw):
    """brokerd in the foreground for start-up checks that must fail fast."""
    argv = [str(BROKERD), "--config", str(gw.config_path), "--state-dir", str(gw.state_dir),
            "--socket-dir", str(gw.sock_dir)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=10, env=daemon_env(),
                          stdin=subprocess.DEVNULL)


def assert_untouched(target, text):
    st = os.stat(target)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o644), st
    assert target.read_text() == text


@pytest.mark.parametrize("name, config_token", [
    ("registry.json", True),
    ("gateway.token", False),      # read only when no token is configured
    ("audit.log", True),
])
def test_a_symlink_planted_as_a_state_file_is_refused(make_gateway, name, config_token):
    gw = make_gateway(start=False, config_token=config_token)
    state_dir_of_broker(gw)
    text = '{"version": 1, "paired": [], "pending": []}\n'
    target = outside_file(gw, text)
    os.symlink(target, gw.state_dir / name)
    proc = run_brokerd(gw)
    assert proc.returncode != 0, proc
    assert "%s/%s" % (gw.state_dir, name) in proc.stderr, proc.stderr
    assert "is a symbolic link, and brokerd follows none in its state directory" in \
        proc.stderr, proc.stderr
    assert "mv it there" in proc.stderr, proc.stderr
    assert_untouched(target, text)
    assert os.path.islink(gw.state_dir / name)
    assert not (gw.sock_dir / "control.sock").exists()


def test_an_audit_log_with_another_hard_link_is_refused(make_gateway):
    gw = make_gateway(start=False)
    state_dir_of_broker(gw)
    text = "not brokerd's to write\n"
    target = outside_file(gw, text)
    os.link(target, gw.state_dir / "audit.log")
    proc = run_brokerd(gw)
    assert proc.returncode != 0, proc
    assert "the audit log %s/audit.log has 2 hard links" % gw.state_dir in proc.stderr, \
        proc.stderr
    assert_untouched(target, text)


def test_root_gives_away_only_the_files_it_wrote(make_gateway):
    gw = make_gateway(start=False, config_token=False)
    state_dir_of_broker(gw)
    planted = gw.state_dir / "notes.txt"
    planted.write_text("root's own\n")
    target = outside_file(gw, "x\n")
    os.symlink(target, gw.state_dir / "elsewhere")
    gw.start()
    uid = broker_uid()
    for name in ("registry.json", "gateway.token", "audit.log"):
        st = os.stat(gw.state_dir / name)
        assert st.st_uid == uid and stat.S_IMODE(st.st_mode) == 0o600, (name, st)
    assert os.stat(planted).st_uid == 0
    assert os.lstat(gw.state_dir / "elsewhere").st_uid == 0
    assert_untouched(target, "x\n")
