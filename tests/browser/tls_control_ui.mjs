// The real OpenClaw Control UI over https:// on a LAN address, with the
// certificate brokerd generated (gateway.tls.autoGenerate). The browser trusts
// that one certificate the way a test can without a CA store: Chromium's
// --ignore-certificate-errors-spki-list with its key's SPKI hash; every other
// certificate error still fails the page (playwright's ignoreHTTPSErrors is off).
// It is a secure context there, so the page has its device identity and pairs.
//
// Environment: CLAWGATE_HOST (the LAN address), CLAWGATE_SPKI (base64 SHA-256
// of the certificate's SubjectPublicKeyInfo), and those of real_control_ui.mjs.
import assert from "node:assert/strict";
import { approveRealUi, launch, run } from "./browser.mjs";

async function main() {
	const env = process.env;
	const { context, page, problems } = await launch("tls-ui",
		[`--ignore-certificate-errors-spki-list=${env.CLAWGATE_SPKI}`]);
	try {
		const res = await page.goto(`https://${env.CLAWGATE_HOST}:${env.CLAWGATE_PORT}/#token=${env.CLAWGATE_TOKEN}`);
		const security = await res.securityDetails();
		assert.equal(await page.evaluate(() => window.isSecureContext), true);
		const { requestId, deviceId } = await approveRealUi(page,
			["21-tls-control-ui-approve-this-browser", "22-tls-control-ui-connected"]);
		return { requestId, deviceId, problems, security, url: page.url() };
	} finally {
		await context.close();
	}
}

run(main);
