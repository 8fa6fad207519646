/**
 * One provider call of a source: made inside {@link observeCall} (so a failure
 * carries its response's `Retry-After`), cancelled when the signal aborts (gax
 * calls are cancellable; a Storage request is left to finish, it only reads),
 * and its failure typed by {@link toTypedError}.
 *
 * @module
 */
import type { CallObservation, TargetAuth } from "./auth.ts";
import { observeCall } from "./auth.ts";
import { toTypedError } from "./errors.ts";

/** gax's per-call options for one page: no auto-paging, no retries, a time limit. */
export function gaxOptions(timeoutMs: number) {
  return { autoPaginate: false, retry: null, timeout: timeoutMs };
}

/** Runs one provider call for `operation`, typed errors out. */
export async function providerCall<T>(
  auth: TargetAuth,
  operation: string,
  signal: AbortSignal,
  call: () => Promise<T>,
): Promise<T> {
  signal.throwIfAborted();
  const observed: CallObservation = {};
  const pending = observeCall(observed, call) as Promise<T> & { cancel?: () => void };
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      pending.cancel?.();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([pending, aborted]);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw toTypedError(error, { operation, observed, secrets: auth.secrets, principal: auth.principal });
  } finally {
    signal.removeEventListener("abort", onAbort!);
    pending.catch(() => {});
  }
}
