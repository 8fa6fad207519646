/**
 * Okta rate limits, honoured before a 429 happens. Okta counts requests per
 * bucket (an endpoint family: listing users, listing groups, a group's users...)
 * in fixed windows and says on every answer how many are left:
 * `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining` and `X-Rate-Limit-Reset` (the
 * window's end, UTC epoch seconds).
 *
 * One {@link RateLimiter} per provider (or write-back kind) instance keeps one
 * budget per org and bucket, shared by every source of every run of that org: a request takes one
 * unit before it is sent; an answer sets the budget to what Okta says is left
 * minus the requests still in flight (they may not have been counted yet), so
 * concurrent sources cannot overshoot. With no budget left, requests wait
 * (abortably) until the window's reset. Before the first answer of a bucket
 * its budget is unknown and requests go.
 *
 * The reset is Okta's clock; it is laid on ours with the smallest
 * `received - Date` seen so far, an upper bound of how far our clock is ahead of
 * Okta's (`Date` is Okta's time truncated to the second, written before we
 * received it), so a skewed clock never makes a request early, and the bound
 * tightens to about one network latency as answers come in.
 *
 * @module
 */

/** Time, injectable (tests use a fake clock; the default is real time). */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Sleeps `ms` of real time, abortably. */
export function realSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Real time. */
export const realClock: Clock = { now: () => Date.now(), sleep: realSleep };

/** What an answer said about its bucket. */
export interface RateLimitState {
  limit: number | undefined;
  remaining: number;
  /** `X-Rate-Limit-Reset`: when the window ends on Okta's clock, epoch seconds (names the window). */
  reset: number;
  /** When the window ends, in local clock milliseconds. */
  resetAt: number;
}

/**
 * Reads the rate-limit headers of an answer, the reset laid on our clock with
 * `aheadMs` (how far our clock may be ahead of Okta's); undefined when they are
 * absent or malformed.
 */
export function readRateLimit(headers: Headers, aheadMs: number): RateLimitState | undefined {
  const remaining = Number(headers.get("x-rate-limit-remaining") ?? NaN);
  const reset = Number(headers.get("x-rate-limit-reset") ?? NaN);
  if (!Number.isFinite(remaining) || !Number.isFinite(reset)) return undefined;
  const limit = Number(headers.get("x-rate-limit-limit") ?? NaN);
  return {
    limit: Number.isFinite(limit) ? limit : undefined,
    remaining: Math.max(0, remaining),
    reset,
    resetAt: reset * 1000 + aheadMs,
  };
}

interface Bucket {
  /** Requests that may still be sent in this window; undefined: unknown, send. */
  budget: number | undefined;
  limit: number | undefined;
  /** The current window, by Okta's reset (epoch seconds). */
  reset: number | undefined;
  resetAt: number | undefined;
  inFlight: number;
}

/**
 * A permit for one request; {@link Permit.done} must be called once, with the
 * answer's headers when there was one; it returns what they said of the bucket.
 */
export interface Permit {
  done(headers?: Headers): RateLimitState | undefined;
}

/** The budgets of one provider instance, one per bucket. */
export class RateLimiter {
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Bucket>();
  /** Per server (org origin): the smallest `received - Date` seen, how far our clock may be ahead of its. */
  readonly #ahead = new Map<string, number>();

  constructor(clock: Clock = realClock) {
    this.#clock = clock;
  }

  /** Milliseconds until `bucket` may be used again (0 when it may now). */
  waitMs(bucket: string): number {
    const state = this.#buckets.get(bucket);
    if (!state || state.budget === undefined || state.budget > 0 || state.resetAt === undefined) return 0;
    return Math.max(0, state.resetAt - this.#clock.now());
  }

  /**
   * Waits until `bucket` has budget, then takes one unit of it. `server` names
   * whose clock the answers' `Date` and reset are on (the org's origin); bucket
   * names should include it too, since each org has its own limits.
   */
  async acquire(bucket: string, signal: AbortSignal, server = ""): Promise<Permit> {
    let state = this.#buckets.get(bucket);
    if (!state) {
      state = { budget: undefined, limit: undefined, reset: undefined, resetAt: undefined, inFlight: 0 };
      this.#buckets.set(bucket, state);
    }
    for (;;) {
      signal.throwIfAborted();
      if (state.resetAt !== undefined && this.#clock.now() >= state.resetAt) {
        // A new window: the full limit, until its first answer says otherwise.
        state.budget = state.limit;
        state.resetAt = undefined;
      }
      if (state.budget === undefined || state.budget > 0) break;
      await this.#clock.sleep(this.waitMs(bucket), signal);
    }
    if (state.budget !== undefined) state.budget--;
    state.inFlight++;
    const bucketState = state;
    let released = false;
    return {
      done: (headers) => {
        if (released) return undefined;
        released = true;
        bucketState.inFlight--;
        if (!headers) return undefined;
        const date = Date.parse(headers.get("date") ?? "");
        const ahead = Math.min(
          this.#ahead.get(server) ?? Number.POSITIVE_INFINITY,
          Number.isNaN(date) ? Number.POSITIVE_INFINITY : this.#clock.now() - date,
        );
        if (Number.isFinite(ahead)) this.#ahead.set(server, ahead);
        const seen = readRateLimit(headers, Number.isFinite(ahead) ? ahead : 0);
        if (!seen) return undefined;
        // An answer of an older window says nothing about the current one.
        if (bucketState.reset !== undefined && seen.reset < bucketState.reset) return seen;
        bucketState.limit = seen.limit ?? bucketState.limit;
        bucketState.reset = seen.reset;
        bucketState.resetAt = seen.resetAt;
        bucketState.budget = Math.max(0, seen.remaining - bucketState.inFlight);
        return seen;
      },
    };
  }
}
