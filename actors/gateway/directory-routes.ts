/**
 * HTTP routes of the directory (issue 13, items 6 and 7): reads
 * (`/identities`, `/identities/:id`, `/groups`, `/groups/:id/members`,
 * `/organizations`) and group write-back (`PUT`/`DELETE
 * /groups/:id/members/:identityId`, admin only through the gateway's role
 * check). Every path and query value is validated before SQL: a bad one is a
 * 422 naming the parameter and the rule; an unknown parameter is refused.
 *
 * Write-back records the change, then submits a `writeback.<provider>` job
 * with payload `{changeId}` the way `POST /jobs` does, and answers 202 with
 * both ids. The local membership changes only when the job confirms the
 * provider did it; until then the change shows as pending under
 * `GET /groups/:id/members`.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { z } from "zod";
import type { SqlDirectory } from "../../adapters/postgres/sql-directory.ts";
import {
  changeToJson,
  groupToJson,
  identityToJson,
  organizationToJson,
} from "../../adapters/postgres/directory-rows.ts";
import { DIRECTORY_PROVIDERS } from "../../adapters/sync/directory.ts";
import { ErrorCode, TroupeError, ValidationError } from "../../machines/errors.ts";
import type { JobService } from "../jobs/job-service.ts";
import { limitQuery, parseQueryValue } from "./query-values.ts";

/** Providers Troupe writes group memberships to. */
export const WRITEBACK_PROVIDERS = ["okta", "authentik"] as const;

const text = (max: number) =>
  z.string().min(1, "must not be empty").max(max, `must be at most ${max} characters`);
const rowId = z.string().regex(/^\d{1,16}$/, "must be a whole number").transform(Number).refine(
  (n) => Number.isSafeInteger(n) && n > 0,
  "must be a whole number from 1 to 9007199254740991",
);
const state = z.enum(["live", "deleted", "all"]).optional().describe("Default live");
const paging = {
  state,
  limit: limitQuery(1000).optional(),
  cursor: text(200).optional().describe("The nextCursor of the previous page"),
};

/** `GET /identities` query. */
export const identityQuerySchema = z.strictObject({
  provider: z.enum(DIRECTORY_PROVIDERS).optional(),
  scope: text(256).optional(),
  kind: z.enum(["user", "service_account"]).optional(),
  status: z.enum(["active", "suspended", "deprovisioned"]).optional(),
  q: text(200).optional().describe("Case-insensitive substring of the username, email or display name"),
  username: text(256).optional().describe("Exact, case-insensitive"),
  email: text(256).optional().describe("Exact, case-insensitive"),
  org: text(200).optional(),
  organization: rowId.optional().describe("An organization id"),
  ...paging,
});

/** `GET /groups` query. */
export const groupQuerySchema = z.strictObject({
  provider: z.enum(DIRECTORY_PROVIDERS).optional(),
  scope: text(256).optional(),
  q: text(200).optional().describe("Case-insensitive substring of the name"),
  org: text(200).optional(),
  ...paging,
});

/** `GET /groups/:id/members` query. */
export const memberQuerySchema = z.strictObject({
  direct: z.enum(["true", "false"]).optional().describe("true: only direct members"),
  ...paging,
});

/** `GET /organizations` query. */
export const organizationQuerySchema = z.strictObject({
  provider: z.enum(DIRECTORY_PROVIDERS).optional(),
  scope: text(256).optional(),
  q: text(200).optional().describe("Case-insensitive substring of the name"),
  org: text(200).optional(),
  parent: rowId.optional().describe("A parent organization id"),
  ...paging,
});

function parseQuery<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const name = (i: z.core.$ZodIssue) =>
    i.code === "unrecognized_keys" ? i.keys.join(", ") : i.path.map(String).join(".") || "query";
  throw new ValidationError(
    `Invalid query: ${issues.slice(0, 5).map((i) => `${name(i)}: ${i.message}`).join("; ")}`,
    { field: issues[0] ? name(issues[0]) : "query" },
  );
}

/** Drops undefined values (exactOptionalPropertyTypes). */
function defined<T extends Record<string, unknown>>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}

const notFound = (what: string) => new TroupeError(`${what} not found`, { code: ErrorCode.notFound });
const conflict = (message: string) => new TroupeError(message, { code: ErrorCode.conflict });

