# shellcheck shell=bash
# The Debian 12 packages clawgate needs and deps_install, which installs the missing
# ones with apt-get. Sourced by ./quickstart (build) and ./check (build and tests).

# shellcheck disable=SC2034  # the lists are used by the scripts that source this file

# node-tweetnacl and libjs-cryptojs: the JavaScript the Control UI embeds for
# Ed25519 and SHA-256 where WebCrypto cannot serve (gatewayd/meson.build).
CLAWGATE_BUILD_DEPS=(build-essential meson ninja-build pkg-config libevent-dev libssl-dev
	libyajl-dev libseccomp-dev libwslay-dev libsystemd-dev libsodium-dev scdoc node-tweetnacl
	libjs-cryptojs)
CLAWGATE_TEST_DEPS=(python3-websockets python3-cryptography python3-pytest strace systemd
	python3-wsproto openssl chromium nftables iproute2 man-db procps)
# The relay benchmark's comparison proxy (tests/bench/run-relay; not needed by ./check).
CLAWGATE_BENCH_DEPS=(nginx)
# The Debian package (debian/, scripts/build-deb): debhelper and dpkg-dev build it,
# lintian checks it.
CLAWGATE_DEB_DEPS=(debhelper dpkg-dev lintian)
# The container test (tests/containers/run): Podman with runc, its networking
# (netavark, aardvark-dns, iptables, slirp4netns) and storage (fuse-overlayfs,
# uidmap), docker-compose driving Podman's Docker API, debootstrap for a base image
# made without a registry.
CLAWGATE_CONTAINER_DEPS=(podman runc netavark aardvark-dns iptables slirp4netns uidmap
	fuse-overlayfs docker-compose debootstrap)
# The libFuzzer targets (tests/fuzz/): clang and its runtime, which holds libFuzzer.
CLAWGATE_FUZZ_DEPS=(clang libclang-rt-14-dev)

# deps_install PACKAGE...: installs those not installed yet (one apt-get update, then
# apt-get install). Installing needs root; otherwise it says what to run and fails.
deps_install() {
	local pkg missing=()

	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "$0: not a Debian system: cannot check for ${*}; make sure they (or your" \
			"distribution's equivalents) are installed" >&2
		return 0
	fi
	for pkg in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$pkg")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "$0: missing packages: ${missing[*]}" >&2
		echo "$0: run this script as root, or install them first with:" \
			"sudo apt-get install --no-install-recommends ${missing[*]}" >&2
		return 1
	fi
	echo "$0: installing ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
}
