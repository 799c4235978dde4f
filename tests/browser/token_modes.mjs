// clawgate's Control UI opened without a token in the address, as a person who
// typed the bare address would: auth mode "none" goes straight to pairing; modes
// "token" and "password" ask for the secret (no error shown for one that was
// never given, the refusal shown for a wrong one) and point at
// `<gatewayctl> dashboard`; the right one leads to pairing.
//
// Environment: CLAWGATE_PORT, CLAWGATE_MODE (token, password, none), CLAWGATE_SECRET
// (the token or password), CLAWGATE_PAGE_GATEWAYCTL (the command the page should
// show) and those of browser.mjs. Prints one JSON line of facts; exits 1 on failure.
import assert from "node:assert/strict";

import { STEP_MS, devices, launch, run, shot } from "./browser.mjs";

const PORT = process.env.CLAWGATE_PORT;
const MODE = process.env.CLAWGATE_MODE;
const SECRET = process.env.CLAWGATE_SECRET;
const PAGE_GATEWAYCTL = process.env.CLAWGATE_PAGE_GATEWAYCTL;
const state = (page, want) => page.waitForSelector(`body[data-state="${want}"]`,
	{ timeout: STEP_MS });
const text = (page, sel) => page.locator(sel).textContent();

async function enter(page, secret) {
	await page.fill("#token-input", secret);
	await page.click("#token-form button[type=submit]");
}

async function main() {
	const b = await launch(`token-mode-${MODE}`);
	const facts = {};
	try {
		await b.page.goto(`http://127.0.0.1:${PORT}/`);
		if (MODE !== "none") {
			await state(b.page, "needs-token");
			assert.ok(await b.page.locator("#token-problem").isHidden(),
				"a token never given is not an error to show");
			assert.equal(await text(b.page, "#dashboard-command"), `${PAGE_GATEWAYCTL} dashboard`);
			await shot(b.page, `21-${MODE}-mode-asks-for-the-secret`);
			await enter(b.page, `${SECRET}-wrong`);
			await b.page.waitForSelector("#token-problem:not([hidden])", { timeout: STEP_MS });
			await state(b.page, "needs-token");
			facts.refusal = await text(b.page, "#token-problem");
			await enter(b.page, SECRET);
		}
		await state(b.page, "pairing");
		const requestId = (await text(b.page, "#pairing-request-id")).trim();
		assert.ok(devices().pending.some((p) => p.requestId === requestId),
			`request ${requestId} on the page is not pending in the broker`);
		assert.equal(await text(b.page, "#pairing-command"),
			`${PAGE_GATEWAYCTL} devices approve ${requestId}`);
		await shot(b.page, `22-${MODE}-mode-pairing`);
		facts.requestId = requestId;
		facts.problems = b.problems;
	} catch (err) {
		await shot(b.page, `failure-${MODE}-mode`).catch(() => {});
		throw err;
	} finally {
		await b.context.close();
	}
	return facts;
}

run(main);
