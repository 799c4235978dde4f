// The real OpenClaw Control UI (npm openclaw's dist/control-ui/, served by
// gatewayd from gateway.controlUi.root) against clawgate: it reaches its
// "Approve this browser" screen, and connects by itself once gatewayctl approves.
//
// Environment: CLAWGATE_PORT, CLAWGATE_TOKEN and those of browser.mjs.
import assert from "node:assert/strict";

import { STEP_MS, devices, gatewayctl, launch, run, shot } from "./browser.mjs";

async function main() {
	const { context, page, problems } = await launch("real-ui");
	try {
		await page.goto(`http://127.0.0.1:${process.env.CLAWGATE_PORT}/#token=${process.env.CLAWGATE_TOKEN}`);
		await page.getByText("Approve this browser").waitFor({ timeout: STEP_MS });
		const pending = devices().pending;
		assert.equal(pending.length, 1, JSON.stringify(pending));
		const { requestId, deviceId } = pending[0];
		await page.getByText(`openclaw devices approve ${requestId}`).waitFor({ timeout: STEP_MS });
		await shot(page, "11-real-control-ui-approve-this-browser");

		gatewayctl("devices", "approve", requestId);
		await page.getByText("Approve this browser").waitFor({ state: "detached", timeout: STEP_MS });
		await page.getByText("Connected", { exact: true }).first().waitFor({ timeout: STEP_MS });
		await shot(page, "12-real-control-ui-connected");
		return { requestId, deviceId, problems };
	} finally {
		await context.close();
	}
}

run(main);
