/**
 * An agent's ceilings on job limits: the most a job may ask of processes,
 * memory and disk, and what it gets when it asks nothing. A job may lower a
 * limit, never raise it past the ceiling: asking more is refused with a
 * `PermanentError` coded `LIMIT_OVER_MAXIMUM` naming the limit and the
 * agent's maximum. Pure.
 *
 * @module
 */
import { PermanentError } from "../../machines/errors.ts";
import type { Limits } from "./command-spec.ts";
import { ExecErrorCode, limitUnavailable } from "./exec-errors.ts";

/** Ceilings by limit; an absent or zero ceiling means none (the job's own limit, if any, applies). */
export interface LimitCeilings {
  pids?: number;
  memoryMB?: number;
  diskMB?: number;
}

/** The agent setting behind each ceiling, for messages. */
export const ceilingVariables: Readonly<Record<keyof LimitCeilings, string>> = {
  pids: "TROUPE_AGENT_MAX_PIDS",
  memoryMB: "TROUPE_AGENT_MAX_MEMORY_MB",
  diskMB: "TROUPE_AGENT_MAX_DISK_MB",
};

/**
 * The limits a job runs under: its own, each at most its ceiling, and the
 * ceiling where it set none. `diskMB` needs the sandbox: without it a
 * default disk ceiling is left out and a job asking for one is refused.
 *
 * @example
 * ```ts
 * applyLimitCeilings({ pids: 64 }, { pids: 512, memoryMB: 1024 }, { isolated: true }); // { pids: 64, memoryMB: 1024 }
 * applyLimitCeilings({ pids: 4096 }, { pids: 512 }, { isolated: true }); // throws LIMIT_OVER_MAXIMUM
 * ```
 */
export function applyLimitCeilings(
  limits: Limits,
  ceilings: LimitCeilings,
  options: { isolated: boolean },
): Limits {
  if (!options.isolated && limits.diskMB !== undefined) {
    throw limitUnavailable(
      "diskMB",
      "it sizes the sandbox's writable directories, and this agent runs commands without a sandbox",
    );
  }
  const out: Limits = { ...limits };
  for (const key of Object.keys(ceilingVariables) as (keyof LimitCeilings)[]) {
    const ceiling = ceilings[key];
    if (ceiling === undefined || ceiling <= 0) continue;
    const asked = limits[key];
    if (asked === undefined) {
      if (key !== "diskMB" || options.isolated) out[key] = ceiling;
    } else if (asked > ceiling) {
      throw new PermanentError(
        `Limit "${key}" of ${asked} is over this agent's maximum of ${ceiling} (${
          ceilingVariables[key]
        }): ask for ${ceiling} or less`,
        { code: ExecErrorCode.limitOverMaximum },
      );
    }
  }
  return out;
}
