/**
 * Retry backoff: exponential with full jitter. Pure: the randomness is a parameter.
 *
 * @module
 */

/** Options of {@link backoffDelayMs}. */
export interface BackoffOptions {
  /** The attempt that just failed, from 1. */
  attempt: number;
  /** Delay ceiling of the first retry. Default 1,000 ms. */
  baseMs?: number;
  /** Largest delay. Default 300,000 ms. */
  maxMs?: number;
  /** A provider's "not before" (Retry-After): the delay is at least this. */
  retryAfterMs?: number;
  /** Injected randomness in [0, 1]. */
  jitter: number;
}

/**
 * The delay before the next attempt: `floor(jitter * min(maxMs, baseMs * 2^(attempt-1)))`,
 * at least `retryAfterMs` when given (and then capped at `max(maxMs, retryAfterMs)`).
 *
 * @example
 * ```ts
 * backoffDelayMs({ attempt: 3, baseMs: 100, jitter: 0.5 }); // 200
 * backoffDelayMs({ attempt: 1, jitter: 0, retryAfterMs: 5000 }); // 5000
 * ```
 */
export function backoffDelayMs(options: BackoffOptions): number {
  const { attempt, baseMs = 1000, maxMs = 300_000, retryAfterMs, jitter } = options;
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  }
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`jitter must be in [0, 1], got ${jitter}`);
  if (!(baseMs >= 0) || !(maxMs >= 0)) throw new RangeError("baseMs and maxMs must be >= 0");
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 52));
  const delay = Math.floor(jitter * ceiling);
  if (retryAfterMs === undefined || !(retryAfterMs > 0)) return delay;
  return Math.min(Math.max(delay, Math.ceil(retryAfterMs)), Math.max(maxMs, Math.ceil(retryAfterMs)));
}
