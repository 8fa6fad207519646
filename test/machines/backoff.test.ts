import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { backoffDelayMs } from "../../machines/backoff.ts";

describe("backoffDelayMs()", () => {
  it("grows exponentially with full jitter", () => {
    assert.equal(backoffDelayMs({ attempt: 1, baseMs: 100, jitter: 1 }), 100);
    assert.equal(backoffDelayMs({ attempt: 2, baseMs: 100, jitter: 1 }), 200);
    assert.equal(backoffDelayMs({ attempt: 4, baseMs: 100, jitter: 1 }), 800);
    assert.equal(backoffDelayMs({ attempt: 4, baseMs: 100, jitter: 0.5 }), 400);
    assert.equal(backoffDelayMs({ attempt: 4, baseMs: 100, jitter: 0 }), 0);
  });

  it("stays within [0, ceiling] for any jitter", () => {
    for (let i = 0; i <= 100; i++) {
      const d = backoffDelayMs({ attempt: 3, baseMs: 100, jitter: i / 100 });
      assert.ok(d >= 0 && d <= 400, String(d));
    }
  });

  it("caps at maxMs, even for huge attempts", () => {
    assert.equal(backoffDelayMs({ attempt: 60, baseMs: 1000, maxMs: 5000, jitter: 1 }), 5000);
    assert.equal(backoffDelayMs({ attempt: 5000, baseMs: 1000, maxMs: 5000, jitter: 1 }), 5000);
  });

  it("never goes below a provider's retryAfter", () => {
    assert.equal(backoffDelayMs({ attempt: 1, baseMs: 100, jitter: 0, retryAfterMs: 3000 }), 3000);
    assert.equal(
      backoffDelayMs({ attempt: 1, baseMs: 100, maxMs: 1000, jitter: 1, retryAfterMs: 60_000 }),
      60_000,
    );
    assert.equal(
      backoffDelayMs({ attempt: 8, baseMs: 1000, maxMs: 300_000, jitter: 1, retryAfterMs: 10 }),
      128_000,
    );
  });

  it("refuses bad inputs with a RangeError", () => {
    assert.throws(() => backoffDelayMs({ attempt: 0, jitter: 0.5 }), RangeError);
    assert.throws(() => backoffDelayMs({ attempt: 1.5, jitter: 0.5 }), RangeError);
    assert.throws(() => backoffDelayMs({ attempt: 1, jitter: 1.5 }), RangeError);
    assert.throws(() => backoffDelayMs({ attempt: 1, jitter: Number.NaN }), RangeError);
  });
});
