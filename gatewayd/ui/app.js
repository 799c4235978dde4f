/*
 * clawgate's Control UI: connects to the gateway that served this page as an
 * OpenClaw Control UI client (doc/protocol.md §2.3, §9.5) with a device identity of
 * its own, walks the person through pairing, then shows the pairing dashboard.
 */
"use strict";

const keys = globalThis.ClawKeys;

const CLIENT_ID = "openclaw-control-ui";
const CLIENT_MODE = "webchat";
const CLIENT_VERSION = "clawgate-ui";
const ROLE = "operator";
/* admin: device.pair.list shows a bound caller only its own device unless it is
 * admin (doc/protocol.md §7.1), and the dashboard manages every device. */
const SCOPES = ["operator.admin", "operator.read", "operator.pairing"];
const IDENTITY_KEY = "clawgate.device-identity.v1";
const DEVICE_TOKEN_KEY = "clawgate.device-token.v1";
const TOKEN_KEY = "clawgate.token";
const PAIRING_RETRY_MS = 2000;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;
/* The codes after which retrying cannot help (doc/protocol.md §5.2). */
const FINAL_CODES = new Set(["AUTH_TOKEN_MISSING", "AUTH_TOKEN_MISMATCH",
	"AUTH_TOKEN_NOT_CONFIGURED", "AUTH_PASSWORD_MISSING", "AUTH_PASSWORD_MISMATCH",
	"AUTH_PASSWORD_NOT_CONFIGURED", "AUTH_RATE_LIMITED", "AUTH_SCOPE_MISMATCH",
	"CONTROL_UI_DEVICE_IDENTITY_REQUIRED", "DEVICE_IDENTITY_REQUIRED",
	"CONTROL_UI_ORIGIN_NOT_ALLOWED", "AUTH_UNAUTHORIZED"]);
/* The refusals the token panel answers: the token (or password) is missing or wrong. */
const SECRET_CODES = new Set(["AUTH_TOKEN_MISSING", "AUTH_TOKEN_MISMATCH",
	"AUTH_PASSWORD_MISSING", "AUTH_PASSWORD_MISMATCH"]);
/* PKCS#8 wrapping of a raw Ed25519 private key (RFC 8410). */
const PKCS8_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
	0x04, 0x22, 0x04, 0x20];

const $ = (id) => document.getElementById(id);

/* ---- encodings ---------------------------------------------------------- */

function b64url(bytes) {
	return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
		.replace(/=+$/, "");
}

