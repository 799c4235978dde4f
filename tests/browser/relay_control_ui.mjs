// The real OpenClaw Control UI through clawgate in relay mode: it pairs with
// clawgate (gatewayctl approves), then works against the upstream OpenClaw gateway
// behind clawgate: the chat view streams the model's answer, the sessions view lists
// the session; `gatewayctl devices remove` then closes the relayed socket.
//
// Environment: CLAWGATE_PORT, CLAWGATE_TOKEN, those of browser.mjs, and
//   CLAWGATE_MESSAGE          what to type into the chat composer
//   CLAWGATE_ANSWER           the model server's fixed answer
//   CLAWGATE_SESSION_KEY      the session the chat view talks in (agent:main:main)
//   CLAWGATE_PRESENCE         JSON argv printing the upstream's presence list
//   CLAWGATE_TURN_MS          how long the agent turn may take
import { execFileSync } from "node:child_process";

import { STEP_MS, approveRealUi, gatewayctl, launch, recordSockets, run, shot, waitUntil }
	from "./browser.mjs";

const env = process.env;
const origin = `http://127.0.0.1:${env.CLAWGATE_PORT}`;

/* The upstream's presence entries of one client instance: their reasons. */
function presenceOf(instanceId) {
	const argv = JSON.parse(env.CLAWGATE_PRESENCE);
	const list = JSON.parse(execFileSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: STEP_MS }));
	return list.filter((entry) => entry.instanceId === instanceId).map((entry) => entry.reason);
}

/* What the page's sockets carried, in short: the methods it called, every error
 * answer (with the method it answered), the hello-oks the page was admitted with,
 * the chat events of the session and the instance id the page connects as. */
function summary(sockets) {
	const methods = new Set(), errors = [], chat = [], hellos = [];
	let instanceId = null;
	for (const socket of sockets) {
		const asked = new Map();
		for (const frame of socket.sent) {
			if (frame.type !== "req")
				continue;
			asked.set(frame.id, frame.method);
			methods.add(frame.method);
			if (frame.method === "connect")
				instanceId = frame.params?.client?.instanceId ?? instanceId;
		}
		for (const frame of socket.received) {
			if (frame.unparsed !== undefined) {
				errors.push({ method: null, unparsed: frame.unparsed });
			} else if (frame.type === "res" && frame.ok === false) {
				errors.push({ method: asked.get(frame.id) ?? null, code: frame.error?.code,
					message: frame.error?.message });
			} else if (frame.type === "res" && frame.payload?.type === "hello-ok") {
				const { auth, server, features } = frame.payload;
				hellos.push({ authMethod: auth?.method, deviceToken: typeof auth?.deviceToken === "string",
					version: server?.version, methods: features?.methods?.length });
			} else if (frame.type === "event" && frame.event === "chat"
				&& frame.payload?.sessionKey === env.CLAWGATE_SESSION_KEY) {
				chat.push({ state: frame.payload.state, deltaText: frame.payload.deltaText,
					text: frame.payload.message?.content?.[0]?.text });
			}
		}
	}
	return { methods: [...methods].sort(), errors, hellos, chat, instanceId,
		urls: sockets.map((socket) => socket.url) };
}

async function main() {
	const { context, page, problems } = await launch("relay-ui");
	const sockets = recordSockets(page);
	const timings = {};
	const started = Date.now();
	const mark = (name) => { timings[name] = Date.now() - started; };
	try {
		await page.goto(`${origin}/#token=${env.CLAWGATE_TOKEN}`);
		const { requestId, deviceId } = await approveRealUi(page,
			["21-relay-control-ui-approve-this-browser", "22-relay-control-ui-connected"]);
		mark("connected");

		// The chat view: the UI lands on it once connected.
		const composer = page.getByRole("textbox", { name: "Chat composer" });
		await composer.waitFor({ timeout: STEP_MS });
		await composer.fill(env.CLAWGATE_MESSAGE);
		await composer.press("Enter");
		await page.getByText(env.CLAWGATE_MESSAGE, { exact: true }).first().waitFor({ timeout: STEP_MS });
		await page.getByText(env.CLAWGATE_ANSWER, { exact: true }).first()
			.waitFor({ timeout: Number(env.CLAWGATE_TURN_MS) });
		mark("answered");
		await shot(page, "23-relay-control-ui-chat-answered");

		// The sessions view (a new page load: gatewayd serves index.html for the route,
		// the page reconnects with its device token).
		await page.goto(`${origin}/sessions`);
		await page.locator("main").getByText(env.CLAWGATE_SESSION_KEY, { exact: true }).first()
			.waitFor({ timeout: STEP_MS });
		await page.getByText("Connected", { exact: true }).first().waitFor({ timeout: STEP_MS });
		mark("sessions");
		await shot(page, "24-relay-control-ui-sessions");

		// Removing the device closes its relayed socket, and so the upstream's.
		const { instanceId } = summary(sockets);
		const presenceBefore = presenceOf(instanceId);
		const live = sockets[sockets.length - 1];
		const socketsBefore = sockets.length;
		gatewayctl("devices", "remove", deviceId);
		await waitUntil(() => live.closed, "the relayed socket closes after devices remove");
		mark("closed");
		await page.getByText("Connected", { exact: true }).first()
			.waitFor({ state: "detached", timeout: STEP_MS });
		await page.getByText("Actions are unavailable while the Gateway reconnects").first()
			.waitFor({ timeout: STEP_MS });
		await shot(page, "25-relay-control-ui-device-removed");
		let presenceAfter = presenceOf(instanceId);
		await waitUntil(() => {
			presenceAfter = presenceOf(instanceId);
			return presenceAfter.length > 0 && presenceAfter.every((reason) => reason === "disconnect");
		}, "the upstream sees the relayed socket closed");
		mark("upstream-closed");

		return { requestId, deviceId, problems, timings, presenceBefore, presenceAfter,
			socketsBefore, liveUrl: live.url, ...summary(sockets) };
	} finally {
		await context.close();
	}
}

run(main);
