/**
 * The built-in `noop` kind, for tests and benchmarks: sleeps `sleepMs`, and fails
 * its first `failTimes` attempts with a `failWith` error (transient or permanent).
 *
 * @example
 * ```sh
 * nats pub troupe.jobs.noop '{"payload":{"sleepMs":100,"failTimes":1}}'
 * ```
 * @module
 */
import { z } from "zod";
import { defineKind } from "../../machines/job-kind.ts";
import { PermanentError, TransientError } from "../../machines/errors.ts";

/** Payload of `noop`. */
export const noopSchema = z.strictObject({
  sleepMs: z.number().int().min(0).max(3_600_000).default(0),
  failTimes: z.number().int().min(0).max(1000).default(0),
  failWith: z.enum(["transient", "permanent"]).default("transient"),
  retryAfterMs: z.number().int().min(0).optional(),
  result: z.unknown().optional(),
}).default({ sleepMs: 0, failTimes: 0, failWith: "transient" });

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return signal?.aborted ? Promise.reject(signal.reason) : Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The `noop` kind. */
export const noopKind = defineKind({
  kind: "noop",
  description: "Does nothing: sleeps sleepMs, fails its first failTimes attempts with failWith",
  schema: noopSchema,
  async run({ payload, attempt, signal }) {
    await sleep(payload.sleepMs, signal);
    if (attempt <= payload.failTimes) {
      const message = `noop failing attempt ${attempt} of ${payload.failTimes} on purpose`;
      if (payload.failWith === "permanent") throw new PermanentError(message);
      throw new TransientError(
        message,
        payload.retryAfterMs === undefined ? {} : { retryAfterMs: payload.retryAfterMs },
      );
    }
    return { result: payload.result ?? { ok: true, attempt } };
  },
});
