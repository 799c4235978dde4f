// The Control UI's own Ed25519 and SHA-2 (gatewayd/ui/ed25519.js) against
// node's OpenSSL, RFC 8032 test vector 1 and the captured client signatures.
// Run: node --test tests/browser/ed25519.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { runInThisContext } from "node:vm";

const here = new URL(".", import.meta.url);
runInThisContext(readFileSync(new URL("../../gatewayd/ui/ed25519.js", here), "utf8"));
const ed = globalThis.ClawEd25519;
const VECTORS = new URL("../vectors/signatures.json", here);

const hex = (b) => Buffer.from(b).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
const unb64url = (s) => new Uint8Array(Buffer.from(s, "base64url"));

test("SHA-256 and SHA-512 agree with OpenSSL across the padding boundaries", () => {
	for (const len of [0, 1, 55, 56, 63, 64, 111, 112, 127, 128, 200, 1000]) {
		const msg = new Uint8Array(len).map((_, i) => (i * 7 + len) & 0xff);
		assert.equal(hex(ed.sha256(msg)), createHash("sha256").update(msg).digest("hex"), `sha256 len ${len}`);
		assert.equal(hex(ed.sha512(msg)), createHash("sha512").update(msg).digest("hex"), `sha512 len ${len}`);
	}
});

test("RFC 8032 §7.1 test 1: public key and signature of the empty message", () => {
	const seed = unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
	const pub = ed.publicKey(seed);
	assert.equal(hex(pub), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	const sig = ed.sign(seed, new Uint8Array(0));
	assert.equal(hex(sig), "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	assert.ok(ed.verify(pub, new Uint8Array(0), sig));
	assert.ok(!ed.verify(pub, new Uint8Array([0]), sig));
});

test("the captured client signatures (doc/protocol.md §3.4) verify exactly as expected", () => {
	const vectors = JSON.parse(readFileSync(VECTORS, "utf8"));
	assert.ok(vectors.length >= 5);
	for (const v of vectors) {
		const pub = unb64url(v.publicKey);
		assert.equal(hex(ed.sha256(pub)), v.deviceId, v.name);
		const ok = ed.verify(pub, new TextEncoder().encode(v.payload), unb64url(v.signature));
		assert.equal(ok, v.expect_valid, v.name);
	}
});

test("a fresh key signs what OpenSSL verifies", async () => {
	const { webcrypto } = await import("node:crypto");
	const seed = webcrypto.getRandomValues(new Uint8Array(32));
	const msg = new TextEncoder().encode("v2|device|openclaw-control-ui|webchat|operator||1|t|n");
	const sig = ed.sign(seed, msg);
	const pkcs8 = new Uint8Array([...unhex("302e020100300506032b657004220420"), ...seed]);
	const key = await webcrypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
	const theirs = new Uint8Array(await webcrypto.subtle.sign("Ed25519", key, msg));
	assert.equal(hex(sig), hex(theirs));  // Ed25519 is deterministic
	const jwk = await webcrypto.subtle.exportKey("jwk", key);
	assert.equal(Buffer.from(ed.publicKey(seed)).toString("base64url"), jwk.x);
});
