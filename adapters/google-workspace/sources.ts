/**
 * The sources of one Google Workspace account:
 *
 * - `orgunits`: every org unit (`orgunits.list?type=all`, one answer) and the root;
 * - `users`: `users.list`, 500 a page, each user's `orgUnitPath` resolved to
 *   its org unit id through the same org unit listing (read once per run and
 *   shared; a failed read is retried with the page that needed it);
 * - `groups`: `groups.list`, 200 a page; each page reveals one members source
 *   per group;
 * - `group <id>/members`: `members.list`, 200 a page: identity and nesting edges.
 *
 * Page tokens are Google's `nextPageToken`.
 *
 * @module
 */
import type { SyncSource } from "../sync/port.ts";
import type { DirectoryCovers, DirectoryEntry } from "../sync/directory.ts";
import type { DirectoryClient } from "./client.ts";
import { groupOf, identityOf, membershipOf, organizationsOf, orgUnitIndex } from "./entries.ts";

type Source = SyncSource<DirectoryEntry, DirectoryCovers>;
const defined = <T>(value: T | undefined): value is T => value !== undefined;
const page = <T>(items: T[], next: string | null | undefined) => (next ? { items, next } : { items });

/** The org unit listing of a run, read once (again after a failure). */
function orgUnitsOnce(client: DirectoryClient) {
  let pending: Promise<unknown[]> | undefined;
  return (signal: AbortSignal): Promise<unknown[]> => {
    pending ??= client.listOrgUnits(signal).then((data) => data.organizationUnits ?? []);
    pending.catch(() => {
      pending = undefined;
    });
    return pending;
  };
}

/** The members source of one group. */
export function membersSource(client: DirectoryClient, groupId: string): Source {
  return {
    name: `group ${groupId}/members`,
    covers: { types: ["membership"] },
    async fetchPage(token, signal) {
      const data = await client.listMembers(groupId, token, signal);
      return page(
        (data.members ?? []).map((m) => membershipOf(groupId, m)).filter(defined),
        data.nextPageToken,
      );
    },
  };
}

/** The planned sources of an account. */
export function accountSources(client: DirectoryClient): Source[] {
  const orgUnits = orgUnitsOnce(client);
  return [
    {
      name: "orgunits",
      covers: { types: ["organization"] },
      async fetchPage(_token, signal) {
        return { items: organizationsOf(await orgUnits(signal)) };
      },
    },
    {
      name: "users",
      covers: { types: ["identity"] },
      async fetchPage(token, signal) {
        const [data, units] = await Promise.all([client.listUsers(token, signal), orgUnits(signal)]);
        const index = orgUnitIndex(units);
        const items = (data.users ?? []).map((u) => identityOf(u, (path) => index.get(path) ?? null)).filter(
          defined,
        );
        return page(items, data.nextPageToken);
      },
    },
    {
      name: "groups",
      // Complete, it read every group and revealed every members source: it vouches for the edges too.
      covers: { types: ["group", "membership"] },
      async fetchPage(token, signal) {
        const data = await client.listGroups(token, signal);
        const items = (data.groups ?? []).map(groupOf).filter(defined);
        const more = items.map((group) => membersSource(client, group.externalId));
        return { ...page(items, data.nextPageToken), ...(more.length > 0 ? { more } : {}) };
      },
    },
  ];
}
