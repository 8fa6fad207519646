/**
 * Test doubles of the directory ports for the SaaS connector tests: an
 * in-memory sink that keeps what the sync engine wrote (the SQL sink is tested
 * by the store's own suite), a fake membership ledger, and a fake clock whose
 * sleeps advance time at once.
 */
import type { DirectoryCovers, DirectoryEntry } from "../../../adapters/sync/directory.ts";
import type { MembershipChangeView, MembershipLedger } from "../../../adapters/sync/directory-ledger.ts";
import type { RunRef, SyncSink } from "../../../adapters/sync/port.ts";

/** A sink that collects every entry by type and external id (memberships by group and member). */
export function memorySink() {
  const identities = new Map<string, Extract<DirectoryEntry, { type: "identity" }>>();
  const groups = new Map<string, Extract<DirectoryEntry, { type: "group" }>>();
  const organizations = new Map<string, Extract<DirectoryEntry, { type: "organization" }>>();
  const memberships = new Set<string>();
  const covers: DirectoryCovers[] = [];
  const sink: SyncSink<DirectoryEntry, DirectoryCovers> = {
    beginRun: () => Promise.resolve({ started: true }),
    upsert(_run: RunRef, items: DirectoryEntry[]) {
      let created = 0;
      for (const item of items) {
        if (item.type === "identity") {
          created += identities.has(item.externalId) ? 0 : 1;
          identities.set(item.externalId, item);
        } else if (item.type === "group") {
          created += groups.has(item.externalId) ? 0 : 1;
          groups.set(item.externalId, item);
          for (const m of item.members ?? []) {
            memberships.add(`${item.externalId} ${m.memberType}:${m.externalId}`);
          }
          for (const parent of item.parentExternalIds ?? []) {
            memberships.add(`${parent} group:${item.externalId}`);
          }
        } else if (item.type === "organization") {
          created += organizations.has(item.externalId) ? 0 : 1;
          organizations.set(item.externalId, item);
        } else memberships.add(`${item.groupExternalId} ${item.memberType}:${item.externalId}`);
      }
      return Promise.resolve({ created, updated: items.length - created });
    },
    markStale(_run: RunRef, seen: DirectoryCovers[]) {
      covers.push(...seen);
      return Promise.resolve(0);
    },
    finishRun: () => Promise.resolve(),
  };
  return { sink, identities, groups, organizations, memberships, covers };
}

/** A ledger of the given changes that records every `applied` call. */
export function fakeLedger(changes: MembershipChangeView[]) {
  const applied: { changeId: number; requestId?: string }[] = [];
  const ledger: MembershipLedger = {
    get: (id) => Promise.resolve(changes.find((c) => c.id === id) ?? null),
    applied(changeId, info) {
      applied.push({ changeId, ...info });
      return Promise.resolve();
    },
  };
  return { ledger, applied, changes };
}

/** A clock starting at `start` whose sleeps advance it instantly (abortably); `slept` sums them. */
export function fakeClock(start = Date.parse("2026-01-05T10:00:00.000Z")) {
  const clock = {
    t: start,
    slept: 0,
    now: () => clock.t,
    sleep(ms: number, signal: AbortSignal): Promise<void> {
      if (signal.aborted) return Promise.reject(signal.reason);
      clock.t += Math.max(0, ms);
      clock.slept += Math.max(0, ms);
      return new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
  return clock;
}

/** Asserts helper: `text` contains none of `secrets`. */
export function leaks(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((secret) => secret.length > 0 && text.includes(secret));
}

/** Everything an error could show: message, stack, JSON and its causes. */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const e = current as { message?: unknown; stack?: unknown; cause?: unknown };
    parts.push(String(e.message ?? ""), String(e.stack ?? ""), String(current));
    try {
      parts.push(JSON.stringify(current));
    } catch { /* circular */ }
    current = e.cause;
  }
  return parts.join("\n");
}
