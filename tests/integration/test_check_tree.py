"""scripts/check-tree on a copy of the repository: the copy as it is passes the
checks ./check runs, and each kind of drift it exists to catch makes it fail and
name the place. Needs no daemon."""

import shutil
import subprocess

import pytest

from clawgate_test.harness import REPO


@pytest.fixture
def tree(tmp_path):
    """A copy of the repository's files (no .git: check-tree walks the tree)."""
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True,
                           check=True, timeout=60).stdout.decode().split("\0")
    root = tmp_path / "repo"
    for name in filter(None, files):
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    (root / "scripts").mkdir(exist_ok=True)
    shutil.copy2(REPO / "scripts" / "check-tree", root / "scripts" / "check-tree")
    return root


def check_tree(root, *args):
    proc = subprocess.run([str(root / "scripts" / "check-tree"), *args], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout


def edit(path, old, new):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def test_the_repository_passes(tree):
    assert check_tree(tree) == (0, "")


# Pieced together, so that this file does not hold what check-tree refuses.
OUTSIDE = "../" + "shared"
TICKET = "iss" + "ue 12"


def test_a_path_out_of_the_repository_and_tracker_history(tree):
    with open(tree / "common" / "log.c", "a") as f:
        f.write("/* as %s/spec says */\n/* fixed in %s */\n" % (OUTSIDE, TICKET))
    rc, out = check_tree(tree)
    assert rc == 1
    lines = (tree / "common" / "log.c").read_text().count("\n")
    assert "common/log.c:%d: '%s'" % (lines - 1, OUTSIDE) in out, out
    assert "common/log.c:%d: '%s': tracker history" % (lines, TICKET) in out, out


def test_a_broken_link_and_a_stale_path_in_the_docs(tree):
    with open(tree / "doc" / "design.md", "a") as f:
        f.write("\nSee [the notes](notes.md) and `tests/integration/gone.py`.\n")
    rc, out = check_tree(tree)
    assert rc == 1
    assert "doc/design.md:" in out and "the link notes.md names nothing" in out, out
    assert "`tests/integration/gone.py` names nothing in the repository" in out, out


def test_white_space(tree):
    with open(tree / "brokerd" / "main.c", "a") as f:
        f.write("/* trailing */ \n")
    rc, out = check_tree(tree)
    assert rc == 1 and "brokerd/main.c:" in out and "white space at the end" in out, out


def test_the_readme_and_the_allowlists(tree):
    # One call fewer for brokerd: doc/sandbox.md's counts and its list no longer hold.
    # The message names the file, so that the reader knows where to fix it.
    edit(tree / "brokerd" / "allowlist.c", "SANDBOX_ANY(fsync), ", "")
    rc, out = check_tree(tree)
    assert rc == 1
    assert "says 11 system calls for brokerd's additions (brokerd/allowlist.c); the code " \
        "has 10" in out, out
    assert "says 35 system calls for brokerd in all; the code has 34" in out, out
    assert "lists fchmod, fsync," in out and "for brokerd/allowlist.c, which adds" in out, out
    assert "doc/sandbox.md: says 11 system calls" in out, out


def test_a_never_allowed_call_that_is_allowed(tree):
    edit(tree / "common" / "sandbox.c", "SANDBOX_ANY(exit_group),",
         "SANDBOX_ANY(exit_group), SANDBOX_ANY(execve),")
    rc, out = check_tree(tree)
    assert rc == 1
    assert "says `execve` is never allowed; an allowlist has it" in out, out


def test_an_include_cycle_is_printed(tree):
    (tree / "common" / "zz_a.h").write_text('#include "common/zz_b.h"\n')
    (tree / "common" / "zz_b.h").write_text('#include "common/log.h"\n#include "common/zz_a.h"\n')
    assert "zz_a" not in check_tree(tree)[1]          # only with --cycles
    rc, out = check_tree(tree, "--cycles")
    assert rc == 1
    assert "the modules common/zz_a, common/zz_b include each other in a cycle, e.g. " \
        "common/zz_a -> common/zz_b -> common/zz_a" in out, out
    assert "common/zz_b -> common/zz_a  (common/zz_b.h:2)" in out, out


def test_long_files(tree):
    (tree / "tests" / "integration" / "test_long.py").write_text("x = 1\n" * 701)
    (tree / "scripts" / "long").write_text("#!/bin/sh\n" + ":\n" * 699)
    assert "test_long.py" not in check_tree(tree)[1]  # only with --sizes
    rc, out = check_tree(tree, "--sizes")
    assert rc == 1
    assert "tests/integration/test_long.py: 701 lines of Python, more than 700" in out, out
    assert "scripts/long" not in out, out             # 700 lines is the limit
