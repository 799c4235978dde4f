/*
 * Ed25519 (RFC 8032 §5.1) and the SHA-2 hashes it needs (FIPS 180-4), for the
 * browsers where WebCrypto cannot help: a page on plain http:// from a LAN address
 * is no secure context, and there crypto.subtle does not exist at all.
 *
 * BigInt arithmetic, written for reading rather than speed; not constant-time,
 * which is acceptable here: the key only signs this browser's own connect
 * payloads, a few times a minute at most.
 *
 * Loaded as a classic script; it defines globalThis.ClawEd25519 (the node test in
 * tests/browser/ loads the same file).
 */
(function (root) {
	"use strict";

	/* ---- SHA-256 / SHA-512 ---------------------------------------------- */

	function primes(count) {
		const out = [];
		for (let n = 2n; out.length < count; n++)
			if (out.every((p) => n % p !== 0n))
				out.push(n);
		return out;
	}

	/* floor(n^(1/k)) by Newton's method on integers. */
	function iroot(n, k) {
		let x = 1n << (BigInt(n.toString(2).length) / k + 2n);
		for (;;) {
			const y = ((k - 1n) * x + n / x ** (k - 1n)) / k;
			if (y >= x)
				return x;
			x = y;
		}
	}

	/*
	 * The constants are the first bits of the fractional parts of square and
	 * cube roots of the first primes (FIPS 180-4 §4.2, §5.3): computed here
	 * rather than typed in, so that no table can carry a typo.
	 */
	function sha2Params(wordBits, rounds, sigma) {
		const w = BigInt(wordBits);
		const mask = (1n << w) - 1n;
		const ps = primes(rounds);
		return {
			w, mask, rounds, sigma,
			k: ps.map((p) => iroot(p << (3n * w), 3n) & mask),
			h: ps.slice(0, 8).map((p) => iroot(p << (2n * w), 2n) & mask),
		};
	}

	const SHA256 = sha2Params(32, 64, [[2, 13, 22], [6, 11, 25], [7, 18, 3], [17, 19, 10]]);
	const SHA512 = sha2Params(64, 80, [[28, 34, 39], [14, 18, 41], [1, 8, 7], [19, 61, 6]]);

	function sha2(c, msg) {
		const wordBytes = Number(c.w) / 8;
		const blockBytes = 16 * wordBytes;
		/* Padding: 0x80, zeros, then the bit length in two words. */
		const total = Math.ceil((msg.length + 1 + 2 * wordBytes) / blockBytes) * blockBytes;
		const buf = new Uint8Array(total);
		buf.set(msg);
		buf[msg.length] = 0x80;
		let bitLen = BigInt(msg.length) * 8n;
		for (let i = total - 1; bitLen > 0n; i--, bitLen >>= 8n)
			buf[i] = Number(bitLen & 0xffn);

		const rotr = (x, n) => ((x >> BigInt(n)) | (x << (c.w - BigInt(n)))) & c.mask;
		const big = (x, s) => rotr(x, s[0]) ^ rotr(x, s[1]) ^ rotr(x, s[2]);
		const small = (x, s) => rotr(x, s[0]) ^ rotr(x, s[1]) ^ (x >> BigInt(s[2]));
		const h = c.h.slice();
		const wv = new Array(c.rounds);
		for (let off = 0; off < total; off += blockBytes) {
			for (let t = 0; t < 16; t++) {
				let v = 0n;
				for (let b = 0; b < wordBytes; b++)
					v = (v << 8n) | BigInt(buf[off + t * wordBytes + b]);
				wv[t] = v;
			}
			for (let t = 16; t < c.rounds; t++)
				wv[t] = (small(wv[t - 2], c.sigma[3]) + wv[t - 7] +
				    small(wv[t - 15], c.sigma[2]) + wv[t - 16]) & c.mask;
			let [a, b, cc, d, e, f, g, hh] = h;
			for (let t = 0; t < c.rounds; t++) {
				const t1 = (hh + big(e, c.sigma[1]) + ((e & f) ^ (~e & c.mask & g)) +
				    c.k[t] + wv[t]) & c.mask;
				const t2 = (big(a, c.sigma[0]) + ((a & b) ^ (a & cc) ^ (b & cc))) & c.mask;
				[hh, g, f, e, d, cc, b, a] = [g, f, e, (d + t1) & c.mask, cc, b, a,
				    (t1 + t2) & c.mask];
			}
			[a, b, cc, d, e, f, g, hh].forEach((v, i) => { h[i] = (h[i] + v) & c.mask; });
		}
		const out = new Uint8Array(8 * wordBytes);
		h.forEach((v, i) => {
			for (let b = wordBytes - 1; b >= 0; b--, v >>= 8n)
				out[i * wordBytes + b] = Number(v & 0xffn);
		});
		return out;
	}

	/* ---- Ed25519 -------------------------------------------------------- */

	const P = (1n << 255n) - 19n;
	const L = (1n << 252n) + 27742317777372353535851937790883648493n;

	function mod(a, m = P) {
		const r = a % m;
		return r >= 0n ? r : r + m;
	}

	function pow(b, e) {
		let r = 1n;
		for (b = mod(b); e > 0n; e >>= 1n, b = b * b % P)
			if (e & 1n)
				r = r * b % P;
		return r;
	}

	const inv = (a) => pow(a, P - 2n);
	const D = mod(-121665n * inv(121666n));
	const SQRT_M1 = pow(2n, (P - 1n) / 4n);

	function fromLe(bytes) {
		let n = 0n;
		for (let i = bytes.length - 1; i >= 0; i--)
			n = (n << 8n) | BigInt(bytes[i]);
		return n;
	}

	function toLe(n, len) {
		const out = new Uint8Array(len);
		for (let i = 0; i < len; i++, n >>= 8n)
			out[i] = Number(n & 0xffn);
		return out;
	}

	function concat(...parts) {
		const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
		let off = 0;
		for (const p of parts) {
			out.set(p, off);
			off += p.length;
		}
		return out;
	}

	/*
	 * Points in extended coordinates [X, Y, Z, T]: x = X/Z, y = Y/Z, x*y = T/Z.
	 * The addition formula of RFC 8032 §5.1.4 is complete, so it doubles too.
	 */
	function add(p, q) {
		const a = mod((p[1] - p[0]) * (q[1] - q[0]));
		const b = mod((p[1] + p[0]) * (q[1] + q[0]));
		const c = mod(2n * p[3] * q[3] * D);
		const d = mod(2n * p[2] * q[2]);
		const e = b - a, f = d - c, g = d + c, h = b + a;
		return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
	}

	function mul(s, p) {
		let q = [0n, 1n, 1n, 0n];
		for (; s > 0n; s >>= 1n, p = add(p, p))
			if (s & 1n)
				q = add(q, p);
		return q;
	}

	/* RFC 8032 §5.1.2: y little-endian, the sign of x in the top bit. */
	function encode(p) {
		const zi = inv(p[2]);
		const out = toLe(mod(p[1] * zi), 32);
		if (mod(p[0] * zi) & 1n)
			out[31] |= 0x80;
		return out;
	}

	/* RFC 8032 §5.1.3; null for bytes that are no point. */
	function decode(bytes) {
		if (bytes.length !== 32)
			return null;
		const b = Uint8Array.from(bytes);
		const sign = b[31] >> 7;
		b[31] &= 0x7f;
		const y = fromLe(b);
		if (y >= P)
			return null;
		const u = mod(y * y - 1n), v = mod(D * y * y + 1n);
		let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n));
		const vx2 = mod(v * x * x);
		if (vx2 === mod(-u))
			x = mod(x * SQRT_M1);
		else if (vx2 !== u)
			return null;
		if (x === 0n && sign === 1)
			return null;
		if (Number(x & 1n) !== sign)
			x = P - x;
		return [x, y, 1n, mod(x * y)];
	}

	/* The base point: y = 4/5, x even (RFC 8032 §5.1). */
	const B = decode(toLe(mod(4n * inv(5n)), 32));

	function expand(seed) {
		if (seed.length !== 32)
			throw new Error("an Ed25519 private key is 32 bytes");
		const h = sha2(SHA512, seed);
		/* Clamping: clear the low 3 bits and bit 255, set bit 254. */
		const a = (fromLe(h.subarray(0, 32)) & ((1n << 254n) - 8n)) | (1n << 254n);
		return { a, prefix: h.subarray(32), pub: encode(mul(a, B)) };
	}

	function hashToScalar(...parts) {
		return mod(fromLe(sha2(SHA512, concat(...parts))), L);
	}

	function sign(seed, msg) {
		const { a, prefix, pub } = expand(seed);
		const r = hashToScalar(prefix, msg);
		const R = encode(mul(r, B));
		const s = mod(r + hashToScalar(R, pub, msg) * a, L);
		return concat(R, toLe(s, 32));
	}

	function verify(pub, msg, sig) {
		if (sig.length !== 64)
			return false;
		const A = decode(pub), R = decode(sig.subarray(0, 32));
		const s = fromLe(sig.subarray(32));
		if (A === null || R === null || s >= L)
			return false;
		const lhs = encode(mul(s, B));
		const rhs = encode(add(R, mul(hashToScalar(sig.subarray(0, 32), pub, msg), A)));
		return lhs.every((v, i) => v === rhs[i]);
	}

	root.ClawEd25519 = {
		publicKey: (seed) => expand(seed).pub,
		sign,
		verify,
		sha256: (msg) => sha2(SHA256, msg),
		sha512: (msg) => sha2(SHA512, msg),
	};
})(globalThis);
