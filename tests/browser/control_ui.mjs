// Drives clawgate's Control UI in two headless Chromium profiles (two devices)
// through pairing, as a person would; run by test_control_ui.py, which starts
// the gateway and checks the broker's state afterwards.
//
// Environment: CLAWGATE_PORT, CLAWGATE_TOKEN, CLAWGATE_GATEWAYCTL, CLAWGATE_CONTROL_SOCKET,
// CLAWGATE_ARTIFACTS (screenshots), CLAWGATE_PROFILES (browser profiles),
// PLAYWRIGHT_MODULES (node_modules holding playwright-core).
// Prints one JSON line of facts for the Python side on success; exits 1 on failure.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";

const env = process.env;
const require = createRequire(join(env.PLAYWRIGHT_MODULES, "package.json"));
const { chromium } = require("playwright-core");

const PORT = env.CLAWGATE_PORT;
const TOKEN = env.CLAWGATE_TOKEN;
/* The second browser uses a .local name for 127.0.0.1: no secure context there,
 * so the page must sign with its built-in Ed25519 (as on a LAN address). */
const LAN_NAME = "clawgate-browser.local";
const STEP_MS = 30000;	/* per wait; the whole script is bounded by the pytest timeout */

function gatewayctl(...args) {
	return execFileSync(env.CLAWGATE_GATEWAYCTL, ["--socket", env.CLAWGATE_CONTROL_SOCKET, ...args],
		{ encoding: "utf8", timeout: STEP_MS });
}

const devices = () => JSON.parse(gatewayctl("devices", "list", "--json"));

async function launch(name) {
	const context = await chromium.launchPersistentContext(join(env.CLAWGATE_PROFILES, name), {
		executablePath: "/usr/bin/chromium",
		headless: true,
		viewport: { width: 1280, height: 900 },
		args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
			`--host-resolver-rules=MAP ${LAN_NAME} 127.0.0.1`],
	});
	const page = context.pages()[0] || await context.newPage();
	const problems = [];
	page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
	page.on("console", (msg) => {
		if (msg.type() === "error" && !/WebSocket|1008|status of 40/.test(msg.text()))
			problems.push(`console error: ${msg.text()}`);
	});
	return { context, page, problems };
}

const shot = (page, name) => page.screenshot({ path: join(env.CLAWGATE_ARTIFACTS, `${name}.png`),
	fullPage: true });
const state = (page, want) => page.waitForSelector(`body[data-state="${want}"]`,
	{ timeout: STEP_MS });
const text = (page, sel) => page.locator(sel).textContent();
const code = (deviceId) => `${deviceId.slice(0, 3)} ${deviceId.slice(3, 6)}`;

async function pairingScreen(page, what) {
	await state(page, "pairing");
	const requestId = (await text(page, "#pairing-request-id")).trim();
	const pending = devices().pending.find((p) => p.requestId === requestId);
	assert.ok(pending, `${what}: request ${requestId} on the page is not pending in the broker`);
	assert.equal(await text(page, "#pairing-code"), code(pending.deviceId),
		`${what}: the verification code must match the pending request's device`);
	assert.equal(await text(page, "#pairing-command"), `gatewayctl devices approve ${requestId}`);
	assert.ok(!page.url().includes(TOKEN), `${what}: the token must leave the address bar`);
	return { requestId, deviceId: pending.deviceId };
}

async function main() {
	const a = await launch("first");
	const b = await launch("second");
	const facts = {};
	try {
		// 1. First visit: the pairing screen, with WebCrypto on the loopback origin.
		await a.page.goto(`http://127.0.0.1:${PORT}/#token=${TOKEN}`);
		const first = await pairingScreen(a.page, "first browser");
		assert.match(await text(a.page, "#identity-impl"), /WebCrypto Ed25519/);
		await shot(a.page, "01-first-browser-pairing-required");
		// The page keeps retrying with the same live request.
		await a.page.waitForFunction((id) => /attempt [2-9]/.test(
			document.getElementById("pairing-wait").textContent) &&
			document.getElementById("pairing-request-id").textContent === id,
		first.requestId, { timeout: STEP_MS });

		// 2. Approved from the shell: the page connects by itself, no reload.
		gatewayctl("devices", "approve", first.requestId);
		await state(a.page, "connected");
		await a.page.waitForSelector(`#paired-list tr[data-device-id="${first.deviceId}"]`,
			{ timeout: STEP_MS });
		await a.page.waitForSelector("#health dd[data-key='Health']", { timeout: STEP_MS });
		assert.equal(await text(a.page, "#health dd[data-key='Health']"), "ok");
		await shot(a.page, "02-first-browser-dashboard");

		// 3. A second browser (another profile, a non-secure origin) asks too.
		await b.page.goto(`http://${LAN_NAME}:${PORT}/#token=${TOKEN}`);
		const second = await pairingScreen(b.page, "second browser");
		assert.match(await text(b.page, "#identity-impl"), /built-in Ed25519/);
		assert.notEqual(second.deviceId, first.deviceId);
		await shot(b.page, "03-second-browser-pairing-required");

		// 4. The first browser's dashboard shows the request live and approves it.
		const row = `#pending-list tr[data-request-id="${second.requestId}"]`;
		await a.page.waitForSelector(row, { timeout: STEP_MS });
		assert.equal(await text(a.page, `${row} td.code-cell`), code(second.deviceId));
		await shot(a.page, "04-first-browser-sees-second-request");
		await a.page.click(`${row} button.approve`);
		await state(b.page, "connected");
		await a.page.waitForSelector(`#paired-list tr[data-device-id="${second.deviceId}"]`,
			{ timeout: STEP_MS });
		await a.page.waitForSelector(row, { state: "detached", timeout: STEP_MS });
		await shot(b.page, "05-second-browser-connected");
		await shot(a.page, "06-first-browser-two-devices");

		// 5. Removing the second device from the dashboard disconnects it; it asks again.
		await a.page.click(`#paired-list tr[data-device-id="${second.deviceId}"] button:text("Remove")`);
		const again = await pairingScreen(b.page, "second browser after removal");
		assert.notEqual(again.requestId, second.requestId);
		await a.page.waitForSelector(`#pending-list tr[data-request-id="${again.requestId}"]`,
			{ timeout: STEP_MS });
		await shot(a.page, "07-first-browser-after-remove");

		facts.first = first;
		facts.second = second;
		facts.secondAgain = again;
		facts.problems = [...a.problems, ...b.problems];
	} catch (err) {
		await shot(a.page, "failure-first-browser").catch(() => {});
		await shot(b.page, "failure-second-browser").catch(() => {});
		throw err;
	} finally {
		await a.context.close();
		await b.context.close();
	}
	console.log(JSON.stringify(facts));
}

main().catch((err) => {
	console.error(err.stack || String(err));
	process.exit(1);
});
