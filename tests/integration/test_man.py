"""The man pages (doc/man/*.scd, which meson turns into roff in <build>/doc/man/):
each renders with `man -l` without a groff warning, and each names, as a term of
its own in the section that documents it, every command-line option, gatewayctl
command, configuration key and environment variable the code accepts. What the
code accepts is read from the code itself, never from a list kept here: the
getopt_long option tables (an option whose entry is preceded by a comment
starting "Hidden:" is a test-only switch the --help text leaves out, and may be
left out of the page too), gatewayctl's command table, the key tables of
brokerd/configfile.c and the sources that call getenv. Terms a page documents
that the code no longer accepts fail too."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from clawgate_test.harness import BROKERD, BUILD, GATEWAYCTL, GATEWAYD, REPO, require_binaries

RUN_TIMEOUT = 20.0
PAGES = ["brokerd.8", "gatewayd.8", "gatewayctl.8", "clawgate.json.5", "clawgate.7"]
# Each program's option table and the page that documents it.
PROGRAMS = {
    "brokerd": ("brokerd/main.c", "brokerd.8", BROKERD),
    "gatewayd": ("gatewayd/main.c", "gatewayd.8", GATEWAYD),
    "gatewayctl": ("brokerd/gatewayctl.c", "gatewayctl.8", GATEWAYCTL),
}
# The pages whose ENVIRONMENT section must name what a source file reads. The
# common/ helpers that read the environment (log_init, notify_init) run in both
# daemons, and gatewayctl calls neither; brokerd's configuration variables are
# documented with the keys as well.
ENV_PAGES = [
    ("brokerd/gatewayctl.c", ["gatewayctl.8"]),
    ("brokerd/", ["brokerd.8", "clawgate.json.5"]),
    ("gatewayd/", ["gatewayd.8"]),
    ("common/", ["brokerd.8", "gatewayd.8"]),
]
SOURCE_DIRS = ["brokerd", "gatewayd", "common", "proto"]
TERM_INDENT = 7     # man's paragraph indent: a term, its description indented further
SECTION_RE = re.compile(r"^([A-Z][A-Z0-9 .,()-]*)$")
ENV_NAME_RE = re.compile(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"')


def source(path):
    return (REPO / path).read_text()


def without_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


# ---- what the code accepts ----------------------------------------------

def cli_options_macro():
    """The entries of common/cli.h's CLI_OPTIONS (--help, --version)."""
    body = re.search(r"#define CLI_OPTIONS\s*\\(.*?)\n\n", source("common/cli.h"), re.S)
    assert body, "common/cli.h has no CLI_OPTIONS macro"
    names = re.findall(r'\{\s*"([a-z0-9-]+)"', body.group(1))
    assert names, "no option in CLI_OPTIONS"
    return names


def option_table(path):
    """(visible, hidden) long option names of the getopt_long table in path, and the
    short options of its option string."""
    text = source(path)
    table = re.search(r"struct option \w+\[\]\s*=\s*\{(.*?)\n\t*\};", text, re.S)
    assert table, "%s: no getopt_long option table" % path
    visible, hidden, hide_next = [], [], False
    for m in re.finditer(r'/\*(.*?)\*/|\{\s*"([a-z0-9-]+)"|\bCLI_OPTIONS\b|\{\s*NULL',
                         table.group(1), re.S):
        if m.group(1) is not None:
            hide_next = m.group(1).strip().startswith("Hidden:")
            continue
        names = cli_options_macro() if m.group(0) == "CLI_OPTIONS" else \
            [m.group(2)] if m.group(2) else []
        (hidden if hide_next else visible).extend(names)
        hide_next = False
    call = re.search(r'getopt_long\(\s*\w+\s*,\s*\w+\s*,\s*"([^"]*)"', text)
    assert call, "%s: no getopt_long call with a literal option string" % path
    shorts = [c for c in call.group(1) if c.isalnum()]
    assert len(visible) >= 3, "%s: the option table parsed to %s" % (path, visible)
    return visible, hidden, shorts


