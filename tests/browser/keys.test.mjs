// The Control UI's device key where WebCrypto cannot help (ClawKeys of
// gatewayd/ui/keys.js over the embedded TweetNaCl.js and CryptoJS), run from the
// scripts exactly as gatewayd serves them to the page, in the page's order:
// against node's OpenSSL, RFC 8032 test vector 1 and the captured client signatures.
// Run (with a gateway listening on 127.0.0.1:$CLAWGATE_PORT):
//   node --test tests/browser/keys.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { runInThisContext } from "node:vm";

const VECTORS = new URL("../vectors/signatures.json", import.meta.url);
const base = `http://127.0.0.1:${process.env.CLAWGATE_PORT}/`;

async function served(path) {
	const res = await fetch(new URL(path, base));
	assert.equal(res.status, 200, path);
	return res.text();
}

// Every script of the page but app.js (which needs a DOM), in the order it loads them.
const page = await served("/");
const scripts = [...page.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
assert.deepEqual(scripts.slice(-2), ["keys.js", "app.js"], "keys.js loads last before app.js");
globalThis.self = globalThis;	// what TweetNaCl.js's wrapper attaches nacl to in a browser
for (const src of scripts.slice(0, -1))
	runInThisContext(await served(src), { filename: src });
const keys = globalThis.ClawKeys;
const nacl = globalThis.nacl;

const hex = (b) => Buffer.from(b).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
const unb64url = (s) => new Uint8Array(Buffer.from(s, "base64url"));

test("the page's Ed25519 is TweetNaCl.js's, its SHA-256 CryptoJS's", () => {
	assert.ok(scripts.includes("nacl.js") && scripts.includes("sha256.js"), scripts.join(" "));
	assert.equal(typeof nacl.sign.detached, "function");
	assert.equal(typeof globalThis.CryptoJS.SHA256, "function");
});

test("SHA-256 agrees with OpenSSL across the padding boundaries", () => {
	for (const len of [0, 1, 55, 56, 63, 64, 111, 112, 127, 128, 200, 1000]) {
		const msg = new Uint8Array(len).map((_, i) => (i * 7 + len) & 0xff);
		assert.equal(keys.sha256Hex(msg), createHash("sha256").update(msg).digest("hex"), `len ${len}`);
	}
});

test("RFC 8032 §7.1 test 1: public key and signature of the empty message", () => {
	const seed = unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
	const pub = keys.publicKey(seed);
	assert.equal(hex(pub), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	const sig = keys.sign(seed, new Uint8Array(0));
	assert.equal(hex(sig), "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	assert.ok(nacl.sign.detached.verify(new Uint8Array(0), sig, pub));
	assert.ok(!nacl.sign.detached.verify(new Uint8Array([0]), sig, pub));
});

test("the captured client signatures (doc/protocol.md §3.4) verify exactly as expected", () => {
	const vectors = JSON.parse(readFileSync(VECTORS, "utf8"));
	assert.ok(vectors.length >= 5);
	for (const v of vectors) {
		const pub = unb64url(v.publicKey);
		assert.equal(keys.sha256Hex(pub), v.deviceId, v.name);
		const ok = nacl.sign.detached.verify(new TextEncoder().encode(v.payload),
			unb64url(v.signature), pub);
		assert.equal(ok, v.expect_valid, v.name);
	}
});

test("a fresh key signs what OpenSSL verifies", async () => {
	const seed = webcrypto.getRandomValues(new Uint8Array(32));
	const msg = new TextEncoder().encode("v2|device|openclaw-control-ui|webchat|operator||1|t|n");
	const sig = keys.sign(seed, msg);
	const pkcs8 = new Uint8Array([...unhex("302e020100300506032b657004220420"), ...seed]);
	const key = await webcrypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
	const theirs = new Uint8Array(await webcrypto.subtle.sign("Ed25519", key, msg));
	assert.equal(hex(sig), hex(theirs));  // Ed25519 is deterministic
	const jwk = await webcrypto.subtle.exportKey("jwk", key);
	assert.equal(Buffer.from(keys.publicKey(seed)).toString("base64url"), jwk.x);
});
