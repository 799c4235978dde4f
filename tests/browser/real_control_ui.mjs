// The real OpenClaw Control UI (npm openclaw's dist/control-ui/, served by
// gatewayd from gateway.controlUi.root) against clawgate: it reaches its
// "Approve this browser" screen, and connects by itself once gatewayctl approves.
//
// Environment: CLAWGATE_PORT, CLAWGATE_TOKEN and those of browser.mjs.
import { approveRealUi, launch, run } from "./browser.mjs";

async function main() {
	const { context, page, problems } = await launch("real-ui");
	try {
		await page.goto(`http://127.0.0.1:${process.env.CLAWGATE_PORT}/#token=${process.env.CLAWGATE_TOKEN}`);
		const { requestId, deviceId } = await approveRealUi(page,
			["11-real-control-ui-approve-this-browser", "12-real-control-ui-connected"]);
		return { requestId, deviceId, problems };
	} finally {
		await context.close();
	}
}

run(main);
