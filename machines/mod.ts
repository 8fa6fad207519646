/**
 * The pure core: the job machine, its states, backoff, typed errors and what a
 * job kind is. Imports nothing but xstate (and zod types for kinds).
 *
 * @module
 */
export * from "./job-machine.ts";
export * from "./job-status.ts";
export * from "./backoff.ts";
export * from "./errors.ts";
export * from "./job-kind.ts";
export * from "./job-effects.ts";
export * from "./job-write.ts";
export * from "./job-transition.ts";
