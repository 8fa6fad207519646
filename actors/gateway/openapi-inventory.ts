/**
 * The schedules and inventory part of /openapi.json, from the zod schemas the
 * routes validate with (actors/gateway/inventory-routes.ts).
 *
 * @module
 */
import { z } from "zod";
import { resourceQuerySchema, scheduleCreateSchema, schedulePatchSchema } from "./inventory-routes.ts";

type Json = Record<string, unknown>;

function toJson(schema: z.ZodType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Json;
  return rest;
}

/** Paths and component schemas for /schedules, /resources and /discovery/runs. */
export function inventoryPaths(
  shared: {
    reply: (description: string, schema?: Json) => Json;
    jsonBody: (schema: Json) => Json;
    errors: Json;
  },
): { paths: Record<string, Json>; schemas: Record<string, Json> } {
  const { reply, jsonBody, errors } = shared;
  const id = { name: "id", in: "path", required: true, schema: { type: "string" } };
  const schedule = { $ref: "#/components/schemas/Schedule" };
  const resource = { $ref: "#/components/schemas/Resource" };
  const queryProps = (toJson(resourceQuerySchema).properties ?? {}) as Record<string, Json>;
  const paths: Record<string, Json> = {
    "/schedules": {
      get: {
        summary: "Schedules",
        parameters: [
          { name: "kind", in: "query", required: false, schema: { type: "string" } },
          { name: "enabled", in: "query", required: false, schema: { type: "boolean" } },
        ],
        responses: {
          200: reply("Schedules", {
            type: "object",
            properties: { schedules: { type: "array", items: schedule } },
          }),
          ...errors,
        },
      },
      post: {
        summary: "Create a schedule (admin): a job of `kind` with `payload` every `interval`",
        requestBody: { required: true, ...jsonBody(toJson(scheduleCreateSchema)) },
        responses: {
          201: reply("Created", schedule),
          409: reply("The id is taken", { $ref: "#/components/schemas/Error" }),
          ...errors,
        },
      },
    },
    "/schedules/{id}": {
      get: {
        summary: "One schedule",
        parameters: [id],
        responses: { 200: reply("The schedule", schedule), ...errors },
      },
      patch: {
        summary: "Change a schedule (admin)",
        parameters: [id],
        requestBody: { required: true, ...jsonBody(toJson(schedulePatchSchema)) },
        responses: { 200: reply("The schedule", schedule), ...errors },
      },
      delete: {
        summary: "Delete a schedule (admin)",
        parameters: [id],
        responses: { 200: reply("Deleted"), ...errors },
      },
    },
    "/schedules/{id}/run": {
      post: {
        summary: "Make a schedule due now (admin); skipped if its last run is still open",
        parameters: [id],
        responses: { 202: reply("The schedule", schedule), ...errors },
      },
    },
    "/resources": {
      get: {
        summary: "Inventory: resources found by discovery, live by default",
        parameters: Object.entries(queryProps).map(([name, schema]) => ({
          name,
          in: "query",
          required: false,
          schema,
        })),
        responses: {
          200: reply("A page of resources", {
            type: "object",
            properties: {
              resources: { type: "array", items: resource },
              nextCursor: { type: ["string", "null"] },
            },
          }),
          ...errors,
        },
      },
    },
    "/resources/{id}": {
      get: {
        summary: "One resource with its links both ways",
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "integer" } }],
        responses: { 200: reply("The resource", resource), ...errors },
      },
    },
    "/discovery/runs": {
      get: {
        summary: "Discovery runs, newest first: status, counts, failed pages",
        parameters: ["provider", "scope", "jobId", "limit"].map((name) => ({
          name,
          in: "query",
          required: false,
          schema: { type: "string" },
        })),
        responses: {
          200: reply("Runs", {
            type: "object",
            properties: { runs: { type: "array", items: { type: "object" } } },
          }),
          ...errors,
        },
      },
    },
  };
  const schemas: Record<string, Json> = {
    Schedule: {
      type: "object",
      properties: {
        id: { type: "string" },
        kind: { type: "string" },
        payload: {},
        org: { type: ["string", "null"] },
        provider: { type: ["string", "null"] },
        scope: { type: ["string", "null"] },
        credentials: { type: ["string", "null"], description: "A credentials reference" },
        intervalSeconds: { type: "integer" },
        enabled: { type: "boolean" },
        nextRunAt: { type: "string", format: "date-time" },
        lastRunAt: { type: ["string", "null"], format: "date-time" },
        lastJobId: { type: ["string", "null"] },
        status: { type: "string" },
        lastError: {},
        skipped: { type: "integer" },
      },
    },
    Resource: {
      type: "object",
      properties: {
        id: { type: "integer" },
        provider: { enum: ["aws", "gcp", "azure", "kubernetes"] },
        scope: { type: "string" },
        type: { type: "string" },
        externalId: { type: "string" },
        category: { type: "string" },
        name: { type: ["string", "null"] },
        region: { type: ["string", "null"] },
        org: { type: ["string", "null"] },
        attributes: { type: "object" },
        firstSeen: { type: "string", format: "date-time" },
        lastSeen: { type: "string", format: "date-time" },
        deletedAt: { type: ["string", "null"], format: "date-time" },
      },
    },
  };
  return { paths, schemas };
}
