/**
 * Join-then-exec: the process the agent spawns is a tiny shell that writes its
 * own pid into each of the job's `cgroup.procs` files, tells the agent so on
 * fd 3, and only then execs the sandbox (or the command). The command is thus
 * inside its cgroup, limits and all, from its first instruction; nothing is
 * spawned first and moved later (a race a fork could win).
 *
 * Paths and argv reach the shell as positional parameters, never as script
 * text, so no value can inject shell code. Pure.
 *
 * @module
 */

/** Written on fd 3 when every cgroup was joined. */
export const joinedMessage = "joined";
/** The prefix on fd 3 when a cgroup could not be joined; the path follows. */
export const joinFailedPrefix = "cannot-join ";

// fd 3 reports; before exec, bash closes every other inherited descriptor but
// 0-2, 4 (bwrap's --args) and those the caller keeps (bwrap's info and block
// fds), so nothing of the agent leaks into the sandbox.
const joinLoop = `for f; do case $f in --) break;; esac; ` +
  `echo "$$" > "$f" || { echo "${joinFailedPrefix}$f" >&3; exit 125; }; shift; done; shift`;
const closeFds = (keep: readonly number[]) =>
  `for p in /proc/$$/fd/*; do n=\${p##*/}; case $n in ${
    [0, 1, 2, 3, 4, ...keep].join("|")
  }) ;; *) exec {n}>&- ;; esac; done`;
const report = `echo ${joinedMessage} >&3; exec 3>&-; exec "$@"`;

/** Options of `buildJoinCommand()`. */
export interface JoinCommandOptions {
  /** `cgroup.procs` files to join, in order. */
  procsFiles: readonly string[];
  /** What to exec once joined: bwrap and its arguments, or the command itself. */
  argv: readonly string[];
  /**
   * Close inherited descriptors above 4 before exec (bash only); for the
   * sandbox, whose environment the caller controls.
   */
  closeInheritedFds: boolean;
  /** Descriptors above 4 left open for the sandbox (integers chosen by the caller, never input). */
  keepFds?: readonly number[];
}

/**
 * The program and arguments to spawn (with fd 3 a pipe to the agent).
 *
 * @example
 * ```ts
 * const { file, args } = buildJoinCommand({ procsFiles: ["/sys/fs/cgroup/pids/troupe/j1/cgroup.procs"],
 *   argv: ["/usr/bin/bwrap", "--", "id"], closeInheritedFds: true });
 * spawn(file, args, { stdio: ["pipe", "pipe", "pipe", "pipe"], detached: true });
 * ```
 */
export function buildJoinCommand(options: JoinCommandOptions): { file: string; args: string[] } {
  const keep = (options.keepFds ?? []).filter((fd) => Number.isInteger(fd) && fd > 4);
  const script = options.closeInheritedFds
    ? `${joinLoop}; ${closeFds(keep)}; ${report}`
    : `${joinLoop}; ${report}`;
  const file = options.closeInheritedFds ? "/bin/bash" : "/bin/sh";
  return { file, args: ["-c", script, "troupe-join", ...options.procsFiles, "--", ...options.argv] };
}
