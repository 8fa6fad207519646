/**
 * Okta rate limits: the provider paces itself by `X-Rate-Limit-Remaining` and
 * `X-Rate-Limit-Reset` so that a whole sync through a tight limit meets no 429
 * (the stand-in and the provider share a fake clock whose sleeps advance at
 * once), while the same reads without pacing do; a 429 that happens anyway is a
 * TransientError with `retryAfterMs` until the reset, and the next request of
 * that bucket waits for it, abortably.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createOktaProvider, RateLimiter } from "../../../adapters/okta/mod.ts";
import { readRateLimit } from "../../../adapters/okta/rate-limit.ts";
import { runSync } from "../../../adapters/sync/engine.ts";
import { TransientError } from "../../../machines/errors.ts";
import { fakeClock, memorySink } from "../../support/standins/directory-doubles.ts";
import { generateOktaModel, startOktaStandIn } from "../../support/standins/okta.ts";

const WINDOW_MS = 60_000;

describe("Okta provider: rate limits", () => {
  it("reads a whole org through a limit of 5 requests a minute per bucket without a single 429", async () => {
    const clock = fakeClock();
    const okta = await startOktaStandIn(generateOktaModel({ users: 120, groups: 12, spread: 4 }), {
      rateLimit: 5,
      windowMs: WINDOW_MS,
      now: clock.now,
    });
    try {
      const memory = memorySink();
      const summary = await runSync({
        provider: createOktaProvider({ pageSize: 10, clock }),
        target: { scope: "s", org: null, credentials: { orgUrl: okta.url, token: okta.tokens[0]! } },
        sink: memory.sink,
        runId: "paced",
        signal: new AbortController().signal,
        concurrency: 4,
      });
      assert.equal(summary.complete, true, JSON.stringify(summary.failedPages));
      assert.equal(memory.identities.size, 120);
      assert.equal(okta.stats.throttled, 0, "no request was sent past the limit");
      // 11 + 1 user pages and 12 member pages: several windows' worth in two buckets, so pacing was needed.
      assert.ok(okta.stats.requests > 20);
      assert.ok(clock.slept >= WINDOW_MS, `waited for resets (${clock.slept} ms slept)`);
    } finally {
      await okta.close();
    }
  });

  it("the same reads without pacing meet 429s (the stand-in enforces the limit)", async () => {
    const clock = fakeClock();
    const okta = await startOktaStandIn(generateOktaModel({ users: 120, groups: 1 }), {
      rateLimit: 5,
      windowMs: WINDOW_MS,
      now: clock.now,
    });
    try {
      let path: string | undefined = "/api/v1/users?limit=10";
      const statuses: number[] = [];
      while (path) {
        const response: Response = await fetch(`${okta.url}${path}`, {
          headers: { authorization: `SSWS ${okta.tokens[0]}` },
        });
        statuses.push(response.status);
        await response.body?.cancel();
        if (response.status === 429) break;
        path = /<([^>]+)>; rel="next"/.exec(response.headers.get("link") ?? "")?.[1]?.replace(okta.url, "");
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
      assert.equal(okta.stats.throttled, 1);
    } finally {
      await okta.close();
    }
  });

  it("turns a 429 into a TransientError with retryAfterMs until the reset, and waits for it before the next request", async () => {
    const clock = fakeClock();
    const okta = await startOktaStandIn(generateOktaModel({ users: 30, groups: 1 }), { now: clock.now });
    try {
      const [users] = await createOktaProvider({ pageSize: 10, clock }).plan(
        { scope: "s", org: null, credentials: { orgUrl: okta.url, token: okta.tokens[0]! } },
        new AbortController().signal,
      );
      okta.fail({ bucket: "GET /api/v1/users", status: 429, resetInSeconds: 30 });
      await assert.rejects(users!.fetchPage(undefined, new AbortController().signal), (error) => {
        assert.ok(error instanceof TransientError);
        assert.equal(error.code, "OKTA_RATE_LIMITED");
        assert.equal(error.retryAfterMs, 30_000);
        assert.match(error.message, /HTTP 429 E0000047/);
        return true;
      });
      const before = clock.slept;
      const page = await users!.fetchPage(undefined, new AbortController().signal);
      assert.equal(page.items.length, 10);
      assert.equal(clock.slept - before, 30_000, "the retry waited until the reset Okta announced");
    } finally {
      await okta.close();
    }
  });

  it("a wait for a reset ends at once when the signal aborts", async () => {
    const okta = await startOktaStandIn(generateOktaModel({ users: 30, groups: 1 }));
    try {
      const [users] = await createOktaProvider().plan(
        { scope: "s", org: null, credentials: { orgUrl: okta.url, token: okta.tokens[0]! } },
        new AbortController().signal,
      );
      okta.fail({ bucket: "GET /api/v1/users", status: 429, resetInSeconds: 3600 });
      await assert.rejects(users!.fetchPage(undefined, new AbortController().signal), TransientError);
      const controller = new AbortController();
      const reason = new Error("job cancelled");
      const waiting = users!.fetchPage(undefined, controller.signal);
      setTimeout(() => controller.abort(reason), 20);
      await assert.rejects(waiting, (error) => error === reason);
      assert.equal(okta.requests.length, 1, "nothing was sent while waiting");
    } finally {
      await okta.close();
    }
  });

  it("keeps one budget per org: a spent org does not hold back another read by the same provider", async () => {
    const clock = fakeClock();
    const options = { rateLimit: 2, windowMs: WINDOW_MS, now: clock.now };
    const a = await startOktaStandIn(generateOktaModel({ users: 10, groups: 1 }), options);
    const b = await startOktaStandIn(generateOktaModel({ users: 10, groups: 1 }), options);
    try {
      const provider = createOktaProvider({ pageSize: 1, clock });
      const signal = new AbortController().signal;
      const usersOf = async (okta: typeof a) =>
        (await provider.plan(
          { scope: okta.url, org: null, credentials: { orgUrl: okta.url, token: okta.tokens[0]! } },
          signal,
        ))[0]!;
      const [usersA, usersB] = [await usersOf(a), await usersOf(b)];
      const first = await usersA.fetchPage(undefined, signal);
      await usersA.fetchPage(first.next, signal);
      await usersB.fetchPage(undefined, signal);
      assert.equal(clock.slept, 0, "org b's budget is its own");
      await usersA.fetchPage(first.next, signal);
      assert.ok(clock.slept >= WINDOW_MS, "org a's third request waited for its reset");
      assert.equal(a.stats.throttled + b.stats.throttled, 0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("RateLimiter: concurrent requests share one budget and never overshoot what Okta said is left", async () => {
    const clock = fakeClock(Date.parse("2026-01-05T10:00:00.000Z"));
    const limiter = new RateLimiter(clock);
    const signal = new AbortController().signal;
    const headers = (remaining: number) =>
      new Headers({
        "x-rate-limit-limit": "10",
        "x-rate-limit-remaining": String(remaining),
        "x-rate-limit-reset": String(clock.now() / 1000 + 60),
        date: new Date(clock.now()).toUTCString(),
      });
    const first = await limiter.acquire("b", signal);
    const second = await limiter.acquire("b", signal);
    // Okta counted both; the answer of the first says 2 left while the second is still in flight.
    first.done(headers(2));
    assert.equal(limiter.waitMs("b"), 0);
    const third = await limiter.acquire("b", signal);
    assert.equal(limiter.waitMs("b"), 60_000, "1 left minus 1 in flight: the budget is spent");
    second.done(headers(1));
    third.done(headers(0));
    const start = clock.now();
    (await limiter.acquire("b", signal)).done();
    assert.equal(clock.now() - start, 60_000);
    assert.equal(readRateLimit(new Headers(), 0), undefined);
  });
});
