/**
 * Builds bubblewrap's arguments for one job. Pure: the host's layout (which
 * system paths exist, which are symlinks) comes in as data, see
 * `describeSystemPaths()`.
 *
 * Inside, the command sees a root of its own: the host's system directories
 * read-only, its own writable `/work` (the work dir), `/tmp` and
 * `/home/troupe`, a fresh `/proc` and minimal `/dev`; nothing of the host's
 * `/root`, `/home`, or any other job. It runs as an unprivileged uid in its own
 * user, pid, ipc and uts namespaces (and network namespace when network is
 * denied), in a new session (no TIOCSTI into the agent's terminal), may not
 * make user namespaces of its own, and dies with its parent.
 *
 * @module
 */

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
  /** Host networking when true; a network namespace with only loopback when false. */
  network: boolean;
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
 * const { args } = buildSandboxArgs({ dirs, cwd: "", hostname: "troupe-j1", network: false,
 *   uid: 65534, gid: 65534, systemPaths, env: { PATH: "/usr/bin:/bin" } });
 * ```
 */
export function buildSandboxArgs(options: SandboxArgsOptions): SandboxArgs {
  const args = [
    "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
    ...(options.network ? [] : ["--unshare-net"]),
    "--disable-userns",
    "--uid", String(options.uid), "--gid", String(options.gid),
    "--hostname", options.hostname,
    "--die-with-parent", "--new-session",
  ];
  for (const path of options.systemPaths) {
    if (path.kind === "ro-bind") args.push("--ro-bind", path.source, path.dest);
    else args.push("--symlink", path.target, path.dest);
  }
  const cwd = options.cwd === "" ? sandboxPaths.work : `${sandboxPaths.work}/${options.cwd}`;
  args.push(
    "--proc", "/proc",
    "--dev", "/dev",
    "--tmpfs", "/dev/shm",
    "--bind", options.dirs.work, sandboxPaths.work,
    "--bind", options.dirs.tmp, sandboxPaths.tmp,
    "--bind", options.dirs.home, sandboxPaths.home,
    "--chdir", cwd,
  );
  args.push("--clearenv");
  for (const [name, value] of Object.entries({ ...options.env, PWD: cwd })) args.push("--setenv", name, value);
  return { args, cwd };
}
