/**
 * The directory part of /openapi.json (`/identities`, `/groups`,
 * `/groups/{id}/members`, write-back, `/organizations`), from the zod schemas
 * the routes validate with (directory-routes.ts).
 *
 * @module
 */
import { z } from "zod";
import { DIRECTORY_PROVIDERS } from "../../adapters/sync/directory.ts";
import {
  groupQuerySchema,
  identityQuerySchema,
  memberQuerySchema,
  organizationQuerySchema,
} from "./directory-routes.ts";

type Json = Record<string, unknown>;

function queryParameters(schema: z.ZodType): Json[] {
  const { properties = {} } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as {
    properties?: Record<string, Json>;
  };
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: "query",
    required: false,
    schema: property,
  }));
}

const stamps = {
  firstSeen: { type: "string", format: "date-time" },
  lastSeen: { type: "string", format: "date-time" },
  deletedAt: { type: ["string", "null"], format: "date-time" },
};
const common = {
  id: { type: "integer" },
  provider: { enum: [...DIRECTORY_PROVIDERS] },
  scope: { type: "string" },
  externalId: { type: "string" },
  org: { type: ["string", "null"] },
};

/** Paths and component schemas for the directory. */
export function directoryPaths(
  shared: { reply: (description: string, schema?: Json) => Json; errors: Json },
): { paths: Record<string, Json>; schemas: Record<string, Json> } {
  const { reply, errors } = shared;
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const id = (name: string, description: string) => ({
    name,
    in: "path",
    required: true,
    description,
    schema: { type: "integer", minimum: 1 },
  });
  const page = (key: string, item: Json) => ({
    type: "object",
    properties: { [key]: { type: "array", items: item }, nextCursor: { type: ["string", "null"] } },
  });
  const writeBack = (summary: string) => ({
    summary,
    parameters: [id("id", "The group"), id("identityId", "The identity")],
    responses: {
      202: reply("Recorded; a job applies it", ref("WriteBack")),
      409: reply(
        "The group's provider takes no write-back (only okta and authentik), the identity is from another directory, or either was deleted",
        ref("Error"),
      ),
      ...errors,
    },
  });
  const paths: Record<string, Json> = {
    "/identities": {
      get: {
        summary: "Directory: users and service accounts of every identity provider, live by default",
        parameters: queryParameters(identityQuerySchema),
        responses: { 200: reply("A page of identities", page("identities", ref("Identity"))), ...errors },
      },
    },
    "/identities/{id}": {
      get: {
        summary: "One identity with its groups, direct and through nested groups",
        parameters: [id("id", "The identity")],
        responses: {
          200: reply("The identity", {
            allOf: [ref("Identity"), {
              type: "object",
              properties: { groups: { type: "array", items: ref("Membership") } },
            }],
          }),
          ...errors,
        },
      },
    },
    "/groups": {
      get: {
        summary: "Directory groups (and Kubernetes RBAC grants), live by default",
        parameters: queryParameters(groupQuerySchema),
        responses: { 200: reply("A page of groups", page("groups", ref("Group"))), ...errors },
      },
    },
    "/groups/{id}/members": {
      get: {
        summary:
          "A group's identities, direct and through nested groups; its direct subgroups; write-back changes not applied yet",
        parameters: [id("id", "The group"), ...queryParameters(memberQuerySchema)],
        responses: {
          200: reply("A page of members", {
            type: "object",
            properties: {
              group: ref("Group"),
              members: { type: "array", items: ref("Member") },
              groups: { type: "array", items: ref("Group") },
              pending: { type: "array", items: ref("MembershipChange") },
              nextCursor: { type: ["string", "null"] },
            },
          }),
          ...errors,
        },
      },
    },
    "/groups/{id}/members/{identityId}": {
      put: writeBack("Add an identity to an Okta or Authentik group (admin): a writeback.<provider> job"),
      delete: writeBack(
        "Remove an identity from an Okta or Authentik group (admin): a writeback.<provider> job",
      ),
    },
    "/organizations": {
      get: {
        summary: "LDAP OUs and Google org units, live by default",
        parameters: queryParameters(organizationQuerySchema),
        responses: {
          200: reply("A page of organizations", page("organizations", ref("Organization"))),
          ...errors,
        },
      },
    },
  };
  const group = {
    type: "object",
    properties: {
      ...common,
      name: { type: "string" },
      attributes: { type: "object" },
      directMembers: { type: "integer", description: "Direct edges (identities and groups), in lists" },
      ...stamps,
    },
  };
  const identity = {
    type: "object",
    properties: {
      ...common,
      kind: { enum: ["user", "service_account"] },
      username: { type: ["string", "null"] },
      email: { type: ["string", "null"] },
      displayName: { type: ["string", "null"] },
      status: { enum: ["active", "suspended", "deprovisioned"] },
      attributes: { type: "object" },
      organizationId: { type: ["integer", "null"] },
      ...stamps,
    },
  };
  const direct = { type: "object", properties: { direct: { type: "boolean" } } };
  const schemas: Record<string, Json> = {
    Identity: identity,
    Group: group,
    Member: { allOf: [identity, direct] },
    Membership: { allOf: [group, direct] },
    Organization: {
      type: "object",
      properties: { ...common, name: { type: "string" }, parentId: { type: ["integer", "null"] }, ...stamps },
    },
    MembershipChange: {
      type: "object",
      properties: {
        id: { type: "integer" },
        groupId: { type: "integer" },
        identityId: { type: "integer" },
        identityExternalId: { type: ["string", "null"] },
        identityUsername: { type: ["string", "null"] },
        operation: { enum: ["add", "remove"] },
        status: { enum: ["pending", "applied", "failed"] },
        jobId: { type: ["string", "null"] },
        requestedAt: { type: "string", format: "date-time" },
        appliedAt: { type: ["string", "null"], format: "date-time" },
        providerRequestId: { type: ["string", "null"] },
      },
    },
    WriteBack: {
      type: "object",
      properties: { job: { type: "string" }, change: { type: "integer" } },
      required: ["job", "change"],
    },
  };
  return { paths, schemas };
}
