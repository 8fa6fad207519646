/**
 * A running sandboxed command: its pid and applied limits, `stop()`, and the
 * `result` promise, which settles once the command ended, everything it left
 * running was killed, and its cgroup and filesystem root were removed.
 *
 * Stopping sends SIGTERM, waits a grace, then SIGKILLs every process of the
 * job (`cgroup.kill` on v2; on v1 the freezer holds forks while every pid is
 * killed). Under bubblewrap the command runs in a session of its own, so
 * SIGTERM goes to every process in the job's cgroup except bwrap's monitor
 * (whose death would SIGKILL the sandbox at once, ending it without its
 * grace); without bubblewrap, to the process group and the cgroup. Processes
 * born during the grace (a sandbox still starting) get theirs as they appear.
 *
 * @module
 */
import type { ChildProcess } from "node:child_process";
import process from "node:process";
import type { JobCgroup } from "./cgroup.ts";
import type { AppliedLimits } from "./cgroup-limits.ts";
import type { NetworkMode } from "./command-spec.ts";
import type { JobRoot } from "./job-root.ts";
import { removeJobRoot } from "./job-root.ts";
import type { OutboundNetwork } from "./outbound-network.ts";
import type { OutputCapture, OutputTotals } from "./output-capture.ts";

/** How a command ended and what it used. */
export interface SandboxResult extends OutputTotals {
  /**
   * The exit code; `null` when a signal ended it. Under bubblewrap a command
   * killed by signal N shows as `128 + N` (bwrap's convention).
   */
  exitCode: number | null;
  /** The signal that ended the spawned process, if one did. */
  signal: string | null;
  /** The kernel's OOM killer struck in the job's memory cgroup. */
  oomKilled: boolean;
  /** CPU time of every process of the job; `null` without CPU accounting. */
  cpuSeconds: number | null;
  /** Peak memory of the job; `null` without memory accounting. */
  peakMemoryBytes: number | null;
  durationMs: number;
  /** Set when `stop()` (or the abort signal) or the timeout ended the command. */
  stoppedBy?: "stop" | "timeout";
  /** The limits it ran under. */
  applied: AppliedLimits;
  /** The network it had. */
  network: NetworkMode;
  /** What could not be removed afterwards (a cgroup with a process stuck in the kernel). */
  leftovers?: string[];
}

/** Everything `startSandboxedProcess()` hands over. */
export interface SandboxedProcessInit {
  child: ChildProcess;
  /** Settles on the child's `exit` event (attached right after spawn). */
  exit: Promise<[number | null, string | null]>;
  /** Settles on the child's `close` event: it exited and its pipes closed. */
  closed: Promise<void>;
  jobId: string;
  jobRoot: JobRoot;
  cgroup: JobCgroup | undefined;
  capture: OutputCapture;
  started: number;
  isolated: boolean;
  /** The network mode granted. */
  network: NetworkMode;
  /** Limits enforced outside the cgroup (the disk limit's tmpfs sizes). */
  applied?: AppliedLimits;
  /** The sandbox's user-mode network (`outbound`), stopped when the command ended. */
  outbound?: OutboundNetwork;
  stopGraceMs: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

function sleep(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}

/** A command running in its sandbox. Made by `startSandboxedProcess()`. */
export class SandboxedProcess {
  /** Pid of the spawned process (bwrap's monitor when isolated), leader of its process group. */
  readonly pid: number;
  readonly jobId: string;
  /** Each limit and what enforces it (a cgroup file, a tmpfs size). */
  readonly applied: AppliedLimits;
  /** The network mode it runs with. */
  readonly network: NetworkMode;
  /** Settles once the command ended and its cgroup and root were removed; never rejects. */
  readonly result: Promise<SandboxResult>;
  readonly #init: SandboxedProcessInit;
  readonly #exited: Promise<void>;
  #hasExited = false;
  #stoppedBy: "stop" | "timeout" | undefined;
  #stopping: Promise<void> | undefined;

