/**
 * Reads a job's output from the logs stream: replays it, then (when following)
 * goes on until the job is final and its output has gone quiet; without
 * following, stops once the replay has gone quiet. Used by the SSE route and by
 * the CLI with direct access.
 *
 * @module
 */
import type { Bus, StartAt } from "../../bus/bus.ts";
import { decodeLogChunk, type LogChunk } from "../../bus/log-chunk.ts";
import { isFinalStatus } from "../../machines/job-status.ts";

/** Options of {@link followLogs}. */
export interface FollowLogsOptions {
  follow: boolean;
  /** After the stream seq (resume). */
  afterSeq?: number;
  /** How often the job's status is checked. Default 500 ms. */
  pollMs?: number;
  /** How long without output before ending (after a final status, or at once without following). Default 750 ms. */
  quietMs?: number;
  /** The job's status now (null when it does not exist any more). */
  status: () => Promise<string | null>;
  /** Ends the reading at once (the reader went away): the stream's consumer is removed, even while no output comes. */
  signal?: AbortSignal;
}

/** A chunk with its position in the logs stream (the SSE id). */
export interface PlacedChunk {
  streamSeq: number;
  chunk: LogChunk;
}

/** Yields the chunks; the last value returned is the final status seen, if any. */
export async function* followLogs(
  bus: Bus,
  jobId: string,
  options: FollowLogsOptions,
): AsyncGenerator<PlacedChunk, string | undefined> {
  const pollMs = options.pollMs ?? 500;
  const quietMs = options.quietMs ?? 750;
  const startAt: StartAt = options.afterSeq ? { afterSeq: options.afterSeq } : "all";
  const live = bus.watchLogs(jobId, startAt);
  let lastOutputAt = Date.now();
  let finalStatus: string | undefined;
  const check = () => {
    if (!options.follow) {
      if (Date.now() - lastOutputAt >= quietMs) void live.close();
      return;
    }
    void options.status().then((status) => {
      if (status === null || isFinalStatus(status as never)) finalStatus = status ?? "missing";
      if (finalStatus && Date.now() - lastOutputAt >= quietMs) void live.close();
    }, () => {});
  };
  const watcher = setInterval(check, options.follow ? pollMs : Math.min(pollMs, quietMs / 3));
  const stop = () => void live.close();
  options.signal?.addEventListener("abort", stop, { once: true });
  if (options.signal?.aborted) stop();
  try {
    for await (const record of live) {
      lastOutputAt = Date.now();
      yield { streamSeq: record.seq, chunk: decodeLogChunk(jobId, record.data) };
    }
    return finalStatus;
  } finally {
    clearInterval(watcher);
    options.signal?.removeEventListener("abort", stop);
    await live.close();
  }
}
