/**
 * Subject and stream names. The root token is the namespace (`TROUPE_NAMESPACE`,
 * default `troupe`); stream names derive from it, so several installations or test
 * runs can share one NATS server without touching each other.
 *
 * @module
 */
import { ValidationError } from "../machines/errors.ts";

/** Default namespace. */
export const DEFAULT_NAMESPACE = "troupe";

/** Characters a subject token may not contain: wildcards, whitespace, separators. */
// deno-lint-ignore no-control-regex -- NUL is exactly what it refuses
const BAD_TOKEN = /[\s*>.\u0000]/;
const NAMESPACE_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Control characters (C0, DEL, C1, NUL among them): a terminal would obey them. */
// deno-lint-ignore no-control-regex -- control characters are exactly what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The refusal of a value holding a control character: says where, never echoes the value. */
function controlCharacterError(what: string, value: string, field: string): ValidationError | undefined {
  const at = value.search(CONTROL);
  if (at < 0) return undefined;
  const code = value.charCodeAt(at).toString(16).toUpperCase().padStart(4, "0");
  return new ValidationError(
    `Invalid ${what}: it contains the control character U+${code} at position ${at}`,
    { field },
  );
}

/** Subjects and streams of one namespace. */
export interface Subjects {
  namespace: string;
  /** `<ns>.jobs.<kind>` */
  job(kind: string): string;
  /** `<ns>.jobs.>` */
  jobsFilter: string;
  /** `<ns>.events.<jobId>` */
  event(jobId: string): string;
  eventsFilter: string;
  /** `<ns>.logs.<jobId>` */
  log(jobId: string): string;
  logsFilter: string;
  /** Prefix of job subjects, `<ns>.jobs.` */
  jobPrefix: string;
  streams: { jobs: string; events: string; logs: string };
  /** `<ns>.agent.<name>.<verb>`: an agent's control subjects (run, stop, status, heartbeat). */
  agent(name: string, verb: string): string;
  /** Every agent's heartbeats: `<ns>.agent.*.heartbeat`. */
  agentHeartbeats: string;
  /** The kind of a job subject, or undefined when `subject` is not one. */
  kindOf(subject: string): string | undefined;
}

/** Throws a {@link ValidationError} unless `ns` is a usable namespace. */
export function validateNamespace(ns: string): string {
  if (!NAMESPACE_RE.test(ns)) {
    throw new ValidationError(
      `Invalid namespace "${ns}": use 1-64 letters, digits, "_" or "-"`,
      { field: "TROUPE_NAMESPACE" },
    );
  }
  return ns;
}

/**
 * Validates a kind: dot-separated tokens of letters, digits, `_` and `-`
 * (so `aws.iam.policy` is fine, `a.*`, `a b` or a control character are not).
 */
export function validateKind(kind: string): string {
  const control = typeof kind === "string" ? controlCharacterError("kind", kind, "kind") : undefined;
  if (control) throw control;
  if (
    typeof kind !== "string" || kind.length === 0 || kind.length > 128 ||
    !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(kind)
  ) {
    throw new ValidationError(
      `Invalid kind "${String(kind).slice(0, 140)}": use dot-separated letters, digits, "_" or "-"`,
      { field: "kind" },
    );
  }
  return kind;
}

/**
 * Validates a job id: one subject token, no wildcards, dots, whitespace or control
 * characters, at most 200 characters.
 */
export function validateJobId(id: string): string {
  const control = typeof id === "string" ? controlCharacterError("job id", id, "id") : undefined;
  if (control) throw control;
  if (typeof id !== "string" || id.length === 0 || id.length > 200 || BAD_TOKEN.test(id)) {
    throw new ValidationError(
      `Invalid job id "${
        String(id).slice(0, 210)
      }": use at most 200 characters without spaces, ".", "*" or ">"`,
      { field: "id" },
    );
  }
  return id;
}

/** Validates an agent name: 1-64 letters, digits, `_` or `-` (one subject token). */
export function validateAgentName(name: string): string {
  if (typeof name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new ValidationError(
      `Invalid agent name "${String(name).slice(0, 80)}": use 1-64 letters, digits, "_" or "-"`,
      { field: "agent" },
    );
  }
  return name;
}

/** Builds the subjects and stream names of namespace `ns`. */
export function subjectsFor(ns: string = DEFAULT_NAMESPACE): Subjects {
  validateNamespace(ns);
  const upper = ns.toUpperCase().replace(/-/g, "_");
  const jobPrefix = `${ns}.jobs.`;
  return {
    namespace: ns,
    job: (kind) => `${jobPrefix}${validateKind(kind)}`,
    jobsFilter: `${ns}.jobs.>`,
    event: (jobId) => `${ns}.events.${validateJobId(jobId)}`,
    eventsFilter: `${ns}.events.>`,
    log: (jobId) => `${ns}.logs.${validateJobId(jobId)}`,
    logsFilter: `${ns}.logs.>`,
    jobPrefix,
    streams: { jobs: `${upper}_JOBS`, events: `${upper}_EVENTS`, logs: `${upper}_LOGS` },
    agent: (name, verb) => `${ns}.agent.${validateAgentName(name)}.${verb}`,
    agentHeartbeats: `${ns}.agent.*.heartbeat`,
    kindOf: (subject) => subject.startsWith(jobPrefix) ? subject.slice(jobPrefix.length) : undefined,
  };
}
