/**
 * The payload of the `exec` kind: which agent (by name or labels) and the
 * command (argv, env, cwd, stdin, limits, timeout, network), validated with the
 * sandbox's own command schema.
 *
 * @module
 */
import { z } from "zod";
// The schema file itself, not the sandbox's mod.ts: a manifest (and so every CLI call) loads this schema, not the sandbox.
import { commandSpecSchema } from "../exec/command-spec.ts";
import { envFromSchema, envOverlap } from "./env-from.ts";

const label = z.string().regex(/^[A-Za-z0-9_.\/-]{1,63}$/, "use 1-63 letters, digits, _ . / or -");

/**
 * `env` as the sandbox validates it, every value marked secret: env routinely
 * holds credentials, so the API shows its names with `"***"` values.
 */
const secretEnv = z.record(z.string(), z.string().meta({ writeOnly: true })).optional().pipe(
  commandSpecSchema.shape.env,
);

/** Payload of `exec`. */
export const execPayloadSchema = commandSpecSchema.extend({
  env: secretEnv,
  /**
   * Secret variables by credentials reference (`{"DB_PASSWORD": "db-prod"}`), resolved
   * by the agent where the command runs: see env-from.ts.
   */
  envFrom: envFromSchema.optional(),
  /** Run on this agent (`troupe agent --name`). */
  agent: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "use 1-64 letters, digits, _ or -").optional(),
  /** Or on the least busy agent carrying all these labels. */
  labels: z.record(label, z.string().max(253)).optional(),
  /** When the agent dies mid-run: retry the job (true) or fail it (default). */
  retryOnAgentLoss: z.boolean().optional(),
}).superRefine((payload, ctx) => {
  for (const name of envOverlap(payload.env, payload.envFrom)) {
    ctx.addIssue({
      code: "custom",
      path: ["envFrom", name],
      message: `"${name}" is set by env too: set a variable in one of them`,
    });
  }
});

export type ExecPayload = z.output<typeof execPayloadSchema>;

/** The kind's descriptor, known without loading its implementation. */
export const EXEC_KIND = {
  kind: "exec",
  description: "Runs a command on an exec agent, sandboxed and limited, streaming its output",
  // Safe to retry: a command that started is found again (re-attach), and its own failures are permanent.
  maxAttempts: 3,
  // The agent enforces the command's own timeout; this only bounds a stuck attempt.
  timeoutMs: 7 * 24 * 3_600_000,
  concurrency: 64,
} as const;
