/**
 * The payload of the `exec` kind: which agent (by name or labels) and the
 * command (argv, env, cwd, stdin, limits, timeout, network), validated with the
 * sandbox's own command schema.
 *
 * @module
 */
import { z } from "zod";
import { commandSpecSchema } from "../exec/mod.ts";

const label = z.string().regex(/^[A-Za-z0-9_.\/-]{1,63}$/, "use 1-63 letters, digits, _ . / or -");

/** Payload of `exec`. */
export const execPayloadSchema = commandSpecSchema.extend({
  /** Run on this agent (`troupe agent --name`). */
  agent: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "use 1-64 letters, digits, _ or -").optional(),
  /** Or on the least busy agent carrying all these labels. */
  labels: z.record(label, z.string().max(253)).optional(),
  /** When the agent dies mid-run: retry the job (true) or fail it (default). */
  retryOnAgentLoss: z.boolean().optional(),
});

export type ExecPayload = z.output<typeof execPayloadSchema>;
