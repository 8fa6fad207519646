/**
 * Classifies what the store throws, for callers that must choose between trying
 * again and giving up on one row: a *data* error will fail the same way every
 * time (PostgreSQL's SQLSTATE class 22 "data exception", e.g. 22P05 U+0000 in
 * jsonb, 22021 a bad byte sequence, 22P02 bad JSON input; class 54 "program
 * limit exceeded", e.g. 54001 stack depth; or a value JavaScript cannot encode);
 * a *transient* one may pass later (connection lost, server shutting down, out of
 * resources, serialization failure, deadlock); anything else is *other*.
 *
 * Same codes from postgres.js (`PostgresError.code`) and PGlite (`DatabaseError.code`).
 *
 * @module
 */

/** How a store error behaves if the same statement runs again. */
export type StoreErrorKind = "data" | "transient" | "other";

/** postgres.js and Node socket codes of a lost or refused connection. */
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const SQLSTATE = /^[0-9A-Z]{5}$/;

/** See the module header. */
export function classifyStoreError(error: unknown): StoreErrorKind {
  if (error instanceof RangeError) return "data";
  if (error instanceof TypeError && /JSON|BigInt|circular/i.test(error.message)) return "data";
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    if (CONNECTION_CODES.has(code)) return "transient";
    if (SQLSTATE.test(code)) {
      const kind = code.slice(0, 2);
      if (kind === "22" || kind === "54") return "data";
      if (kind === "08" || kind === "53" || kind === "57" || code === "40001" || code === "40P01") {
        return "transient";
      }
      return "other";
    }
  }
  if (error instanceof Error && /PGlite is closed|connection/i.test(error.message)) return "transient";
  return "other";
}