  constructor(init: SandboxedProcessInit) {
    this.#init = init;
    this.pid = init.child.pid as number;
    this.jobId = init.jobId;
    this.applied = { ...init.cgroup?.applied, ...init.applied };
    this.network = init.network;
    this.#exited = init.exit.then(() => {
      this.#hasExited = true;
    });
    const timer = init.timeoutMs === undefined
      ? undefined
      : setTimeout(() => this.#stop("timeout", init.stopGraceMs), init.timeoutMs);
    const onAbort = () => this.#stop("stop", init.stopGraceMs);
    init.signal?.addEventListener("abort", onAbort, { once: true });
    this.result = init.exit.then(async ([exitCode, signal]) => {
      const durationMs = Math.round(performance.now() - init.started);
      clearTimeout(timer);
      init.signal?.removeEventListener("abort", onAbort);
      return await this.#finish(exitCode, signal, durationMs);
    });
  }

  /**
   * Stops the command: SIGTERM, then after `graceMs` SIGKILL to every process
   * of the job. Resolves with the result; stopping an ended command is a no-op.
   */
  stop(options: { graceMs?: number } = {}): Promise<SandboxResult> {
    this.#stop("stop", options.graceMs ?? this.#init.stopGraceMs);
    return this.result;
  }

  /** Pids of every process of the job right now (from its cgroup). */
  pids(): number[] {
    return this.#init.cgroup?.pids() ?? [];
  }

  /** The job's cgroup directories, by hierarchy (`v2` for the unified one). */
  get cgroupDirs(): Readonly<Partial<Record<string, string>>> {
    return this.#init.cgroup?.dirs ?? {};
  }

  /** The job's filesystem root on the host. */
  get jobRoot(): JobRoot {
    return this.#init.jobRoot;
  }

  #stop(reason: "stop" | "timeout", graceMs: number): void {
    if (this.#hasExited || this.#stopping !== undefined) return;
    this.#stoppedBy = reason;
    this.#stopping = (async () => {
      const deadline = performance.now() + graceMs;
      const { cgroup, isolated } = this.#init;
      if (!isolated || cgroup === undefined) {
        try {
          process.kill(-this.pid, "SIGTERM");
        } catch { /* already gone */ }
      }
      // Processes still being born (a sandbox just starting, a forking shell) get their
      // SIGTERM when they appear; each gets one, as a second often means "quit now".
      const termed = new Set<number>(isolated ? [this.pid] : []);
      while (!this.#hasExited && performance.now() < deadline) {
        for (const pid of cgroup?.pids() ?? []) {
          if (termed.has(pid)) continue;
          termed.add(pid);
          try {
            process.kill(pid, "SIGTERM");
          } catch { /* already gone */ }
        }
        const tick = sleep(Math.min(50, Math.max(0, deadline - performance.now())));
        await Promise.race([this.#exited, tick.promise]);
        tick.cancel();
      }
      if (!this.#hasExited) await this.#killAll();
    })();
  }

  async #killAll(): Promise<void> {
    try {
      process.kill(-this.pid, "SIGKILL");
    } catch { /* already gone */ }
    await this.#init.cgroup?.killAll();
  }

  async #finish(exitCode: number | null, signal: string | null, durationMs: number): Promise<SandboxResult> {
    const { child, cgroup, capture, jobRoot } = this.#init;
    // The job is its whole process tree: nothing it started may outlive it.
    await this.#killAll();
    this.#init.outbound?.stop();
    const drain = sleep(2000);
    await Promise.race([this.#init.closed, drain.promise]);
    drain.cancel();
    child.stdout?.destroy();
    child.stderr?.destroy();
    const stats = cgroup?.stats() ?? { cpuSeconds: null, peakMemoryBytes: null, oomKilled: false };
    const leftovers: string[] = [];
    if (cgroup !== undefined && !(await cgroup.remove())) {
      leftovers.push(...Object.values(cgroup.dirs) as string[]);
    }
    try {
      removeJobRoot(jobRoot);
    } catch {
      leftovers.push(jobRoot.root);
    }
    const result: SandboxResult = {
      exitCode,
      signal,
      ...stats,
      ...capture.totals,
      durationMs,
      applied: this.applied,
      network: this.network,
    };
    if (this.#stoppedBy !== undefined) result.stoppedBy = this.#stoppedBy;
    if (leftovers.length > 0) result.leftovers = leftovers;
    return result;
  }
}
