/**
 * The sources of one LDAP sync, read in an order that makes each find the
 * DNs it refers to already in the run's index (directory-index.ts):
 *
 * 1. `organizations`: the OUs; an OU's parent is the nearest OU above it
 *    (an ancestor not read yet is looked up once by DN);
 * 2. revealed together by the last page of organizations, read at once:
 *    `users` (each user's organization is the nearest OU above it; DN and
 *    username are indexed) and `group index` (every group's DN and id, no
 *    items);
 * 3. `groups`, revealed by whichever of those two completes last: the groups
 *    with their members, resolved through the index to external ids:
 *    `member`, `uniqueMember` (ranged on AD), posixGroup's `memberUid` by
 *    username, and AD's `memberOf` as parents. A member DN the run did not
 *    read (outside the base or the filters) is left out and counted in the
 *    group's `attributes.unresolvedMembers`.
 *
 * A source that completes hands its connection to the next one (`keep`).
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
  /** A bound session: one a completed source kept, or a new connection. */
  open(signal: AbortSignal): Promise<LdapSession>;
  /** Keeps a completed source's session for the next source. */
  keep(session: LdapSession): Promise<void>;
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
    keep: ctx.keep,
    then: () => {
      // Groups need both the users and every group's DN indexed: the second to complete reveals them.
      let pending = 2;
      const then = () => --pending === 0 ? [groupsSource(ctx)] : [];
      return [usersSource(ctx, then), groupIndexSource(ctx, then)];
    },
  });
}

/** The users. */
export function usersSource(ctx: RunContext, then: () => Source[]): Source {
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
    keep: ctx.keep,
    then,
  });
}

/** Every group's DN and external id, into the index (its pages carry no items). */
export function groupIndexSource(ctx: RunContext, then: () => Source[]): Source {
  const { mapping, index } = ctx;
  return pagedSource({
    name: "group index",
    covers: { types: [] },
    base: ctx.base,
    open: ctx.open,
    secrets: ctx.secrets,
    passes: [{
      search: {
        filter: ctx.filters.groups,
        attributes: [mapping.idAttribute],
        pageSize: ctx.pageSize,
        binaryAttributes: mapping.binaryAttributes,
      },
      // deno-lint-ignore require-await -- a Pass maps asynchronously; indexing needs no lookups
      async map(entries) {
        for (const entry of entries) index.add(entry.dn, "group", mapping.externalId(entry));
        return [];
      },
    }],
    keep: ctx.keep,
    then,
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

/** The groups with their members (after the users and the group index). */
export function groupsSource(ctx: RunContext): Source {
  const { mapping, index } = ctx;
  return pagedSource({
    name: "groups",
    covers: { types: ["group"] },
    base: ctx.base,
    open: ctx.open,
    secrets: ctx.secrets,
    passes: [{
      search: {
        filter: ctx.filters.groups,
        attributes: mapping.groupAttributes,
        pageSize: ctx.pageSize,
        binaryAttributes: mapping.binaryAttributes,
      },
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
    }],
  });
}
