/**
 * The exec adapter's error codes and its refusals. Every refusal is a
 * `PermanentError`: running the same command again on the same host would be
 * refused again.
 *
 * @module
 */
import { PermanentError } from "../../machines/errors.ts";

/** Stable error codes of the exec adapter. */
export const ExecErrorCode = {
  /** A requested limit cannot be enforced on this host. */
  limitUnavailable: "LIMIT_UNAVAILABLE",
  /** bubblewrap is missing or fails its self-check. */
  isolationUnavailable: "ISOLATION_UNAVAILABLE",
  /** The process could not be started, or not inside its cgroup. */
  spawnFailed: "SPAWN_FAILED",
  /** A limit asked for is above what the agent allows. */
  limitOverMaximum: "LIMIT_OVER_MAXIMUM",
  /** The network mode asked for is not offered here (not allowed, or its tools are missing). */
  networkUnavailable: "NETWORK_UNAVAILABLE",
} as const;
/** An exec adapter error code. */
export type ExecErrorCode = (typeof ExecErrorCode)[keyof typeof ExecErrorCode];

/** The `code` of a Node.js system error (`ENOENT`, `EACCES`...), else the error as text. */
export function systemCode(error: unknown): string {
  return (error as { code?: string } | undefined)?.code ?? String(error);
}

/** Refuses a limit the host cannot enforce, saying why. */
export function limitUnavailable(limit: string, why: string, cause?: unknown): PermanentError {
  return new PermanentError(`Cannot enforce limit "${limit}": ${why}`, {
    code: ExecErrorCode.limitUnavailable,
    cause,
  });
}
