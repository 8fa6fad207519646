/**
 * The three sources of one LDAP sync, read one after the other so that each
 * finds the DNs it refers to already in the run's index (directory-index.ts):
 *
 * 1. `organizations`: the OUs; an OU's parent is the nearest OU above it
 *    (an ancestor not read yet is looked up once by DN);
 * 2. `users`, revealed by the last page of organizations: each user's
 *    organization is the nearest OU above it; DN and username are indexed;
 * 3. `groups`, revealed by the last page of users: a first pass reads only
 *    every group's DN and id (no items), the second the groups with their
 *    members, resolved through the index to external ids: `member`,
 *    `uniqueMember` (ranged on AD), posixGroup's `memberUid` by username, and
 *    AD's `memberOf` as parents. A member DN the run did not read (outside
 *    the base or the filters) is left out and counted in the group's
 *    `attributes.unresolvedMembers`.
 *
 * @module
 */
import type { DirectoryCovers, DirectoryEntry, MemberRef } from "../sync/directory.ts";
import type { SyncSource } from "../sync/port.ts";
import { values } from "./attributes.ts";
import type { LdapEntry, LdapSession } from "./client.ts";
import type { DirectoryIndex } from "./directory-index.ts";
import type { DirectoryMapping } from "./mapping.ts";
import { pagedSource } from "./paged-source.ts";
import { rangedValues } from "./ranged-values.ts";

/** What the sources of one run share. */
export interface RunContext {
  base: string;
  mapping: DirectoryMapping;
  filters: { users: string; groups: string; organizations: string };
  pageSize: number;
  index: DirectoryIndex;
  /** Opens a bound session (a new connection). */
  open(signal: AbortSignal): Promise<LdapSession>;
  secrets: readonly string[];
}

type Source = SyncSource<DirectoryEntry, DirectoryCovers>;

/** uniqueMember values may end in an optional unique identifier: `cn=a,dc=x#'0101'B`. */
const UID_SUFFIX = /#'[01]*'B$/;

/** The nearest OU above `dn`, looking up (once) ancestors the index does not know. */
async function organizationOf(ctx: RunContext, dn: string, session: LdapSession): Promise<string | null> {
  for (const ancestor of ctx.index.ancestors(dn)) {
    if (ancestor.organization) return ancestor.organization;
    if (ancestor.organization === false) continue;
    const entry = await session.read(ancestor.dn, [ctx.mapping.idAttribute], {
      filter: ctx.filters.organizations,
      binaryAttributes: ctx.mapping.binaryAttributes,
    });
    if (!entry) {
      ctx.index.addNotOrganization(ancestor.dn);
      continue;
    }
    const id = ctx.mapping.externalId(entry);
    ctx.index.add(ancestor.dn, "organization", id);
    return id;
  }
  return null;
}

/** The OUs; reveals the users source. */
export function organizationsSource(ctx: RunContext): Source {
  const { mapping } = ctx;
  return pagedSource({
    name: "organizations",
    covers: { types: ["organization"] },
    base: ctx.base,
    open: ctx.open,
    secrets: ctx.secrets,
    passes: [{
      search: {
        filter: ctx.filters.organizations,
        attributes: mapping.organizationAttributes,
        pageSize: ctx.pageSize,
        binaryAttributes: mapping.binaryAttributes,
      },
      async map(entries, session) {
        for (const entry of entries) ctx.index.add(entry.dn, "organization", mapping.externalId(entry));
        const out: DirectoryEntry[] = [];
        for (const entry of entries) {
          out.push(mapping.organization(entry, await organizationOf(ctx, entry.dn, session)));
        }
        return out;
      },
    }],
    then: () => [usersSource(ctx)],
  });
}

/** The users; reveals the groups source. */
export function usersSource(ctx: RunContext): Source {
  const { mapping } = ctx;
  return pagedSource({
    name: "users",
    covers: { types: ["identity"] },
    base: ctx.base,
    open: ctx.open,
    secrets: ctx.secrets,
    passes: [{
      search: {
        filter: ctx.filters.users,
        attributes: mapping.userAttributes,
        pageSize: ctx.pageSize,
        binaryAttributes: mapping.binaryAttributes,
      },
      // deno-lint-ignore require-await -- a Pass maps asynchronously; users need no lookups
      async map(entries) {
        return entries.map((entry) => {
          const identity = mapping.identity(entry, ctx.index.organizationOf(entry.dn));
          ctx.index.add(entry.dn, "identity", identity.externalId);
          const username = mapping.username(entry);
          if (username) ctx.index.addUsername(username, identity.externalId);
          return identity;
        });
      },
    }],
    then: () => [groupsSource(ctx)],
  });
}

/** A group's direct members by external id, and how many named nobody the run read. */
async function membersOf(
  ctx: RunContext,
  entry: LdapEntry,
  session: LdapSession,
): Promise<{ members: MemberRef[]; unresolved: number }> {
  const { mapping, index } = ctx;
  const seen = new Set<string>();
  const members: MemberRef[] = [];
  let unresolved = 0;
  const add = (memberType: MemberRef["memberType"], externalId: string) => {
    const key = `${memberType}:${externalId}`;
    if (seen.has(key)) return;
    seen.add(key);
    members.push({ memberType, externalId });
  };
  const read = (dn: string, attributes: string[]) => session.read(dn, attributes);
  for (const attribute of mapping.memberAttributes) {
    for (const value of await rangedValues(entry, attribute, read)) {
      const found = index.get(value.replace(UID_SUFFIX, ""));
      if (found?.kind === "identity") add("identity", found.id);
      else if (found?.kind === "group") add("group", found.id);
      else unresolved++;
    }
  }
  if (mapping.memberUidAttribute) {
    for (const username of values(entry, mapping.memberUidAttribute)) {
      const id = index.byUsername(username.trim());
      if (id) add("identity", id);
      else unresolved++;
    }
  }
  return { members, unresolved };
}

/** The groups: every DN first (no items), then the groups with their members. */
export function groupsSource(ctx: RunContext): Source {
  const { mapping, index } = ctx;
  const search = (attributes: string[]) => ({
    filter: ctx.filters.groups,
    attributes,
    pageSize: ctx.pageSize,
    binaryAttributes: mapping.binaryAttributes,
  });
  return pagedSource({
    name: "groups",
    covers: { types: ["group"] },
    base: ctx.base,
    open: ctx.open,
    secrets: ctx.secrets,
    passes: [
      {
        search: search([mapping.idAttribute]),
        // deno-lint-ignore require-await -- a Pass maps asynchronously; indexing needs no lookups
        async map(entries) {
          for (const entry of entries) index.add(entry.dn, "group", mapping.externalId(entry));
          return [];
        },
      },
      {
        search: search(mapping.groupAttributes),
        async map(entries, session) {
          const out: DirectoryEntry[] = [];
          for (const entry of entries) {
            const { members, unresolved } = await membersOf(ctx, entry, session);
            const parents = mapping.parentAttribute
              ? values(entry, mapping.parentAttribute).flatMap((dn) => {
                const found = index.get(dn);
                return found?.kind === "group" ? [found.id] : [];
              })
              : null;
            out.push(mapping.group(entry, members, parents, unresolved));
          }
          return out;
        },
      },
    ],
  });
}
