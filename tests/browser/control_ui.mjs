// Drives clawgate's Control UI in two headless Chromium profiles (two devices)
// through pairing, as a person would; run by test_control_ui.py, which starts
// the gateway and checks the broker's state afterwards.
//
// Environment: CLAWGATE_PORT, CLAWGATE_TOKEN, CLAWGATE_PAGE_GATEWAYCTL (the command
// the gateway's clawgate.gatewayctl names) and those of browser.mjs.
// Prints one JSON line of facts for the Python side on success; exits 1 on failure.
import assert from "node:assert/strict";
import { execSync } from "node:child_process";

import { LAN_NAME, STEP_MS, devices, gatewayctl, launch, run, shot } from "./browser.mjs";

const PORT = process.env.CLAWGATE_PORT;
const TOKEN = process.env.CLAWGATE_TOKEN;
const PAGE_GATEWAYCTL = process.env.CLAWGATE_PAGE_GATEWAYCTL;
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
	assert.equal(await text(page, "#pairing-command"),
		`${PAGE_GATEWAYCTL} devices approve ${requestId}`);
	assert.equal(await text(page, "#list-command"), `${PAGE_GATEWAYCTL} devices list`);
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
		// The copy button puts the exact command on the clipboard.
		await a.context.grantPermissions(["clipboard-read", "clipboard-write"]);
		await a.page.click("#pairing-copy");
		const command = await a.page.evaluate(() => navigator.clipboard.readText());
		assert.equal(command, `${PAGE_GATEWAYCTL} devices approve ${first.requestId}`);
		// The page keeps retrying with the same live request.
		await a.page.waitForFunction((id) => /attempt [2-9]/.test(
			document.getElementById("pairing-wait").textContent) &&
			document.getElementById("pairing-request-id").textContent === id,
		first.requestId, { timeout: STEP_MS });

		// 2. Approved from the shell with the very command the page showed, pasted
		// into a shell: the page connects by itself, no reload.
		execSync(command, { shell: "/bin/sh", stdio: "pipe", timeout: STEP_MS });
		await state(a.page, "connected");
		await a.page.waitForSelector(`#paired-list tr[data-device-id="${first.deviceId}"]`,
			{ timeout: STEP_MS });
		await a.page.waitForSelector("#health dd[data-key='Health']", { timeout: STEP_MS });
		assert.equal(await text(a.page, "#health dd[data-key='Health']"), "ok");
		await shot(a.page, "02-first-browser-dashboard");

		// 3. A second browser (another profile, a non-secure origin: the page signs
		// with the embedded TweetNaCl.js) asks too.
		await b.page.goto(`http://${LAN_NAME}:${PORT}/#token=${TOKEN}`);
		const second = await pairingScreen(b.page, "second browser");
		assert.match(await text(b.page, "#identity-impl"), /TweetNaCl.js Ed25519/);
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

		// 5. Revoke from the dashboard: the second browser is cut off, reconnects on the
		// shared token and receives a new device token.
		const deviceToken = () => b.page.evaluate(() =>
			localStorage.getItem("clawgate.device-token.v1"));
		const oldToken = await deviceToken();
		assert.ok(oldToken, "the second browser keeps the device token hello-ok gave it");
		await a.page.click(`#paired-list tr[data-device-id="${second.deviceId}"] button:text("Revoke operator")`);
		await b.page.waitForFunction((old) => document.body.dataset.state === "connected" &&
			localStorage.getItem("clawgate.device-token.v1") !== old, oldToken,
		{ timeout: STEP_MS });

		// 6. Removing the second device from the dashboard disconnects it; it asks again.
		await a.page.click(`#paired-list tr[data-device-id="${second.deviceId}"] button:text("Remove")`);
		const again = await pairingScreen(b.page, "second browser after removal");
		assert.notEqual(again.requestId, second.requestId);
		await a.page.waitForSelector(`#pending-list tr[data-request-id="${again.requestId}"]`,
			{ timeout: STEP_MS });
		await shot(a.page, "07-first-browser-after-remove");

		// 7. Rejecting that request from the dashboard drops it; the second browser,
		// still retrying, asks once more under a new id.
		await a.page.click(`#pending-list tr[data-request-id="${again.requestId}"] button:text("Reject")`);
		await a.page.waitForSelector(`#pending-list tr[data-request-id="${again.requestId}"]`,
			{ state: "detached", timeout: STEP_MS });
		assert.ok(!devices().pending.some((p) => p.requestId === again.requestId));
		await b.page.waitForFunction((id) => document.body.dataset.state === "pairing" &&
			document.getElementById("pairing-request-id").textContent !== id,
		again.requestId, { timeout: STEP_MS });
		const last = await pairingScreen(b.page, "second browser after rejection");
		await a.page.waitForSelector(`#pending-list tr[data-request-id="${last.requestId}"]`,
			{ timeout: STEP_MS });
		await shot(a.page, "08-first-browser-after-reject");

		facts.first = first;
		facts.second = second;
		facts.secondLast = last;
		facts.problems = [...a.problems, ...b.problems];
	} catch (err) {
		await shot(a.page, "failure-first-browser").catch(() => {});
		await shot(b.page, "failure-second-browser").catch(() => {});
		throw err;
	} finally {
		await a.context.close();
		await b.context.close();
	}
	return facts;
}

run(main);
