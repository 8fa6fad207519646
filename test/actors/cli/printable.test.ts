/** What the CLI prints: control and bidi-override characters escaped. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { printable, printableJson } from "../../../actors/cli/printable.ts";

describe("printable()", () => {
  it("escapes C0, DEL, C1 and bidi overrides, keeps the rest", () => {
    assert.equal(printable("job\u001b[2Jdone"), "job\\x1b[2Jdone");
    assert.equal(
      printable("a\nb\rc\td\u0000e\u007ff\u009bg\u202eh"),
      "a\\nb\\rc\\td\\x00e\\x7ff\\x9bg\\u202eh",
    );
    assert.equal(printable("été ✓ job-1"), "été ✓ job-1");
  });
});

describe("printableJson()", () => {
  it("stays valid JSON that parses back to the same value, with nothing raw a terminal obeys", () => {
    const value = { id: "x\u001b[2J\u009b\u202e", n: 1 };
    const text = printableJson(value);
    // deno-lint-ignore no-control-regex -- control characters are what must not be there
    assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/.test(text), text);
    assert.deepEqual(JSON.parse(text), value);
  });
});
