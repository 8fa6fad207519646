/**
 * The CLI's directory commands: `troupe identities [list|show]`, `troupe groups
 * [list|members|add-member|remove-member]`. They speak the HTTP API's routes
 * (actors/gateway/directory-routes.ts), over HTTP or, with NATS_URL,
 * in-process against a local core: one code path either way.
 *
 * A group is named by its id, or by its name when that is unique; an
 * identity by its id, or by its username or email in the group's directory.
 * Where there is nothing to show, a sentence says so.
 *
 * @module
 */
import type { Command } from "commander";
import { PermanentError } from "../../machines/errors.ts";
import { positiveInt } from "./options.ts";
import type { ApiCall } from "./jobs-client.ts";

/** What the commands need from main.ts (the same as the inventory commands'). */
export interface DirectoryCommandDeps {
  withApi<T>(fn: (call: ApiCall) => Promise<T>): Promise<T>;
  /** Prints a line with its control characters escaped (printable.ts), or a value as JSON. */
  print(value: unknown): void;
}

type Json = Record<string, unknown>;
type Page<K extends string> = { [key in K]: Json[] } & { nextCursor: string | null };

const usage = (message: string) => new PermanentError(message, { code: "BAD_USAGE" });
const enc = encodeURIComponent;
const isId = (text: string) => /^\d{1,15}$/.test(text);

function identityLine(i: Json): string {
  return `${String(i.id).padStart(6)}  ${String(i.provider).padEnd(16)} ${String(i.scope).padEnd(18)} ${
    String(i.kind === "service_account" ? "service" : "user").padEnd(7)
  } ${String(i.status).padEnd(13)} ${i.username ?? i.externalId}${i.email ? ` <${i.email}>` : ""}${
    i.deletedAt ? "  (deleted)" : ""
  }`;
}

function groupLine(g: Json): string {
  const count = g.directMembers === undefined ? "" : `  ${g.directMembers} direct member(s)`;
  return `${String(g.id).padStart(6)}  ${String(g.provider).padEnd(16)} ${
    String(g.scope).padEnd(18)
  } ${g.name}${count}${g.deletedAt ? "  (deleted)" : ""}`;
}

/** Query string of the options that are set. */
function queryOf(opts: Json, keys: string[]): URLSearchParams {
  const query = new URLSearchParams();
  for (const key of keys) if (opts[key] !== undefined) query.set(key, String(opts[key]));
  return query;
}

/** A group from its id or its name, when the name is unique. */
async function resolveGroup(call: ApiCall, name: string): Promise<Json> {
  if (isId(name)) {
    return await call<Json>("GET", `/groups/${name}/members?limit=1`).then((r) => r.group as Json);
  }
  const { groups } = await call<Page<"groups">>("GET", `/groups?q=${enc(name)}&limit=1000`);
  const exact = groups.filter((g) => g.name === name);
  if (exact.length === 1) return exact[0]!;
  if (exact.length === 0) throw usage(`No group is named "${name}": list them with troupe groups`);
  throw usage(
    `${exact.length} groups are named "${name}": use an id (${
      exact.slice(0, 5).map((g) => `${g.id} in ${g.provider} "${g.scope}"`).join(", ")
    })`,
  );
}

/** An identity's id from an id, or a username or email in the group's directory. */
async function resolveIdentity(call: ApiCall, name: string, group: Json): Promise<number> {
  if (isId(name)) return Number(name);
  const by = name.includes("@") ? "email" : "username";
  const query = new URLSearchParams({
    [by]: name,
    provider: String(group.provider),
    scope: String(group.scope),
  });
  const { identities } = await call<Page<"identities">>("GET", `/identities?${query}`);
  if (identities.length === 1) return Number(identities[0]!.id);
  if (identities.length === 0) {
    throw usage(`No identity with ${by} "${name}" in ${group.provider} "${group.scope}"`);
  }
  throw usage(`${identities.length} identities have ${by} "${name}": use an id`);
}

