/*
 * The device key where WebCrypto cannot help: a page on plain http:// from a LAN
 * address is no secure context, and there crypto.subtle does not exist at all.
 * Ed25519 comes from TweetNaCl.js (nacl.js) and SHA-256 from CryptoJS
 * (sha256.js), both embedded into gatewayd from their Debian packages and loaded
 * before this file; it only adapts their interfaces to the page's.
 *
 * Loaded as a classic script; it defines globalThis.ClawKeys (the node test in
 * tests/browser/ runs the page's scripts as gatewayd serves them).
 */
(function (root) {
	"use strict";

	const nacl = root.nacl;
	const CryptoJS = root.CryptoJS;
	const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

	root.ClawKeys = Object.freeze({
		/* The public key of a 32-byte seed, RFC 8032's private key. */
		publicKey: (seed) => nacl.sign.keyPair.fromSeed(seed).publicKey,
		/* The 64-byte signature of msg (a Uint8Array) by seed's key. */
		sign: (seed, msg) => nacl.sign.detached(msg, nacl.sign.keyPair.fromSeed(seed).secretKey),
		/* The lower-case hex SHA-256 of bytes (a device id, of a public key). */
		sha256Hex: (bytes) => CryptoJS.SHA256(CryptoJS.enc.Hex.parse(hex(bytes)))
			.toString(CryptoJS.enc.Hex),
	});
}(globalThis));
