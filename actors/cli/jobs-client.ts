/**
 * How the CLI reaches jobs: directly (NATS_URL set: bus and database) or through
 * the HTTP API at TROUPE_URL with TROUPE_TOKEN (or the local admin token file,
 * admin-token.ts) as bearer token. Both give the same JSON shapes.
 *
 * @module
 */
import { ErrorCode, TroupeError } from "../../machines/errors.ts";
import type { JobService, SubmitRequest } from "../jobs/job-service.ts";
import { eventToJson, jobToJson } from "../jobs/job-json.ts";
import type { JobStatus } from "../../machines/job-status.ts";
import type { Bus } from "../../bus/bus.ts";
import type { AgentInfo } from "../../bus/agent-protocol.ts";
import type { LogChunk } from "../../bus/log-chunk.ts";
import type { AgentDirectory } from "../agent/agent-directory.ts";
import { followLogs } from "../jobs/log-follower.ts";
import { readServerSentEvents } from "./sse-reader.ts";

export type JobJson = Record<string, unknown> & { id: string; status: string; kind: string };
export type EventJson = {
  id: number;
  jobId: string;
  status: string;
  at: string;
  data: Record<string, unknown>;
};

export interface JobsClient {
  submit(request: SubmitRequest): Promise<{ id: string; duplicate: boolean; job: JobJson | null }>;
  get(id: string): Promise<JobJson>;
  list(
    options: { status?: string; kind?: string; limit?: number; cursor?: string },
  ): Promise<{ jobs: JobJson[]; nextCursor: string | null }>;
  history(id: string): Promise<EventJson[]>;
  cancel(id: string): Promise<JobJson>;
  retry(id: string): Promise<JobJson>;
  /** A job's output: replayed, then followed until the job ends (`follow`), or just the replay. */
  logs(id: string, options: { follow: boolean }): AsyncIterable<LogChunk>;
  /** Exec agents heard lately. */
  agents(): Promise<AgentInfo[]>;
}

/** A client over a local core (bus, store, agents). */
export function directClient(core: { jobs: JobService; bus: Bus; agents: AgentDirectory }): JobsClient {
  const { jobs } = core;
  return {
    async *logs(id, options) {
      await jobs.get(id);
      const reading = followLogs(core.bus, id, {
        follow: options.follow,
        status: () => jobs.get(id).then((j) => j.status, () => null),
      });
      for await (const placed of reading) yield placed.chunk;
    },
    async agents() {
      // Heartbeats come every 2 s: listen long enough to hear every agent once.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      return core.agents.list();
    },
    async submit(request) {
      const result = await jobs.submit(request);
      return {
        id: result.id,
        duplicate: result.duplicate,
        job: result.job ? (jobToJson(result.job, jobs.kinds) as JobJson) : null,
      };
    },
    async get(id) {
      return jobToJson(await jobs.get(id), jobs.kinds) as JobJson;
    },
    async list(options) {
      const page = await jobs.list({
        ...(options.status ? { status: options.status as JobStatus } : {}),
        ...(options.kind ? { kind: options.kind } : {}),
        ...(options.limit ? { limit: options.limit } : {}),
        ...(options.cursor ? { cursor: options.cursor } : {}),
      });
      return {
        jobs: page.jobs.map((j) => jobToJson(j, jobs.kinds) as JobJson),
        nextCursor: page.nextCursor ?? null,
      };
    },
    async history(id) {
      return (await jobs.events(id)).map((e) => eventToJson(e) as EventJson);
    },
    async cancel(id) {
      return jobToJson(await jobs.cancel(id, "cli"), jobs.kinds) as JobJson;
    },
    async retry(id) {
      return jobToJson(await jobs.retry(id, "cli"), jobs.kinds) as JobJson;
    },
  };
}

/** An error answered by the HTTP API. */
export class ApiError extends TroupeError {
  override name = "ApiError";
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message, { code });
    this.status = status;
  }
}

/** Appended to a 401 when the CLI had no token to send. */
const NO_TOKEN_HINT =
  " (set TROUPE_TOKEN, or run the CLI on the gateway's machine with its TROUPE_DATA_DIR, where it reads admin-token)";

/** Calls the HTTP API: JSON in, JSON out, `{"error"}` answers thrown as {@link ApiError}. */
export type ApiCall = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/** An {@link ApiCall} over HTTP at `baseUrl` with a bearer token (`send` may be an in-process app's `request`). */
export function httpCall(
  baseUrl: string,
  token: string | undefined,
  send: (url: URL, init: RequestInit) => Response | Promise<Response> = fetch,
): ApiCall {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { accept: "application/json" };
    // Every write declares JSON, body or not: the gateway refuses writes without it (request-guard.ts).
    if (body !== undefined || (method !== "GET" && method !== "HEAD")) {
      headers["content-type"] = "application/json";
    }
    if (token) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await send(new URL(path, baseUrl), {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new TroupeError(
        `Cannot reach the Troupe API at ${new URL(baseUrl).origin}: ${
          (error as Error).message
        } (is "troupe start" running? set TROUPE_URL or NATS_URL)`,
        {
          code: ErrorCode.unavailable,
          cause: error,
        },
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(
        response.status,
        "BAD_RESPONSE",
        `Unexpected response (${response.status}) from the Troupe API`,
      );
    }
    if (!response.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      const message = err?.message ?? `HTTP ${response.status}`;
      throw new ApiError(
        response.status,
        err?.code ?? `HTTP_${response.status}`,
        response.status === 401 && !token ? `${message}${NO_TOKEN_HINT}` : message,
      );
    }
    return json as T;
  };
}

/** A client over the HTTP API. */
export function httpClient(baseUrl: string, token: string | undefined): JobsClient {
  const call = httpCall(baseUrl, token);
  const enc = encodeURIComponent;
  return {
    submit: (request) => call("POST", "/jobs", request),
    get: (id) => call("GET", `/jobs/${enc(id)}`),
    list: (options) => {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(options)) {
        if (value !== undefined) query.set(key, String(value));
      }
      return call("GET", `/jobs?${query}`);
    },
    history: async (id) => (await call<{ events: EventJson[] }>("GET", `/jobs/${enc(id)}/history`)).events,
    cancel: (id) => call("POST", `/jobs/${enc(id)}/cancel`),
    retry: (id) => call("POST", `/jobs/${enc(id)}/retry`),
    agents: async () => (await call<{ agents: AgentInfo[] }>("GET", "/agents")).agents,
    async *logs(id, options) {
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (token) headers.authorization = `Bearer ${token}`;
      let response: Response;
      try {
        response = await fetch(new URL(`/jobs/${enc(id)}/logs?follow=${options.follow ? 1 : 0}`, baseUrl), {
          headers,
        });
      } catch (error) {
        throw new TroupeError(
          `Cannot reach the Troupe API at ${new URL(baseUrl).origin}: ${(error as Error).message}`,
          { code: ErrorCode.unavailable, cause: error },
        );
      }
      if (!response.ok || !response.body) {
        const err =
          ((await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } })
            .error;
        throw new ApiError(
          response.status,
          err?.code ?? `HTTP_${response.status}`,
          err?.message ?? `HTTP ${response.status}`,
        );
      }
      for await (const event of readServerSentEvents(response.body)) {
        if (event.event === "log") yield JSON.parse(event.data) as LogChunk;
      }
    },
  };
}