/** Adds the directory routes to `app`. */
export function addDirectoryRoutes(
  app: Hono,
  options: { directory: SqlDirectory; jobs: Pick<JobService, "submit"> },
): void {
  const { directory, jobs } = options;
  const pathId = (c: Context, name: string, field = name) =>
    parseQueryValue(rowId, c.req.param(name) ?? "", field) as number;

  app.get("/identities", async (c) => {
    const { organization, ...query } = parseQuery(identityQuerySchema, c.req.query());
    const page = await directory.listIdentities(
      defined({ ...query, organizationId: organization }),
    );
    return c.json({ identities: page.identities.map(identityToJson), nextCursor: page.nextCursor ?? null });
  });

  app.get("/identities/:id", async (c) => {
    const id = pathId(c, "id", "identity id");
    const found = await directory.getIdentity(id);
    if (!found) throw notFound(`Identity ${id}`);
    const { groups, ...identity } = found;
    return c.json({
      ...identityToJson(identity),
      groups: groups.map(({ direct, ...group }) => ({ ...groupToJson(group), direct })),
    });
  });

  app.get("/groups", async (c) => {
    const page = await directory.listGroups(defined(parseQuery(groupQuerySchema, c.req.query())));
    return c.json({ groups: page.groups.map(groupToJson), nextCursor: page.nextCursor ?? null });
  });

  app.get("/groups/:id/members", async (c) => {
    const id = pathId(c, "id", "group id");
    const { direct, ...query } = parseQuery(memberQuerySchema, c.req.query());
    const group = await directory.getGroup(id);
    if (!group) throw notFound(`Group ${id}`);
    const page = await directory.listMembers(id, defined({ ...query, direct: direct === "true" }));
    return c.json({
      group: groupToJson(group),
      members: page.members.map(({ direct, ...identity }) => ({ ...identityToJson(identity), direct })),
      groups: page.groups.map(groupToJson),
      pending: page.changes.map(changeToJson),
      nextCursor: page.nextCursor ?? null,
    });
  });

  app.get("/organizations", async (c) => {
    const { parent, ...query } = parseQuery(organizationQuerySchema, c.req.query());
    const page = await directory.listOrganizations(defined({ ...query, parentId: parent }));
    return c.json({
      organizations: page.organizations.map(organizationToJson),
      nextCursor: page.nextCursor ?? null,
    });
  });

  const writeBack = (operation: "add" | "remove") => async (c: Context) => {
    const groupId = pathId(c, "id", "group id");
    const identityId = pathId(c, "identityId", "identity id");
    const group = await directory.getGroup(groupId);
    if (!group) throw notFound(`Group ${groupId}`);
    const identity = await directory.getIdentityRow(identityId);
    if (!identity) throw notFound(`Identity ${identityId}`);
    if (!(WRITEBACK_PROVIDERS as readonly string[]).includes(group.provider)) {
      throw conflict(
        `Group ${groupId} is a ${group.provider} group: Troupe writes memberships back to ${
          WRITEBACK_PROVIDERS.join(" and ")
        } only`,
      );
    }
    if (identity.provider !== group.provider || identity.scope !== group.scope) {
      throw conflict(
        `Identity ${identityId} is in ${identity.provider} "${identity.scope}", group ${groupId} in ${group.provider} "${group.scope}": a member must come from the group's directory`,
      );
    }
    if (group.deletedAt) throw conflict(`Group ${groupId} was deleted from ${group.provider}`);
    if (operation === "add" && identity.deletedAt) {
      throw conflict(`Identity ${identityId} was deleted from ${identity.provider}`);
    }
    const jobId = crypto.randomUUID();
    const change = await directory.requestChange({ groupId, identityId, operation, jobId });
    try {
      await jobs.submit({
        kind: `writeback.${group.provider}`,
        id: jobId,
        payload: { changeId: change.id },
        actor: (c.get("actor" as never) as string | undefined) ?? "local",
        ...(group.org ? { org: group.org } : {}),
      });
    } catch (error) {
      // No job will apply it: it must not show as pending.
      await directory.discardChange(change.id);
      throw error;
    }
    return c.json({ job: jobId, change: change.id }, 202);
  };

  app.put("/groups/:id/members/:identityId", writeBack("add"));
  app.delete("/groups/:id/members/:identityId", writeBack("remove"));
}