function unb64url(text) {
	const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
	return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/* The code `gatewayctl devices list` shows: the device id's first 6 hex digits. */
const verificationCode = (deviceId) => `${deviceId.slice(0, 3)} ${deviceId.slice(3, 6)}`;

/* ---- the shared token --------------------------------------------------- */

/* #token=… hands the token over without it ever reaching a server or a log;
 * it is kept for this tab only and removed from the address bar at once. */
function takeTokenFromFragment() {
	const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
	if (m === null)
		return;
	sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
	history.replaceState(null, "", location.pathname + location.search);
}

const sharedToken = () => sessionStorage.getItem(TOKEN_KEY) || "";
const deviceToken = () => localStorage.getItem(DEVICE_TOKEN_KEY) || "";

/* ---- the device identity ------------------------------------------------ */

/* WebCrypto signs where the browser offers Ed25519 (secure contexts only);
 * elsewhere, e.g. on http://<LAN address>, the embedded TweetNaCl.js does. */
async function webCryptoSigner(seed) {
	if (!globalThis.isSecureContext || !globalThis.crypto?.subtle)
		return null;
	try {
		const key = await crypto.subtle.importKey("pkcs8",
			new Uint8Array([...PKCS8_PREFIX, ...seed]), { name: "Ed25519" }, false, ["sign"]);
		return async (msg) => new Uint8Array(await crypto.subtle.sign("Ed25519", key, msg));
	} catch (e) {
		return null;
	}
}

async function newSeed() {
	if (globalThis.isSecureContext && globalThis.crypto?.subtle) {
		try {
			const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign"]);
			const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
			return pkcs8.slice(pkcs8.length - 32);
		} catch (e) {
			/* no Ed25519 in this WebCrypto: random bytes serve as well */
		}
	}
	return crypto.getRandomValues(new Uint8Array(32));
}

async function loadIdentity() {
	let stored = null;
	try {
		stored = JSON.parse(localStorage.getItem(IDENTITY_KEY) || "null");
	} catch (e) {
		stored = null;
	}
	if (stored === null || stored.version !== 1 || typeof stored.privateKey !== "string") {
		const seed = await newSeed();
		const publicKey = keys.publicKey(seed);
		stored = { version: 1, deviceId: keys.sha256Hex(publicKey), publicKey: b64url(publicKey),
			privateKey: b64url(seed), createdAtMs: Date.now() };
		localStorage.setItem(IDENTITY_KEY, JSON.stringify(stored));
		localStorage.removeItem(DEVICE_TOKEN_KEY);
	}
	const seed = unb64url(stored.privateKey);
	const native = await webCryptoSigner(seed);
	return {
		deviceId: stored.deviceId,
		publicKey: stored.publicKey,
		impl: native ? "WebCrypto Ed25519" : "TweetNaCl.js Ed25519 (no secure context)",
		sign: native || (async (msg) => keys.sign(seed, msg)),
	};
}

/* ---- the connection ----------------------------------------------------- */

const conn = {
	ws: null,
	nextId: 1,
	calls: new Map(),	/* request id -> {resolve, reject} */
	retryTimer: null,
	retryMs: RETRY_MIN_MS,
	retry: true,		/* whether a close schedules another attempt */
	attempts: 0,
	hello: null,
	untokened: false,	/* this attempt carries neither token */
};
let identity = null;

function setState(state, text) {
	document.body.dataset.state = state;
	$("conn-text").textContent = text;
}

function show(panel) {
	for (const id of ["token-panel", "pairing-panel", "problem-panel", "dashboard"])
		$(id).hidden = id !== panel;
}

function call(method, params) {
	const id = String(conn.nextId++);
	const frame = { type: "req", id, method };
	if (params !== undefined)
		frame.params = params;
	return new Promise((resolve, reject) => {
		if (conn.ws === null || conn.ws.readyState !== WebSocket.OPEN) {
			reject({ message: "not connected" });
			return;
		}
		conn.calls.set(id, { resolve, reject });
		conn.ws.send(JSON.stringify(frame));
	});
}

function needToken(problem) {
	conn.retry = false;
	$("token-problem").textContent = problem || "";
	$("token-problem").hidden = !problem;
	setState("needs-token", "Waiting for the gateway token");
	show("token-panel");
}

function connect() {
	clearTimeout(conn.retryTimer);
	/* Without a token the page still tries once: a gateway whose auth mode is
	 * "none" needs none, any other answers "missing" and the page asks for it. */
	conn.untokened = !sharedToken() && !deviceToken();
	conn.attempts++;
	conn.retry = true;
	setState(document.body.dataset.state === "pairing" ? "pairing" : "connecting",
		document.body.dataset.state === "pairing" ? "Waiting for approval…" : "Connecting…");
	const scheme = location.protocol === "https:" ? "wss" : "ws";
	const ws = new WebSocket(`${scheme}://${location.host}/`);
	conn.ws = ws;
	ws.onmessage = (ev) => {
		let frame;
		try {
			frame = JSON.parse(ev.data);
		} catch (e) {
			return;
		}
		onFrame(frame);
	};
	ws.onclose = (ev) => onClose(ws, ev);
}

function onFrame(frame) {
	if (frame.type === "res") {
		const pending = conn.calls.get(frame.id);
		if (pending === undefined)
			return;
		conn.calls.delete(frame.id);
		if (frame.ok)
			pending.resolve(frame.payload);
		else
			pending.reject(frame.error || { message: "request failed" });
		return;
	}
	if (frame.type !== "event")
		return;
	if (frame.event === "connect.challenge")
		sendConnect(frame.payload || {});
	else if (frame.event.startsWith("device.pair.")) {
		refreshDevices();
		refreshHealth();	/* its pending and paired counts */
	} else if (frame.event === "tick" || frame.event === "health")
		refreshHealth();
}

async function sendConnect(challenge) {
	if (!Number.isInteger(challenge.ts) || typeof challenge.nonce !== "string") {
		conn.retry = false;
		failed("The gateway sent an invalid connect challenge.", "Update clawgate.");
		conn.ws.close(4008, "connect failed");
		return;
	}
	const token = sharedToken();
	const auth = token ? { token } : deviceToken() ? { deviceToken: deviceToken() } : null;
	/* doc/protocol.md §3.2: the Control UI signs v2; the token slot is what it sends. */
	const payload = ["v2", identity.deviceId, CLIENT_ID, CLIENT_MODE, ROLE, SCOPES.join(","),
		String(challenge.ts), token || deviceToken(), challenge.nonce].join("|");
	const signature = b64url(await identity.sign(new TextEncoder().encode(payload)));
	const params = {
		minProtocol: 4, maxProtocol: 4,
		client: { id: CLIENT_ID, version: CLIENT_VERSION, platform: navigator.platform || "web",
			mode: CLIENT_MODE },
		role: ROLE, scopes: SCOPES, caps: [], ...(auth ? { auth } : {}),
		device: { id: identity.deviceId, publicKey: identity.publicKey, signature,
			signedAt: challenge.ts, nonce: challenge.nonce },
		userAgent: navigator.userAgent, locale: navigator.language,
	};
	call("connect", params).then(onHello, onConnectError);
}

function onHello(hello) {
	conn.hello = hello;
	conn.retryMs = RETRY_MIN_MS;
	if (hello.auth?.deviceToken)
		localStorage.setItem(DEVICE_TOKEN_KEY, hello.auth.deviceToken);
	setState("connected", `Connected as ${hello.auth?.role || ROLE} ` +
		`(${(hello.auth?.scopes || []).join(", ") || "no scopes"})`);
	show("dashboard");
	refreshHealth();
	refreshDevices();
}

function onConnectError(err) {
	const details = err.details || {};
	if (details.code === "PAIRING_REQUIRED") {
		showPairing(details);
		/* Only the wait_then_retry trio means the request stays alive. */
		conn.retry = details.recommendedNextStep === "wait_then_retry" ||
			details.pauseReconnect === false;
		conn.retryMs = PAIRING_RETRY_MS;
		return;
	}
	if (details.code === "AUTH_DEVICE_TOKEN_MISMATCH" && !sharedToken()) {
		localStorage.removeItem(DEVICE_TOKEN_KEY);
		needToken();
		setState("needs-token", "The device token was revoked: paste the gateway token");
		return;
	}
	/* The gateway wants a token (or, in password mode, the password the same
	 * field carries): missing on a first visit is no problem worth showing. */
	if (SECRET_CODES.has(details.code)) {
		sessionStorage.removeItem(TOKEN_KEY);
		if (conn.untokened && details.code.endsWith("_MISSING")) {
			needToken();
			return;
		}
		needToken(err.message);
		setState("needs-token", "The gateway refused the token");
		return;
	}
	if (FINAL_CODES.has(details.code)) {
		conn.retry = false;
		failed(err.message, remedy(details.code));
	}
}

function remedy(code) {
	switch (code) {
	case "CONTROL_UI_ORIGIN_NOT_ALLOWED":
		return "Open this page by the gateway's own address, or add this origin to " +
			"gateway.controlUi.allowedOrigins.";
	case "AUTH_RATE_LIMITED":
		return "Too many failed attempts: wait a few minutes, then reload this page.";
	case "AUTH_SCOPE_MISMATCH":
		return `Approve this browser's pending scope upgrade (${gatewayctl()} devices list).`;
	default:
		return "Fix the gateway configuration, then reload this page.";
	}
}

function failed(text, hint) {
	setState("failed", text);
	$("problem-text").textContent = text;
	$("problem-hint").textContent = hint;
	show("problem-panel");
}

/* How gatewayctl runs on the gateway host, as brokerd says (gatewayd puts it in
 * the page): plain gatewayctl, with --socket, or clawgate.gatewayctl. */
const gatewayctl = () => document.documentElement.dataset.gatewayctl || "gatewayctl";

function showPairing(details) {
	const id = details.requestId || "";
	const command = `${gatewayctl()} devices approve ${id}`;
	$("pairing-request-id").textContent = id;
	$("pairing-code").textContent = verificationCode(details.deviceId || identity.deviceId);
	$("pairing-command").textContent = command;
	$("pairing-copy").dataset.command = command;
	$("pairing-wait").textContent =
		`Waiting for approval… (attempt ${conn.attempts}; retrying every ${PAIRING_RETRY_MS / 1000} s)`;
	setState("pairing", "Pairing required: waiting for approval");
	show("pairing-panel");
}

function onClose(ws, ev) {
	if (conn.ws !== ws)
		return;
	conn.ws = null;
	conn.hello = null;
	for (const pending of conn.calls.values())
		pending.reject({ message: `disconnected (${ev.code})` });
	conn.calls.clear();
	if (!conn.retry)
		return;
	const state = document.body.dataset.state;
	if (state !== "pairing")
		setState("disconnected", `Disconnected (${ev.code}): ${ev.reason || "no reason given"}` +
			` — retrying in ${Math.round(conn.retryMs / 1000)} s`);
	conn.retryTimer = setTimeout(connect, conn.retryMs);
	if (state !== "pairing")
		conn.retryMs = Math.min(conn.retryMs * 2, RETRY_MAX_MS);
}

/* ---- the dashboard ------------------------------------------------------ */

const holds = (scope) => (conn.hello?.auth?.scopes || []).some((s) =>
	s === scope || s === "operator.admin");

function age(ms) {
	const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
	if (s < 60)
		return `${s} s ago`;
	if (s < 3600)
		return `${Math.round(s / 60)} min ago`;
	if (s < 86400)
		return `${Math.round(s / 3600)} h ago`;
	return new Date(ms).toLocaleString();
}

/* Names, platforms and scopes are chosen by devices: controls, bidirectional
 * formatting and line separators are shown as \uXXXX escapes rather than
 * reordering or hiding the text around them (the same set gatewayctl escapes). */
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

function shown(text) {
	return String(text).replace(HIDDEN, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

function cell(row, text, className) {
	const td = row.insertCell();
	td.textContent = shown(text);
	if (className)
		td.className = className;
	return td;
}

function button(label, className, action) {
	const b = document.createElement("button");
	b.type = "button";
	b.textContent = label;
	b.className = className;
	b.addEventListener("click", () => {
		b.disabled = true;
		$("action-problem").hidden = true;
		action().catch((err) => {
			$("action-problem").textContent = `${label} failed: ${err.message || err}`;
			$("action-problem").hidden = false;
		}).finally(() => { b.disabled = false; });
	});
	return b;
}

function deviceName(d) {
	return d.operatorLabel || d.displayName || [d.clientId, d.platform].filter(Boolean).join(" on ") ||
		"unnamed device";
}

function renderPending(pending) {
	const body = $("pending-list");
	body.replaceChildren();
	for (const p of pending) {
		const row = body.insertRow();
		row.dataset.requestId = p.requestId;
		row.dataset.deviceId = p.deviceId;
		cell(row, deviceName(p) + (p.isRepair ? " (already paired)" : ""));
		cell(row, verificationCode(p.deviceId), "code-cell");
		cell(row, `${(p.roles || [p.role]).filter(Boolean).join(", ")}: ` +
			`${(p.scopes || []).join(", ") || "no scopes"}`);
		cell(row, age(p.ts));
		cell(row, p.requestId);
		const actions = cell(row, "", "actions");
		if (holds("operator.pairing")) {
			actions.append(button("Approve", "approve", () =>
				call("device.pair.approve", { requestId: p.requestId }).then(refreshDevices)));
			actions.append(" ", button("Reject", "danger", () =>
				call("device.pair.reject", { requestId: p.requestId }).then(refreshDevices)));
		}
	}
	$("pending-count").textContent = `(${pending.length})`;
	$("pending-none").hidden = pending.length > 0;
	$("pending-table").hidden = pending.length === 0;
}

function renderPaired(paired) {
	const body = $("paired-list");
	body.replaceChildren();
	for (const d of paired) {
		const row = body.insertRow();
		row.dataset.deviceId = d.deviceId;
		const self = d.deviceId === identity.deviceId;
		cell(row, deviceName(d) + (self ? " (this browser)" : "") +
			(d.connected ? " · connected" : ""));
		cell(row, verificationCode(d.deviceId), "code-cell");
		cell(row, (d.roles || [d.role]).filter(Boolean).join(", "));
		cell(row, (d.scopes || []).join(", "));
		cell(row, d.lastSeenAtMs ? age(d.lastSeenAtMs) : "never");
		const actions = cell(row, "", "actions");
		if (!holds("operator.pairing"))
			continue;
		for (const t of d.tokens || []) {
			if (!t.revokedAtMs)
				actions.append(button(`Revoke ${t.role}`, "danger", () =>
					call("device.token.revoke", { deviceId: d.deviceId, role: t.role })
						.then(refreshDevices)), " ");
		}
		actions.append(button("Remove", "danger", () =>
			call("device.pair.remove", { deviceId: d.deviceId }).then(refreshDevices)));
	}
	$("paired-count").textContent = `(${paired.length})`;
	$("paired-none").hidden = paired.length > 0;
	$("paired-table").hidden = paired.length === 0;
}

function refreshDevices() {
	if (conn.hello === null || !holds("operator.pairing"))
		return Promise.resolve();
	return call("device.pair.list", {}).then((list) => {
		renderPending(list.pending || []);
		renderPaired(list.paired || []);
	}, () => {});
}

function refreshHealth() {
	if (conn.hello === null)
		return;
	const server = conn.hello.server || {};
	Promise.allSettled([call("health"), call("status")]).then(([health, status]) => {
		const rows = [["Gateway", `clawgate ${server.version || "?"}`]];
		if (health.status === "fulfilled")
			rows.push(["Health", health.value.ok ? "ok" : "not ok"],
				["Checked", new Date(health.value.ts).toLocaleTimeString()]);
		else
			rows.push(["Health", health.reason.message || "unavailable"]);
		if (status.status === "fulfilled") {
			const s = status.value;
			if (Number.isInteger(s.uptimeMs))
				rows.push(["Up for", age(Date.now() - s.uptimeMs).replace(" ago", "")]);
			for (const [key, label] of [["sessions", "Sessions"], ["pending", "Pending"],
				["paired", "Paired"], ["authMode", "Auth mode"]])
				if (s[key] !== undefined)
					rows.push([label, String(s[key])]);
		}
		const dl = $("health");
		dl.replaceChildren();
		for (const [k, v] of rows) {
			const dt = document.createElement("dt");
			const dd = document.createElement("dd");
			dt.textContent = k;
			dd.textContent = v;
			dd.dataset.key = k;
			dl.append(dt, dd);
		}
	});
}

/* ---- start -------------------------------------------------------------- */

async function copyCommand() {
	const text = $("pairing-copy").dataset.command || "";
	try {
		await navigator.clipboard.writeText(text);
	} catch (e) {
		/* no async clipboard outside secure contexts: select and copy */
		const range = document.createRange();
		range.selectNodeContents($("pairing-command"));
		getSelection().removeAllRanges();
		getSelection().addRange(range);
		document.execCommand("copy");
	}
	$("pairing-copy").textContent = "Copied";
}

async function start() {
	takeTokenFromFragment();
	identity = await loadIdentity();
	$("identity-id").textContent = `${verificationCode(identity.deviceId)} (${identity.deviceId.slice(0, 12)}…)`;
	$("identity-impl").textContent = `signs with ${identity.impl}`;
	$("pairing-copy").addEventListener("click", copyCommand);
	$("dashboard-command").textContent = `${gatewayctl()} dashboard`;
	$("list-command").textContent = `${gatewayctl()} devices list`;
	$("token-form").addEventListener("submit", (ev) => {
		ev.preventDefault();
		const token = $("token-input").value.trim();
		if (!token)
			return;
		sessionStorage.setItem(TOKEN_KEY, token);
		$("token-input").value = "";
		$("token-problem").hidden = true;
		connect();
	});
	$("forget-token").addEventListener("click", () => {
		sessionStorage.removeItem(TOKEN_KEY);
		localStorage.removeItem(DEVICE_TOKEN_KEY);
		needToken();
		if (conn.ws)
			conn.ws.close(1000, "token forgotten");
	});
	connect();
}

start().catch((err) => failed(`The page could not start: ${err.message || err}`,
	"Reload the page; if it persists, clear this site's data."));
