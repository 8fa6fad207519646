/**
 * The gateway's Server-Sent Events routes, both "history, then live, each once":
 * - `GET /jobs/:id/events`: the audit trail from PostgreSQL (the truth), then live
 *   transitions from the events stream, de-duplicated by event id, ending after a
 *   final state. Resumes after `Last-Event-ID` (an event id) or `?after=`.
 * - `GET /jobs/:id/logs`: the job's output chunks from the logs stream, replayed
 *   then followed, ending once the job is final and its output has gone quiet
 *   (`?follow=0`: once the replay has gone quiet). Resumes after `Last-Event-ID`
 *   (a logs-stream sequence) or `?after=`.
 *
 * @module
 */
import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { Bus } from "../../bus/bus.ts";
import { followLogs } from "../jobs/log-follower.ts";
import { ValidationError } from "../../machines/errors.ts";
import { isFinalStatus } from "../../machines/job-status.ts";
import { type JobEventMessage, toEventMessage } from "../jobs/event-message.ts";
import type { JobService } from "../jobs/job-service.ts";

/** How the log stream decides it is over. */
export interface LogStreamTiming {
  /** How often the job's status is checked while following. Default 500 ms. */
  pollMs?: number;
  /** After a final status, how long without output before the stream ends. Default 750 ms. */
  quietMs?: number;
}

function resumeAfter(header: string | undefined, query: string | undefined): number {
  const after = Number(header ?? query ?? 0);
  if (!Number.isInteger(after) || after < 0) {
    throw new ValidationError("Last-Event-ID must be a non-negative integer", { field: "Last-Event-ID" });
  }
  return after;
}

/** Adds the two SSE routes to `app`. */
export function addSseRoutes(
  app: Hono,
  options: { jobs: JobService; bus: Bus; logs?: LogStreamTiming },
): void {
  const { jobs, bus } = options;
  const pollMs = options.logs?.pollMs ?? 500;
  const quietMs = options.logs?.quietMs ?? 750;

  app.get("/jobs/:id/events", async (c) => {
    const id = c.req.param("id");
    const after = resumeAfter(c.req.header("Last-Event-ID"), c.req.query("after"));
    const history = await jobs.events(id, after);
    return streamSSE(c, async (stream) => {
      let last = after;
      let ended = false;
      const send = async (event: JobEventMessage) => {
        if (event.eventId <= last) return;
        last = event.eventId;
        ended ||= isFinalStatus(event.status);
        await stream.writeSSE({
          id: String(event.eventId),
          event: "transition",
          data: JSON.stringify(event),
        });
      };
      for (const row of history) await send(toEventMessage(row));
      if (ended || stream.aborted) return;
      // Replays the job's events from the stream too: nothing between the history and now is missed.
      // A client that goes closes it, which removes its consumer from the events stream.
      const live = bus.watchEvents(id, "all");
      stream.onAbort(() => void live.close());
      const decoder = new TextDecoder();
      try {
        for await (const record of live) {
          await send(JSON.parse(decoder.decode(record.data)) as JobEventMessage);
          if (ended) break;
        }
      } finally {
        await live.close();
      }
    });
  });

  app.get("/jobs/:id/logs", async (c) => {
    const id = c.req.param("id");
    const after = resumeAfter(c.req.header("Last-Event-ID"), c.req.query("after"));
    const follow = !["0", "false", "no"].includes(c.req.query("follow") ?? "");
    await jobs.get(id);
    return streamSSE(c, async (stream) => {
      // A client that goes ends the reading (and removes its consumer) even while the job is silent.
      const gone = new AbortController();
      stream.onAbort(() => gone.abort());
      const reading = followLogs(bus, id, {
        follow,
        afterSeq: after,
        pollMs,
        quietMs,
        signal: gone.signal,
        status: () => jobs.get(id).then((job) => job.status, () => null),
      });
      let next = await reading.next();
      while (!next.done) {
        await stream.writeSSE({
          id: String(next.value.streamSeq),
          event: "log",
          data: JSON.stringify(next.value.chunk),
        });
        next = await reading.next();
      }
      if (next.value && !stream.aborted) {
        await stream.writeSSE({ event: "end", data: JSON.stringify({ jobId: id, status: next.value }) });
      }
    });
  });
}
