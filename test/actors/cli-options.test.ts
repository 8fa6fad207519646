/** The CLI's option parsers: one duration form for every `--timeout`. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { duration, positiveInt } from "../../actors/cli-options.ts";

describe("cli options", () => {
  it("duration() reads 500ms, 30s, 2m, 1h, 1.5s and 1d as milliseconds", () => {
    assert.deepEqual(
      ["500ms", "30s", "2m", "1h", "1.5s", "1d"].map((v) => duration(v, "--timeout")),
      [500, 30_000, 120_000, 3_600_000, 1500, 86_400_000],
    );
  });

  it("duration() refuses a bare number, naming the flag and suggesting units", () => {
    assert.throws(() => duration("30", "--timeout"), (error: Error & { code?: string }) => {
      assert.equal(error.code, "BAD_USAGE");
      assert.match(
        error.message,
        /^--timeout must be a duration like 500ms, 30s, 2m or 1h, at most 7d, got "30" \(add a unit: "30s" or "30ms"\)$/,
      );
      return true;
    });
  });

  it("duration() refuses zero, negatives, unknown units and more than 7 days", () => {
    for (const value of ["0s", "-5s", "5w", "8d", "abc", "", "1e3ms"]) {
      assert.throws(() => duration(value, "--timeout"), /--timeout must be a duration/, value);
    }
  });

  it("positiveInt() refuses 1.5 and 0", () => {
    assert.equal(positiveInt("3", "--limit"), 3);
    assert.throws(() => positiveInt("1.5", "--limit"), /--limit must be a positive integer, got "1.5"/);
    assert.throws(() => positiveInt("0", "--limit"), /positive integer/);
  });
});
