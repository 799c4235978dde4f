// The Control UI's shown() (gatewayd/ui/app.js), through which every table cell
// of device text passes: controls, bidirectional formatting and line separators
// appear as \uXXXX, other text (any script, emoji) as it is.
// Run: node --test tests/browser/shown.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { runInThisContext } from "node:vm";

const app = readFileSync(new URL("../../gatewayd/ui/app.js", import.meta.url), "utf8");
const hidden = app.match(/^const HIDDEN = .*;$/m);
const shownFn = app.match(/^function shown\(text\) \{\n[^]*?\n\}$/m);
assert.ok(hidden && shownFn, "app.js defines HIDDEN and shown()");
runInThisContext(`${hidden[0].replace("const", "var")}\n${shownFn[0]}\nglobalThis.shown = shown;`);

test("device text with controls and bidi overrides is shown escaped", () => {
	assert.equal(globalThis.shown("Kitchen \x1b[31mred"), "Kitchen \\u001b[31mred");
	assert.equal(globalThis.shown("Desk \u009b2J"), "Desk \\u009b2J");
	assert.equal(globalThis.shown("invoice\u202egpj.exe"), "invoice\\u202egpj.exe");
	assert.equal(globalThis.shown("\u2066x\u2069\u200e\u200f\u061c\u2028\u0085"),
		"\\u2066x\\u2069\\u200e\\u200f\\u061c\\u2028\\u0085");
});

test("ordinary names pass unchanged", () => {
	for (const name of ["Kitchen laptop", "L\u00e4ptop \u2615 \u{1F511}", "\u05e9\u05dc\u05d5\u05dd", "a\\b"])
		assert.equal(globalThis.shown(name), name);
	assert.equal(globalThis.shown(42), "42");
});

test("every table cell goes through shown()", () => {
	assert.match(app, /td\.textContent = shown\(text\);/);
});
