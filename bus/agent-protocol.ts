/**
 * Messages between workers and exec agents on `<ns>.agent.<name>.<verb>`
 * (request/reply, JSON): `run` starts a job's command or re-attaches to it (the
 * agent dedupes by job id), `status` says whether it still runs and how it
 * ended, `stop` ends it; `heartbeat` (published) announces the agent.
 *
 * @module
 */

/** What an agent announces every few seconds. */
export interface AgentInfo {
  name: string;
  host: string;
  labels: Record<string, string>;
  /** What the host can do: bubblewrap, cgroup version, each limit usable or not. */
  capabilities: Record<string, unknown>;
  isolation: boolean;
  running: number;
  startedAt: string;
  at: string;
}

/** How a command ended, as the job's result records it. */
export interface ExecOutcome {
  exitCode: number | null;
  signal: string | null;
  oomKilled: boolean;
  cpuSeconds: number | null;
  peakMemoryBytes: number | null;
  durationMs: number;
  /** `output-limit`: the agent stopped it when its output reached the cap. */
  stoppedBy?: "stop" | "timeout" | "output-limit";
  /** Bytes the command wrote, kept or not. */
  outputBytes: number;
  /** Its output reached the cap: the rest was dropped. */
  outputTruncated: boolean;
  droppedBytes: number;
  /** The agent's output cap, counted as the log chunks are stored (absent from older agents). */
  outputLimitBytes?: number;
  /** Each limit and how it was enforced. */
  applied: Record<string, unknown>;
  agent: string;
}

/** `run`: start (or re-attach to) a job's command. */
export interface RunRequest {
  jobId: string;
  attempt: number;
  /** The command spec (argv, env, cwd, stdin, limits, timeoutMs, network). */
  spec: unknown;
}

/** Where a job's command is on an agent. */
export type AgentJobState =
  | { state: "running"; reattached: boolean; applied: Record<string, unknown> }
  | { state: "done"; reattached: boolean; outcome: ExecOutcome }
  | { state: "refused"; error: { code: string; message: string; permanent: boolean } }
  | { state: "unknown" };

/** `status` and `stop` name a job. */
export interface JobRef {
  jobId: string;
  graceMs?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON to bytes. */
export function encodeMessage(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Bytes to JSON (the caller knows the shape it asked for). */
export function decodeMessage<T>(data: Uint8Array): T {
  return JSON.parse(decoder.decode(data)) as T;
}
