/**
 * What exactly to spawn for one job: the join-then-exec shell, then (isolated)
 * `setpriv` dropping to the sandbox uid when the agent is root, bwrap with its
 * arguments, and the command; or (not isolated) the command itself. Also the
 * environment: the command gets only the spec's variables over a small default
 * set, never the agent's own (which may hold credentials), and no host path:
 * the shell starts in `/`, so even the sandbox's pid 1 (bwrap, whose
 * environment is the shell's) shows `PWD=/`. Pure.
 *
 * @module
 */
import { buildJoinCommand } from "./join-command.ts";
import type { NetworkMode } from "./command-spec.ts";
import type { SystemPath } from "./sandbox-args.ts";
import { buildSandboxArgs, sandboxHostname, sandboxPaths } from "./sandbox-args.ts";
import type { JobRoot } from "./job-root.ts";

/** `PATH` when the spec sets none. */
export const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The descriptors on which bwrap reports the sandbox's pid and waits for its network (`outbound`). */
export const setupFds = { info: 5, block: 6 } as const;

/** Options of `planLaunch()`. */
export interface LaunchPlanOptions {
  jobId: string;
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  /** Working directory relative to the work dir (resolved, symlinks followed). */
  cwd: string;
  /** Host path of the working directory, for an unisolated command. */
  hostCwd: string;
  network: NetworkMode;
  /** Size of each writable directory (a tmpfs); absent binds the job's host directories. */
  diskBytes?: number;
  /** A host file shown as the sandbox's `/etc/resolv.conf`. */
  resolvConf?: string;
  jobRoot: JobRoot;
  procsFiles: readonly string[];
  /** bwrap and its privilege drop; absent runs the command without a sandbox. */
  sandbox?: {
    bwrapPath: string;
    dropPrivileges: readonly string[];
    uid: number;
    systemPaths: readonly SystemPath[];
  };
}

/** What to spawn, where, with which environment, and what to write to fd 4 (bwrap's `--args`). */
export interface LaunchPlan {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** NUL-terminated arguments bwrap reads from fd 4; absent when not isolated. */
  fd4?: string;
  /** bwrap reports on `setupFds.info` and waits on `setupFds.block` (pipes the caller provides). */
  networkSetup: boolean;
}

/** Plans the spawn of a job's command. */
export function planLaunch(options: LaunchPlanOptions): LaunchPlan {
  const { sandbox, jobRoot } = options;
  if (sandbox === undefined) {
    const env = {
      PATH: defaultPath,
      HOME: jobRoot.home,
      TMPDIR: jobRoot.tmp,
      LANG: "C.UTF-8",
      ...options.env,
    };
    const join = buildJoinCommand({
      procsFiles: options.procsFiles,
      argv: options.argv,
      closeInheritedFds: false,
    });
    return { ...join, cwd: options.hostCwd, env, networkSetup: false };
  }
  const env = {
    PATH: defaultPath,
    HOME: sandboxPaths.home,
    TMPDIR: sandboxPaths.tmp,
    LANG: "C.UTF-8",
    ...options.env,
  };
  const outbound = options.network === "outbound";
  const { args } = buildSandboxArgs({
    dirs: jobRoot,
    cwd: options.cwd,
    hostname: sandboxHostname(options.jobId),
    network: options.network,
    ...(outbound ? { setupFds } : {}),
    ...(options.diskBytes === undefined ? {} : { diskBytes: options.diskBytes }),
    ...(options.resolvConf === undefined ? {} : { resolvConf: options.resolvConf }),
    uid: sandbox.uid,
    gid: sandbox.uid,
    systemPaths: sandbox.systemPaths,
    env,
  });
  // All of bwrap's arguments go through fd 4: the environment may hold secrets, and the
  // host paths are none of the command's business (it would see them as its pid 1's argv).
  const argv = [...sandbox.dropPrivileges, sandbox.bwrapPath, "--args", "4", "--", ...options.argv];
  const join = buildJoinCommand({
    procsFiles: options.procsFiles,
    argv,
    closeInheritedFds: true,
    ...(outbound ? { keepFds: [setupFds.info, setupFds.block] } : {}),
  });
  // The shell and setpriv run as root: they get a fixed environment, the command its own through fd 4.
  return {
    ...join,
    cwd: "/",
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    fd4: args.map((a) => `${a}\0`).join(""),
    networkSetup: outbound,
  };
}
