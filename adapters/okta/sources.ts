/**
 * The sources of one Okta org:
 *
 * - `users`: `GET /api/v1/users?limit=200`, every user but the deprovisioned
 *   (Okta leaves those out of the plain listing);
 * - `users deprovisioned`: `GET /api/v1/users?search=status eq "DEPROVISIONED"`;
 * - `groups`: `GET /api/v1/groups?limit=200`; each page reveals one members
 *   source per group ({@link SyncPage.more});
 * - `group <id>/users`: `GET /api/v1/groups/{id}/users?limit=200`, one
 *   membership edge per user.
 *
 * Pages follow the `Link: <…>; rel="next"` header; the page token is the next
 * link's path and query (with its `after` cursor), so a retried page is the
 * same request. The first page's query is built here; later ones are Okta's.
 *
 * @module
 */
import type { SyncSource } from "../sync/port.ts";
import type { DirectoryCovers, DirectoryEntry } from "../sync/directory.ts";
import type { OktaClient } from "./client.ts";
import { groupOf, identityOf, membershipOf } from "./entries.ts";

/** Rate-limit buckets: Okta counts each endpoint family apart. */
export const BUCKETS = {
  users: "GET /api/v1/users",
  groups: "GET /api/v1/groups",
  groupUsers: "GET /api/v1/groups/{id}/users",
  userGroups: "GET /api/v1/users/{id}/groups",
  membership: "PUT|DELETE /api/v1/groups/{id}/users/{id}",
} as const;

type Source = SyncSource<DirectoryEntry, DirectoryCovers>;

const asList = (body: unknown): unknown[] => (Array.isArray(body) ? body : []);
const defined = <T>(value: T | undefined): value is T => value !== undefined;

function listing(
  client: OktaClient,
  name: string,
  covers: DirectoryCovers,
  bucket: string,
  first: string,
  map: (item: unknown) => DirectoryEntry | undefined,
  more?: (items: DirectoryEntry[]) => Source[],
): Source {
  return {
    name,
    covers,
    async fetchPage(token, signal) {
      const answer = await client.request("GET", token ?? first, bucket, signal);
      const items = asList(answer.body).map(map).filter(defined);
      const revealed = more?.(items) ?? [];
      return {
        items,
        ...(answer.next ? { next: answer.next } : {}),
        ...(revealed.length > 0 ? { more: revealed } : {}),
      };
    },
  };
}

/** The members source of one group. */
export function membersSource(client: OktaClient, groupId: string, pageSize: number): Source {
  return listing(
    client,
    `group ${groupId}/users`,
    { types: ["membership"] },
    BUCKETS.groupUsers,
    `/api/v1/groups/${encodeURIComponent(groupId)}/users?limit=${pageSize}`,
    (user) => membershipOf(groupId, user),
  );
}

/** The planned sources of an org. */
export function orgSources(client: OktaClient, pageSize: number): Source[] {
  const deprovisioned = new URLSearchParams({ search: 'status eq "DEPROVISIONED"', limit: String(pageSize) });
  return [
    listing(
      client,
      "users",
      { types: ["identity"] },
      BUCKETS.users,
      `/api/v1/users?limit=${pageSize}`,
      identityOf,
    ),
    listing(
      client,
      "users deprovisioned",
      { types: ["identity"] },
      BUCKETS.users,
      `/api/v1/users?${deprovisioned}`,
      identityOf,
    ),
    listing(
      client,
      "groups",
      // Complete, it read every group and revealed every members source: it vouches for the edges too.
      { types: ["group", "membership"] },
      BUCKETS.groups,
      `/api/v1/groups?limit=${pageSize}`,
      groupOf,
      (groups) => groups.map((group) => membersSource(client, group.externalId, pageSize)),
    ),
  ];
}
