/**
 * The sources of one Authentik instance: `users` (`/core/users/`) and
 * `groups` (`/core/groups/`, each with its direct users and parents, so no
 * per-group source is needed). Pages are numbered: the page token is the page
 * number, and the next one is Authentik's `pagination.next` (0 on the last
 * page). Numbered pages shift when the listing changes while it is read (a
 * user deleted on page 1 moves the first user of page 2 onto page 1, unread),
 * so each page's `pagination.count` is checked against the first page's: a
 * different count ends the source with `PAGE_TOKEN_EXPIRED`, and the engine
 * reads it again from the first page.
 *
 * @module
 */
import { TransientError } from "../../machines/errors.ts";
import { PAGE_TOKEN_EXPIRED, type SyncSource } from "../sync/port.ts";
import type { DirectoryCovers, DirectoryEntry } from "../sync/directory.ts";
import type { AuthentikAnswer, AuthentikClient } from "./client.ts";
import { groupOf, identityOf } from "./entries.ts";

type Source = SyncSource<DirectoryEntry, DirectoryCovers>;

const defined = <T>(value: T | undefined): value is T => value !== undefined;

function listing(
  name: string,
  covers: DirectoryCovers,
  fetch: (page: number, signal: AbortSignal) => Promise<AuthentikAnswer>,
  map: (item: unknown) => DirectoryEntry | undefined,
): Source {
  /** The listing's size when its first page was read. */
  let firstCount: unknown;
  return {
    name,
    covers,
    async fetchPage(token, signal) {
      const page = token === undefined ? 1 : Number(token);
      const { body } = await fetch(page, signal);
      const b = (typeof body === "object" && body !== null ? body : {}) as {
        results?: unknown;
        pagination?: { next?: unknown; count?: unknown };
      };
      const count = b.pagination?.count;
      if (page === 1) firstCount = count;
      else if (firstCount !== undefined && count !== firstCount) {
        throw new TransientError(
          `Authentik ${name} changed while it was read (${String(firstCount)} then ${
            String(count)
          } entries): reading it again`,
          { code: PAGE_TOKEN_EXPIRED },
        );
      }
      const items = (Array.isArray(b.results) ? b.results : []).map(map).filter(defined);
      const next = Number(b.pagination?.next ?? 0);
      return Number.isInteger(next) && next > page ? { items, next: String(next) } : { items };
    },
  };
}

/** The planned sources of an instance. */
export function instanceSources(client: AuthentikClient, pageSize: number): Source[] {
  return [
    listing(
      "users",
      { types: ["identity"] },
      (page, signal) => client.listUsers(page, pageSize, signal),
      identityOf,
    ),
    // Groups carry their members and parents: a complete listing vouches for every edge.
    listing(
      "groups",
      { types: ["group", "membership"] },
      (page, signal) => client.listGroups(page, pageSize, signal),
      groupOf,
    ),
  ];
}
