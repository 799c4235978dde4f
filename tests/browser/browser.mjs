// What the browser scripts share: Chromium profiles (one per simulated device)
// through playwright-core, screenshots, and gatewayctl.
//
// Environment: CLAWGATE_GATEWAYCTL, CLAWGATE_CONTROL_SOCKET, CLAWGATE_ARTIFACTS
// (screenshots), CLAWGATE_PROFILES (browser profiles), PLAYWRIGHT_MODULES
// (node_modules holding playwright-core).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";

const env = process.env;
const require = createRequire(join(env.PLAYWRIGHT_MODULES, "package.json"));
const { chromium } = require("playwright-core");

export const STEP_MS = 30000;	/* per wait; the whole script is bounded by the pytest timeout */
/* A .local name for 127.0.0.1: no secure context there (as on a LAN address). */
export const LAN_NAME = "clawgate-browser.local";

export function gatewayctl(...args) {
	return execFileSync(env.CLAWGATE_GATEWAYCTL, ["--socket", env.CLAWGATE_CONTROL_SOCKET, ...args],
		{ encoding: "utf8", timeout: STEP_MS });
}

export const devices = () => JSON.parse(gatewayctl("devices", "list", "--json"));

/* A browser with its own profile; problems collects page errors, console
 * errors other than the expected refusals, and failed HTTP requests. args:
 * more Chromium switches. */
export async function launch(name, args = []) {
	const context = await chromium.launchPersistentContext(join(env.CLAWGATE_PROFILES, name), {
		executablePath: "/usr/bin/chromium",
		headless: true,
		viewport: { width: 1280, height: 900 },
		args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
			`--host-resolver-rules=MAP ${LAN_NAME} 127.0.0.1`, ...args],
	});
	const page = context.pages()[0] || await context.newPage();
	const problems = [];
	page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
	page.on("console", (msg) => {
		if (msg.type() === "error" && !/WebSocket|1008|pairing required|unknown method/i
			.test(msg.text()))
			problems.push(`console error: ${msg.text()} (${msg.location().url})`);
	});
	page.on("response", (res) => {
		if (res.status() >= 400)
			problems.push(`HTTP ${res.status()} for ${res.url()}`);
	});
	return { context, page, problems };
}

/* Every WebSocket the page opens, in order: its url, the frames it receives and
 * sends (parsed; a text that is not JSON kept as {unparsed}), whether it closed. */
export function recordSockets(page) {
	const sockets = [];
	const parse = (frame) => {
		try {
			return JSON.parse(frame.payload);
		} catch {
			return { unparsed: String(frame.payload).slice(0, 200) };
		}
	};
	page.on("websocket", (ws) => {
		const socket = { url: ws.url(), received: [], sent: [], closed: false };
		sockets.push(socket);
		ws.on("framereceived", (frame) => socket.received.push(parse(frame)));
		ws.on("framesent", (frame) => socket.sent.push(parse(frame)));
		ws.on("close", () => { socket.closed = true; });
	});
	return sockets;
}

/* Waits (polling, at most ms) until predicate() is true; what names the wait. */
export async function waitUntil(predicate, what, ms = STEP_MS) {
	const deadline = Date.now() + ms;
	while (!predicate()) {
		if (Date.now() > deadline)
			throw new Error(`timed out after ${ms} ms waiting until ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

/* The real OpenClaw Control UI, opened with the shared token, shows "Approve this
 * browser" with the approve command of its one pending request; gatewayctl approves
 * it and the page connects by itself. Screenshots shots[0] (the request) and
 * shots[1] (connected); returns the request's { requestId, deviceId }. */
export async function approveRealUi(page, shots) {
	await page.getByText("Approve this browser").waitFor({ timeout: STEP_MS });
	const pending = devices().pending;
	assert.equal(pending.length, 1, JSON.stringify(pending));
	const { requestId, deviceId } = pending[0];
	await page.getByText(`openclaw devices approve ${requestId}`).waitFor({ timeout: STEP_MS });
	await shot(page, shots[0]);

	gatewayctl("devices", "approve", requestId);
	await page.getByText("Approve this browser").waitFor({ state: "detached", timeout: STEP_MS });
	await page.getByText("Connected", { exact: true }).first().waitFor({ timeout: STEP_MS });
	await shot(page, shots[1]);
	return { requestId, deviceId };
}

export const shot = (page, name) => page.screenshot({
	path: join(env.CLAWGATE_ARTIFACTS, `${name}.png`), fullPage: true });

/* Runs main, printing its facts as one JSON line; exit 1 on failure. */
export function run(main) {
	main().then((facts) => console.log(JSON.stringify(facts)), (err) => {
		console.error(err.stack || String(err));
		process.exit(1);
	});
}
