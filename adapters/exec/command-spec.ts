/**
 * What a remote command is: argv (no shell), environment, working directory
 * relative to the job's work dir, stdin, resource limits, timeout and network.
 * The schema refuses what the sandbox could not run safely; `parseCommandSpec()`
 * turns the first problem into a `ValidationError` naming the field.
 *
 * Glossary: the *work dir* is the job's own writable directory, the command's
 * `/work` inside the sandbox; `cwd` is a path relative to it.
 *
 * @module
 */
import { posix } from "node:path";
import { z } from "zod";
import { ValidationError } from "../../machines/errors.ts";

const noNul = z.string().refine((s) => !s.includes("\0"), "must not contain NUL");
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Resource limits; each one is enforced by the kernel or the command is refused. */
export const limitsSchema = z.strictObject({
  /** Share of one CPU in percent: 50 is half a core, 200 two cores. */
  cpuPercent: z.number().int().min(1).max(25_600).optional(),
  /** Memory (and swap) ceiling in MiB; beyond it the kernel OOM-kills the command. */
  memoryMB: z.number().int().min(4).max(1_048_576).optional(),
  /** Read and write bytes per second on the device backing the work dir. */
  ioBps: z.number().int().min(4096).max(100 * 1024 ** 3).optional(),
  /** Most processes and threads alive at once, the sandbox's own two included. */
  pids: z.number().int().min(1).max(4_194_304).optional(),
  /**
   * Size in MiB of each writable directory (`/work`, `/tmp`, `/home/troupe`,
   * `/dev/shm`): each is then a tmpfs of that size, kept in memory and counted
   * in the memory limit. Sandboxed commands only.
   */
  diskMB: z.number().int().min(1).max(1_048_576).optional(),
});

/**
 * How a sandboxed command reaches the network: `none` (its own loopback only),
 * `outbound` (its own network namespace with outbound connections through
 * user-mode networking; never the host's loopback or the host's own
 * addresses), `host` (the host's network, loopback services included; only on
 * an agent that allows it).
 */
export type NetworkMode = "none" | "outbound" | "host";

/** The network modes, in order of exposure. */
export const networkModes: readonly NetworkMode[] = ["none", "outbound", "host"];

/** A command to run: validated input of `startSandboxedProcess()`. */
export const commandSpecSchema = z.strictObject({
  /** argv, executed without a shell: `["echo", "$(id)"]` prints `$(id)`. */
  command: z.array(noNul).min(1).max(4096)
    .refine((argv) => argv[0] !== "", "the program name must not be empty"),
  env: z.record(z.string(), z.string()).optional().superRefine((env, ctx) => {
    for (const [name, value] of Object.entries(env ?? {})) {
      if (!envName.test(name)) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `Environment variable name ${
            JSON.stringify(name)
          } is not allowed: use letters, digits and _`,
        });
      } else if (value.includes("\0")) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `Environment variable "${name}" contains NUL`,
        });
      }
    }
  }),
  /** Relative to the work dir; normalised, and refused when it leaves it. */
  cwd: noNul.optional().transform((cwd, ctx) => {
    const normal = posix.normalize(cwd ?? ".");
    if (posix.isAbsolute(normal) || normal === ".." || normal.startsWith("../")) {
      ctx.addIssue({
        code: "custom",
        message: `Working directory ${JSON.stringify(cwd)} leaves the work dir`,
      });
      return z.NEVER;
    }
    return normal === "." ? "" : normal.replace(/\/$/, "");
  }),
  stdin: z.string().max(16 * 1024 * 1024).optional(),
  limits: limitsSchema.optional(),
  timeoutMs: z.number().int().min(1).max(7 * 24 * 3_600_000).optional(),
  /** A `NetworkMode`; `false` is `none`, `true` and absent are `outbound` (the default). */
  network: z.union([z.boolean(), z.enum(["none", "outbound", "host"])]).optional(),
});

/** A command spec as callers write it. */
export type CommandSpecInput = z.input<typeof commandSpecSchema>;
/** A validated command spec; `cwd` is normalised (`""` is the work dir itself). */
export type CommandSpec = z.output<typeof commandSpecSchema>;
/** Validated limits. */
export type Limits = z.output<typeof limitsSchema>;
/** The limits a cgroup enforces (all but `diskMB`, which the sandbox's tmpfs sizes enforce). */
export type CgroupLimits = Omit<Limits, "diskMB">;

/** The network mode a spec's `network` field asks for. */
export function networkModeOf(network: CommandSpec["network"]): NetworkMode {
  if (network === false) return "none";
  if (network === true || network === undefined) return "outbound";
  return network;
}

/**
 * Validates a command spec, throwing a `ValidationError` whose `field` is the
 * offending path (`command.1`, `env.FOO`, `cwd`, `limits.memoryMB`).
 *
 * @example
 * ```ts
 * parseCommandSpec({ command: ["ls", "-l"], cwd: "src", limits: { memoryMB: 64 } });
 * ```
 */
export function parseCommandSpec(input: unknown): CommandSpec {
  const parsed = commandSpecSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join(".") || "spec";
  // env and cwd issues are written to name what they refuse; the rest get the field.
  const message = field.startsWith("env.") || (field === "cwd" && issue?.message.startsWith("Working"))
    ? issue?.message ?? "Invalid command spec"
    : `Invalid command spec field "${field}": ${issue?.message}`;
  throw new ValidationError(message, { field, cause: parsed.error });
}