def gatewayctl_commands():
    text = without_comments(source("brokerd/gatewayctl.c"))
    table = re.search(r"\}\s*commands\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
    assert table, "brokerd/gatewayctl.c: no commands[] table"
    found = [" ".join(w for w in m.groups() if w) for m in
             re.finditer(r'\{\s*\{\s*"([a-z-]+)"\s*,\s*(?:"([a-z-]+)"|NULL)\s*\}', table.group(1))]
    assert len(found) >= 10, found
    return found


def config_keys():
    """(read, ignored): the dotted keys of brokerd/configfile.c's key tables, walked
    from configfile_top: CF_READ and CF_IGNORED leaves, CF_OBJECT objects."""
    text = without_comments(source("brokerd/configfile.c"))
    tables = {}
    for m in re.finditer(r"struct configfile_key (\w+)\[\]\s*=\s*\{(.*?)\};", text, re.S):
        entries = re.findall(r'CF_(READ|IGNORED|OBJECT)\("(\w+)"(?:,\s*(\w+))?\)', m.group(2))
        rest = re.sub(r'CF_(READ|IGNORED|OBJECT)\("\w+"(?:,\s*\w+)?\)|CF_END|[\s,]', "",
                      m.group(2))
        assert rest == "", "%s: entries the test cannot read: %s" % (m.group(1), rest)
        tables[m.group(1)] = entries
    assert "configfile_top" in tables, "brokerd/configfile.c: no configfile_top table"
    read, ignored, objects = [], [], []

    def walk(table, prefix):
        for kind, name, sub in tables[table]:
            path = prefix + name
            if kind == "OBJECT":
                objects.append(path)
                walk(sub, path + ".")
            else:
                (read if kind == "READ" else ignored).append(path)
    walk("configfile_top", "")
    assert len(read) >= 20 and ignored, (read, ignored)
    return read, ignored, objects


def env_variables():
    """{variable: [source files]}: in each source file that calls getenv, every
    string literal shaped like an environment variable's name (so that a name
    passed to getenv through a variable or a table counts too)."""
    found = {}
    for d in SOURCE_DIRS:
        for path in sorted((REPO / d).glob("*.c")):
            text = without_comments(path.read_text())
            if not re.search(r"\b(secure_)?getenv\s*\(", text):
                continue
            rel = str(path.relative_to(REPO))
            for name in ENV_NAME_RE.findall(text):
                found.setdefault(name, set()).add(rel)
            assert ENV_NAME_RE.search(text), "%s calls getenv, but names no variable" % rel
    assert len(found) >= 5, found
    return found


# ---- what the pages say -------------------------------------------------

def page_path(page):
    path = BUILD / "doc" / "man" / page
    assert path.is_file(), ("%s is not built: build with `ninja -C %s` (needs scdoc: "
                            "apt-get install scdoc)" % (path, BUILD))
    return path


def render(page):
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat")
    return subprocess.run(["man", "--nh", "--nj", "--warnings=w", "-l", str(page_path(page))],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env,
                          stdin=subprocess.DEVNULL)


_rendered = {}


def sections(page):
    """{SECTION: [lines]} of the rendered page."""
    if page not in _rendered:
        proc = render(page)
        assert proc.returncode == 0, proc
        out, current = {}, None
        for line in proc.stdout.splitlines():
            m = SECTION_RE.match(line)
            if m:
                current = m.group(1)
                out[current] = []
            elif current is not None:
                out[current].append(line)
        _rendered[page] = out
    return _rendered[page]


def indent(line):
    return len(line) - len(line.lstrip(" "))


def terms(lines):
    """The items of the term lines: lines at the paragraph indent that the next
    line's deeper indent shows are terms, split at ", " (-h, --help)."""
    out = []
    for i, line in enumerate(lines[:-1]):
        nxt = lines[i + 1]
        if indent(line) == TERM_INDENT and line.strip() and nxt.strip() and \
                indent(nxt) > TERM_INDENT:
            out.extend(item.strip() for item in line.split(", "))
    return out


def has_term(items, name):
    return any(re.match(re.escape(name) + r"(?=$|[\s\[=,|])", item) for item in items)


def section_terms(page, *names, exclude=()):
    secs = sections(page)
    chosen = [s for s in secs if (not names or s in names) and s not in exclude]
    assert chosen, "%s has none of the sections %s (it has %s)" % (page, names, list(secs))
    return [t for s in chosen for t in terms(secs[s])]


# ---- the tests ----------------------------------------------------------

@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_warnings(page):
    proc = render(page)
    assert proc.returncode == 0, proc
    assert proc.stderr == "", "%s: man -l warns:\n%s" % (page, proc.stderr)
    title = page.rsplit(".", 1)
    assert proc.stdout.startswith("%s(%s)" % (title[0].upper(), title[1])), proc.stdout[:200]
    for section in ("NAME", "DESCRIPTION", "SEE ALSO"):
        assert section in sections(page), "%s has no %s section" % (page, section)


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_page_documents_every_option(program):
    src, page, _ = PROGRAMS[program]
    visible, hidden, shorts = option_table(src)
    documented = section_terms(page, "OPTIONS")
    missing = ["--" + o for o in visible if not has_term(documented, "--" + o)] + \
        ["-" + c for c in shorts if not has_term(documented, "-" + c)]
    assert not missing, "%s: %s accepts %s, which the OPTIONS section does not describe" % (
        page, program, ", ".join(missing))
    accepted = ["--" + o for o in visible + hidden] + ["-" + c for c in shorts]
    stale = [t.split()[0] for t in documented if t.startswith("-") and
             not any(has_term([t], a) for a in accepted)]
    assert not stale, "%s describes options %s does not accept: %s" % (page, program, stale)


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_hidden_options_are_the_ones_help_leaves_out(program):
    """The "Hidden:" comments, which let the page leave an option out, say what
    --help does: every other option is in --help, a hidden one is not."""
    src, _, binary = PROGRAMS[program]
    visible, hidden, _ = option_table(src)
    require_binaries()
    proc = subprocess.run([str(binary), "--help"], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc

    def in_help(o):
        return re.search(r"--%s(?![a-z0-9-])" % re.escape(o), proc.stdout) is not None
    shown = [o for o in visible if not in_help(o)]
    assert not shown, "%s: %s in the option table but not in %s --help: describe them " \
        "there, or mark them with a comment starting Hidden:" % (src, shown, program)
    assert [o for o in hidden if in_help(o)] == [], \
        "%s: marked Hidden: but in --help: drop the comment or the help line" % src


def test_gatewayctl_page_documents_every_command():
    commands = gatewayctl_commands()
    documented = section_terms("gatewayctl.8", "COMMANDS")
    missing = [c for c in commands if not has_term(documented, c)]
    assert not missing, "gatewayctl.8's COMMANDS section lacks %s" % missing
    stale = [t for t in documented if not any(has_term([t], c) for c in commands)]
    assert not stale, "gatewayctl.8 describes commands gatewayctl lacks: %s" % stale


def test_config_page_documents_every_key():
    read, ignored, _ = config_keys()
    documented = section_terms("clawgate.json.5", exclude=("IGNORED KEYS",))
    missing = [k for k in read if not has_term(documented, k)]
    assert not missing, "clawgate.json.5 describes no key %s" % ", ".join(missing)
    described = [t.split()[0] for t in documented if re.match(r"(gateway|clawgate)\.", t)]
    stale = [k for k in described if k not in read]
    assert not stale, "clawgate.json.5 describes keys brokerd does not read: %s" % stale
    text = " ".join(sections("clawgate.json.5").get("IGNORED KEYS", []))
    unlisted = [k for k in ignored if not re.search(r"(?<![\w.])%s(?![\w])" % re.escape(k), text)]
    assert not unlisted, "clawgate.json.5's IGNORED KEYS section lacks %s" % unlisted


def test_config_reader_reads_the_keys_of_the_table():
    """The key table is what the test goes by: every dotted key name brokerd's
    reader uses on its own (config.c and its parts, brokerd/config*.c) is one of its
    keys or objects."""
    read, _, objects = config_keys()
    readers = sorted(str(p.relative_to(REPO)) for p in (REPO / "brokerd").glob("config*.c")
                     if p.name != "configfile.c")
    assert "brokerd/config.c" in readers, readers
    for path in readers:
        text = without_comments(source(path))
        used = set(re.findall(r'"((?:gateway|clawgate)(?:\.[A-Za-z]+)+)"', text))
        assert used, path
        unknown = sorted(used - set(read) - set(objects))
        assert not unknown, "%s reads %s, which brokerd/configfile.c's tables lack" % (
            path, unknown)


def test_pages_document_every_environment_variable():
    missing = []
    for name, files in sorted(env_variables().items()):
        for f in sorted(files):
            # The first prefix that matches: a file before its directory.
            pages = next((ps for prefix, ps in ENV_PAGES if f.startswith(prefix)), None)
            assert pages is not None, "%s reads the environment: say in ENV_PAGES which " \
                "page documents it" % f
            for page in pages:
                if not has_term(section_terms(page, "ENVIRONMENT"), name):
                    missing.append("%s (read in %s) in %s" % (name, f, page))
    assert not missing, "ENVIRONMENT sections lack: %s" % "; ".join(missing)