/** Adds the commands to `program`. */
export function addDirectoryCommands(program: Command, deps: DirectoryCommandDeps): void {
  const { withApi, print } = deps;
  const limit = ["--limit <n>", "at most (1-1000)", (v: string) => positiveInt(v, "--limit"), 100] as const;

  const identities = program.command("identities").description(
    "Users and service accounts of the identity providers (LDAP, Google Workspace, Okta, Authentik, Kubernetes)",
  );
  identities.command("list", { isDefault: true })
    .description("List identities (live unless --state)")
    .option("--provider <provider>", "ldap, google_workspace, okta, authentik or kubernetes")
    .option("--scope <scope>", "directory, tenant or cluster")
    .option("--kind <kind>", "user or service_account")
    .option("--status <status>", "active, suspended or deprovisioned")
    .option("--q <text>", "username, email or name contains (case-insensitive)")
    .option("--username <name>")
    .option("--email <address>")
    .option("--organization <id>", "in this organization (OU, org unit)")
    .option("--state <state>", "live, deleted or all")
    .option("--cursor <cursor>", "the next page, from a --json listing")
    .option(...limit)
    .option("--json", "print JSON")
    .action(async (opts: Json) => {
      const keys = ["provider", "scope", "kind", "status", "q", "username", "email", "organization", "state"];
      const query = queryOf(opts, [...keys, "cursor", "limit"]);
      await withApi(async (call) => {
        const page = await call<Page<"identities">>("GET", `/identities?${query}`);
        if (opts.json) return print(page);
        const filtered = keys.some((k) => opts[k] !== undefined);
        if (page.identities.length === 0) return print(filtered ? "No identities match" : "No identities");
        for (const identity of page.identities) print(identityLine(identity));
        if (page.nextCursor) print(`... more: --cursor ${page.nextCursor}`);
      });
    });

  identities.command("show")
    .description("Show an identity and its groups, direct and through nested groups")
    .argument("<id>")
    .option("--json", "print JSON")
    .action(async (id: string, opts: { json?: boolean }) => {
      if (!isId(id)) throw usage(`<id> must be an identity id (a whole number), got "${id}"`);
      await withApi(async (call) => {
        const identity = await call<Json & { groups: Json[] }>("GET", `/identities/${id}`);
        if (opts.json) return print(identity);
        print(identityLine(identity));
        const who = String(identity.username ?? identity.externalId);
        if (identity.groups.length === 0) return print(`${who} is in no group`);
        for (const g of identity.groups) {
          print(`  in ${g.name} (${g.direct ? "direct" : "through a nested group"}, group ${g.id})`);
        }
      });
    });

  const groups = program.command("groups").description(
    "Groups of the identity providers (and Kubernetes RBAC grants); add or remove Okta and Authentik members",
  );
  groups.command("list", { isDefault: true })
    .description("List groups (live unless --state)")
    .option("--provider <provider>", "ldap, google_workspace, okta, authentik or kubernetes")
    .option("--scope <scope>")
    .option("--q <text>", "name contains (case-insensitive)")
    .option("--state <state>", "live, deleted or all")
    .option("--cursor <cursor>")
    .option(...limit)
    .option("--json", "print JSON")
    .action(async (opts: Json) => {
      const keys = ["provider", "scope", "q", "state"];
      const query = queryOf(opts, [...keys, "cursor", "limit"]);
      await withApi(async (call) => {
        const page = await call<Page<"groups">>("GET", `/groups?${query}`);
        if (opts.json) return print(page);
        const filtered = keys.some((k) => opts[k] !== undefined);
        if (page.groups.length === 0) return print(filtered ? "No groups match" : "No groups");
        for (const group of page.groups) print(groupLine(group));
        if (page.nextCursor) print(`... more: --cursor ${page.nextCursor}`);
      });
    });

  groups.command("members")
    .description("A group's members, direct and through nested groups, and its pending changes")
    .argument("<group>", "group id, or its name if unique")
    .option("--direct", "only direct members")
    .option("--cursor <cursor>")
    .option(...limit)
    .option("--json", "print JSON")
    .action(
      async (name: string, opts: { direct?: boolean; cursor?: string; limit: number; json?: boolean }) => {
        await withApi(async (call) => {
          const group = await resolveGroup(call, name);
          const query = queryOf({ ...opts, direct: opts.direct ? "true" : undefined }, [
            "direct",
            "cursor",
            "limit",
          ]);
          const page = await call<Page<"members"> & { groups: Json[]; pending: Json[] }>(
            "GET",
            `/groups/${group.id}/members?${query}`,
          );
          if (opts.json) return print(page);
          if (page.members.length === 0 && page.groups.length === 0) print(`${group.name} has no members`);
          for (const m of page.members) {
            print(`${identityLine(m)}  ${m.direct ? "direct" : "through a nested group"}`);
          }
          for (const g of page.groups) print(`group  ${g.name} (group ${g.id})`);
          for (const c of page.pending) {
            print(
              `${c.status} ${c.operation} ${
                c.identityUsername ?? c.identityExternalId
              } (change ${c.id}, job ${c.jobId})`,
            );
          }
          if (page.nextCursor) print(`... more: --cursor ${page.nextCursor}`);
        });
      },
    );

  const change = (operation: "add" | "remove") => async (groupName: string, identityName: string) => {
    await withApi(async (call) => {
      const group = await resolveGroup(call, groupName);
      const identityId = await resolveIdentity(call, identityName, group);
      const { job, change } = await call<{ job: string; change: number }>(
        operation === "add" ? "PUT" : "DELETE",
        `/groups/${group.id}/members/${identityId}`,
      );
      print(
        `Requested: ${operation} ${identityName} ${
          operation === "add" ? "to" : "from"
        } ${group.name} (change ${change}, job ${job}); it applies when ${group.provider} confirms: troupe watch ${job}`,
      );
    });
  };
  groups.command("add-member")
    .description("Add an identity to an Okta or Authentik group (a writeback job)")
    .argument("<group>", "group id, or its name if unique")
    .argument("<identity>", "identity id, username or email")
    .action(change("add"));
  groups.command("remove-member")
    .description("Remove an identity from an Okta or Authentik group (a writeback job)")
    .argument("<group>", "group id, or its name if unique")
    .argument("<identity>", "identity id, username or email")
    .action(change("remove"));
}
