/**
 * Mutual TLS for the HTTP API: the client certificate must chain to
 * `TLS_CLIENT_CA` and be valid now; its role is its subject's OU (admin or
 * viewer, case-insensitive; an OU may be a list). Any other OU is denied
 * everything.
 *
 * The handshake asks for a certificate but lets every client through, so that
 * probes reach /healthz; each request is then checked. Node verifies the chain in
 * the handshake and reports it (`authorized`, `authorizationError`). Deno's
 * `node:https` shows the peer certificate but does not verify it (seen with Deno
 * 2.9: `authorized` stays false), so there this module verifies the issuer, the
 * signature and the validity itself with `X509Certificate`.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { Context } from "hono";
import { Role } from "./role.ts";

const isDeno = "Deno" in globalThis;

/** What the gateway learns from a connection's client certificate. */
export interface ClientIdentity {
  /** The certificate chained to the CA and is valid now. */
  verified: boolean;
  /** The role from the OU, when it names one we know. */
  role: Role | undefined;
  /** The subject, for the audit trail (`CN=alice,OU=admin`). */
  subject: string;
  /** Why it is not verified. */
  problem?: string;
}

/** The TLS socket under a request served by @hono/node-server, if any. */
function socketOf(c: Context): TLSSocket | undefined {
  const env = c.env as { incoming?: { socket?: unknown } } | undefined;
  const socket = env?.incoming?.socket as TLSSocket | undefined;
  return socket && typeof socket.getPeerCertificate === "function" ? socket : undefined;
}

/** The role an OU names: admin or viewer (case-insensitive); the most allowed when it is a list. */
export function roleFromOu(ou: string | string[] | undefined): Role | undefined {
  const units = ([] as string[]).concat(ou ?? []).map((u) => u.trim().toLowerCase());
  if (units.includes(Role.admin)) return Role.admin;
  if (units.includes(Role.viewer)) return Role.viewer;
  return undefined;
}

const SUBJECT_ORDER = ["CN", "OU", "O", "L", "ST", "C"];

/** `CN=alice,OU=admin`: a fixed field order, whatever order the runtime lists them in. */
export function describeSubject(subject: Record<string, string | string[]> | undefined): string {
  const rank = (
    key: string,
  ) => (SUBJECT_ORDER.includes(key) ? SUBJECT_ORDER.indexOf(key) : SUBJECT_ORDER.length);
  return Object.entries(subject ?? {})
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([key, value]) => `${key}=${([] as string[]).concat(value).join("+")}`)
    .join(",");
}

/** Checks `cert` against `ca` by hand: issued by it, signed by its key, valid at `now`. */
export function verifyAgainstCa(cert: X509Certificate, ca: X509Certificate, now: Date): string | undefined {
  if (!cert.checkIssued(ca)) return "not issued by the configured client CA";
  if (!cert.verify(ca.publicKey)) return "signature does not verify against the client CA";
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) return "not valid at this time";
  if (now < new Date(ca.validFrom) || now > new Date(ca.validTo)) {
    return "the client CA is not valid at this time";
  }
  return undefined;
}

/** Reads and checks the request's client certificate; undefined when there is none. */
export function clientIdentity(
  c: Context,
  ca: X509Certificate,
  options: { now?: Date } = {},
): ClientIdentity | undefined {
  const socket = socketOf(c);
  if (!socket) return undefined;
  const peer = socket.getPeerCertificate(true);
  if (!peer || !peer.raw || Object.keys(peer).length === 0) return undefined;
  const subject = describeSubject(peer.subject as unknown as Record<string, string | string[]> | undefined);
  let problem: string | undefined;
  if (isDeno) {
    try {
      problem = verifyAgainstCa(new X509Certificate(peer.raw), ca, options.now ?? new Date());
    } catch {
      problem = "unreadable certificate";
    }
  } else if (!socket.authorized) {
    problem = `not verified (${String(socket.authorizationError ?? "unknown reason")})`;
  }
  const role = roleFromOu(peer.subject?.OU as string | string[] | undefined);
  return { verified: problem === undefined, role, subject, ...(problem ? { problem } : {}) };
}
