/**
 * Builds bubblewrap's arguments for one job. Pure: the host's layout (which
 * system paths exist, which are symlinks) comes in as data, see
 * `describeSystemPaths()`.
 *
 * Inside, the command sees a root of its own: the host's system directories
 * read-only, its own writable `/work` (the work dir), `/tmp` and
 * `/home/troupe` (each a tmpfs of the disk limit's size when there is one, else
 * the job's directories on the host), a fresh `/proc` and minimal `/dev`;
 * nothing of the host's `/root`, `/home`, or any other job. It runs as an
 * unprivileged uid in its own user, pid, ipc and uts namespaces and, unless
 * the network mode is `host`, its own network namespace (for `outbound`, bwrap
 * reports the sandbox's pid on an info fd and waits on a block fd while the
 * agent connects it, see outbound-network.ts), in a new session (no TIOCSTI
 * into the agent's terminal), may not make user namespaces of its own, and
 * dies with its parent.
 *
 * @module
 */

import type { NetworkMode } from "./command-spec.ts";

/** Where the work dir, tmp and home appear inside the sandbox. */
export const sandboxPaths = { work: "/work", tmp: "/tmp", home: "/home/troupe" } as const;

/** A host path made visible read-only, or a symlink recreated (merged-/usr hosts: `/bin -> usr/bin`). */
export type SystemPath =
  | { kind: "ro-bind"; source: string; dest: string }
  | { kind: "symlink"; target: string; dest: string };

/** Options of `buildSandboxArgs()`. */
export interface SandboxArgsOptions {
  /** Host directories that become `/work`, `/tmp` and `/home/troupe`. */
  dirs: { work: string; tmp: string; home: string };
  /** Working directory relative to the work dir, already validated (`""` is the work dir). */
  cwd: string;
  hostname: string;
  /** `host`: the host's network; otherwise a network namespace of its own. */
  network: NetworkMode;
  /** For `outbound`: bwrap writes the sandbox's pid to `info` and waits on `block` before the command runs. */
  setupFds?: { info: number; block: number };
  /** Size of each writable directory as a tmpfs; absent binds the job's host directories instead. */
  diskBytes?: number;
  /** A host file shown as `/etc/resolv.conf` (name servers reachable from the sandbox's network). */
  resolvConf?: string;
  uid: number;
  gid: number;
  systemPaths: readonly SystemPath[];
  /** The command's whole environment (nothing else of the caller's leaks in). */
  env: Readonly<Record<string, string>>;
}

/**
 * bwrap's arguments, the environment (`--clearenv`, then `--setenv`s) last. They
 * may hold secrets: pass them through `--args <fd>`, not the command line.
 */
export interface SandboxArgs {
  args: string[];
  /** The working directory inside the sandbox. */
  cwd: string;
}

/** A hostname of the job's own: `troupe-` and up to 12 of its id's characters. */
export function sandboxHostname(jobId: string): string {
  const short = jobId.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 12).replace(/^-+|-+$/g, "");
  return `troupe-${short || "job"}`;
}

/**
 * Builds bwrap's arguments; the caller appends `--` and argv.
 *
 * @example
 * ```ts
 * const { args } = buildSandboxArgs({ dirs, cwd: "", hostname: "troupe-j1", network: "none",
 *   uid: 65534, gid: 65534, systemPaths, env: { PATH: "/usr/bin:/bin" } });
 * ```
 */
export function buildSandboxArgs(options: SandboxArgsOptions): SandboxArgs {
  const args = [
    "--unshare-user",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    ...(options.network === "host" ? [] : ["--unshare-net"]),
    "--disable-userns",
    "--uid",
    String(options.uid),
    "--gid",
    String(options.gid),
    "--hostname",
    options.hostname,
    "--die-with-parent",
    "--new-session",
  ];
  for (const path of options.systemPaths) {
    if (path.kind === "ro-bind") args.push("--ro-bind", path.source, path.dest);
    else args.push("--symlink", path.target, path.dest);
  }
  if (options.resolvConf !== undefined) args.push("--ro-bind", options.resolvConf, "/etc/resolv.conf");
  const cwd = options.cwd === "" ? sandboxPaths.work : `${sandboxPaths.work}/${options.cwd}`;
  args.push("--proc", "/proc", "--dev", "/dev");
  if (options.diskBytes === undefined) {
    args.push(
      "--tmpfs",
      "/dev/shm",
      "--bind",
      options.dirs.work,
      sandboxPaths.work,
      "--bind",
      options.dirs.tmp,
      sandboxPaths.tmp,
      "--bind",
      options.dirs.home,
      sandboxPaths.home,
    );
  } else {
    // Sized tmpfs mounts, their pages charged to the job's memory cgroup; the cwd is made in the empty /work.
    const size = String(options.diskBytes);
    for (const dir of ["/dev/shm", sandboxPaths.work, sandboxPaths.tmp, sandboxPaths.home]) {
      args.push("--size", size, "--tmpfs", dir);
    }
    if (options.cwd !== "") args.push("--dir", cwd);
  }
  if (options.setupFds !== undefined) {
    args.push("--info-fd", String(options.setupFds.info), "--block-fd", String(options.setupFds.block));
  }
  args.push("--chdir", cwd);
  args.push("--clearenv");
  for (const [name, value] of Object.entries({ ...options.env, PWD: cwd })) {
    args.push("--setenv", name, value);
  }
  return { args, cwd };
}
