/**
 * The `exec` job kind: a command on an exec agent (see actors/agent/agent.ts), sandboxed
 * and limited by adapters/exec.
 *
 * @example
 * ```sh
 * nats pub troupe.jobs.exec '{"payload":{"agent":"web-1","command":["uname","-a"],"limits":{"memoryMB":64}}}'
 * ```
 * @module
 */
export { type AgentLink, createExecKind, type ExecKindOptions, outcomeToResult } from "./exec-kind.ts";
export { type ExecPayload, execPayloadSchema } from "./schema.ts";
export { type EnvFrom, envFromSchema, resolveEnvFrom, type SecretReader, withEnvFrom } from "./env-from.ts";
