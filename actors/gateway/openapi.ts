/**
 * The OpenAPI 3.1 document served at `/openapi.json`, generated from the same
 * zod schemas the gateway validates with: each kind's payload schema appears as
 * the body of its trigger route (`POST /jobs/<kind>`) and in the `POST /jobs`
 * envelope.
 *
 * @module
 */
import { z } from "zod";
import type { KindRegistry } from "../plugins/kind-registry.ts";
import { inventoryPaths } from "./openapi-inventory.ts";
import { directoryPaths } from "./openapi-directory.ts";

type Json = Record<string, unknown>;

/** A kind's payload as JSON Schema (what a client may send: defaults are optional). */
function payloadSchema(schema: z.ZodType): Json {
  try {
    const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Json;
    return rest;
  } catch {
    return {};
  }
}

const error = { $ref: "#/components/schemas/Error" };
const jsonBody = (schema: Json) => ({ content: { "application/json": { schema } } });
const reply = (
  description: string,
  schema?: Json,
) => (schema ? { description, ...jsonBody(schema) } : { description });
const errors = {
  400: reply("Malformed JSON", error),
  401: reply("Missing or unknown bearer token", error),
  403: reply("The role may not do this", error),
  404: reply("Unknown kind or job", error),
  413: reply("Body over the size limit", error),
  422: reply("Schema violation; the message names the field", error),
  503: reply("The job queue is full or a dependency is down", error),
};
const idParam = { name: "id", in: "path", required: true, schema: { type: "string" } };
const resumeParams = [
  { name: "Last-Event-ID", in: "header", required: false, schema: { type: "integer", minimum: 0 } },
  { name: "after", in: "query", required: false, schema: { type: "integer", minimum: 0 } },
];
const sse = (description: string) => ({
  description,
  content: { "text/event-stream": { schema: { type: "string" } } },
});

const envelopeFields: Json = {
  id: { type: "string", maxLength: 200, description: "Job id; resubmitting an id is a no-op" },
  maxAttempts: { type: "integer", minimum: 1 },
  timeoutMs: { type: "integer", minimum: 1 },
  runAt: { type: "string", format: "date-time" },
  org: { type: "string" },
};

/** Builds the document for the kinds the gateway knows. */
export function openApiDocument(kinds: KindRegistry, options: { version: string }): Json {
  const paths: Record<string, Json> = {};
  const submitted = {
    202: reply("Accepted: a new job", { $ref: "#/components/schemas/Submitted" }),
    200: reply("Already known: nothing new", { $ref: "#/components/schemas/Submitted" }),
  };
  const idempotency = {
    name: "Idempotency-Key",
    in: "header",
    required: false,
    schema: { type: "string" },
    description: "Becomes the job id",
  };
  paths["/jobs"] = {
    post: {
      summary: "Submit a job",
      parameters: [idempotency],
      requestBody: {
        required: true,
        ...jsonBody({
          oneOf: kinds.list().map((k) => ({
            $ref: `#/components/schemas/Submit_${k.kind.replaceAll(".", "_")}`,
          })),
        }),
      },
      responses: { ...submitted, ...errors },
    },
    get: {
      summary: "List jobs, newest first",
      parameters: ["status", "kind", "since", "cursor"].map((name) => ({
        name,
        in: "query",
        required: false,
        schema: { type: "string" },
      }))
        .concat([
          {
            name: "limit",
            in: "query",
            required: false,
            schema: { type: "integer", minimum: 1, maximum: 1000 },
          } as never,
        ]),
      responses: {
        200: reply("A page of jobs", {
          type: "object",
          properties: {
            jobs: { type: "array", items: { $ref: "#/components/schemas/Job" } },
            nextCursor: { type: ["string", "null"] },
          },
        }),
        ...errors,
      },
    },
  };
  const schemas: Record<string, Json> = {};
  for (const kind of kinds.list()) {
    const payload = payloadSchema(kind.schema);
    schemas[`Submit_${kind.kind.replaceAll(".", "_")}`] = {
      type: "object",
      required: ["kind"],
      additionalProperties: false,
      properties: { kind: { const: kind.kind }, payload, ...envelopeFields },
    };
    paths[`/jobs/${kind.kind}`] = {
      post: {
        summary: `Trigger ${kind.kind}: ${kind.description}`,
        parameters: [idempotency],
        requestBody: jsonBody(payload),
        responses: { ...submitted, ...errors },
      },
    };
  }
  paths["/jobs/{id}"] = {
    get: {
      summary: "One job",
      parameters: [idParam],
      responses: { 200: reply("The job", { $ref: "#/components/schemas/Job" }), ...errors },
    },
  };
  paths["/jobs/{id}/history"] = {
    get: {
      summary: "The job's audit trail",
      parameters: [idParam],
      responses: {
        200: reply("Events", {
          type: "object",
          properties: { events: { type: "array", items: { $ref: "#/components/schemas/JobEvent" } } },
        }),
        ...errors,
      },
    },
  };
  paths["/jobs/{id}/events"] = {
    get: {
      summary: "Transitions as Server-Sent Events: history, then live",
      parameters: [idParam, ...resumeParams],
      responses: { 200: sse("event: transition"), ...errors },
    },
  };
  paths["/jobs/{id}/logs"] = {
    get: {
      summary: "Output as Server-Sent Events: history, then live",
      parameters: [idParam, ...resumeParams],
      responses: { 200: sse("event: log, then event: end"), ...errors },
    },
  };
  paths["/jobs/{id}/cancel"] = {
    post: {
      summary: "Cancel a job that has not ended (admin)",
      parameters: [idParam],
      responses: {
        200: reply("The job", { $ref: "#/components/schemas/Job" }),
        409: reply("Already ended", error),
        ...errors,
      },
    },
  };
  paths["/jobs/{id}/retry"] = {
    post: {
      summary: "Run a failed or cancelled job again (admin)",
      parameters: [idParam],
      responses: {
        200: reply("The job", { $ref: "#/components/schemas/Job" }),
        409: reply("Not failed or cancelled", error),
        ...errors,
      },
    },
  };
  paths["/agents"] = {
    get: {
      summary: "Exec agents heard lately: name, host, labels, capabilities, running commands",
      responses: {
        200: reply("Agents", {
          type: "object",
          properties: { agents: { type: "array", items: { type: "object" } } },
        }),
      },
    },
  };
  paths["/healthz"] = {
    get: { summary: "The process is alive", security: [], responses: { 200: reply("Alive") } },
  };
  paths["/readyz"] = {
    get: {
      summary: "NATS and PostgreSQL are reachable",
      security: [],
      responses: { 200: reply("Ready"), 503: reply("Not ready") },
    },
  };
  paths["/status"] = {
    get: {
      summary: "Version, uptime, components, counts",
      responses: { 200: reply("Status", { type: "object" }) },
    },
  };
  paths["/metrics"] = {
    get: {
      summary: "Prometheus metrics",
      responses: {
        200: {
          description: "Text exposition format",
          content: { "text/plain": { schema: { type: "string" } } },
        },
        404: reply("Disabled", error),
      },
    },
  };
  paths["/openapi.json"] = {
    get: { summary: "This document", responses: { 200: reply("OpenAPI 3.1", { type: "object" }) } },
  };
  const inventory = inventoryPaths({ reply, jsonBody, errors });
  Object.assign(paths, inventory.paths);
  Object.assign(schemas, inventory.schemas);
  const directory = directoryPaths({ reply, errors });
  Object.assign(paths, directory.paths);
  Object.assign(schemas, directory.schemas);

  return {
    openapi: "3.1.0",
    info: {
      title: "Troupe",
      version: options.version,
      description: "Durable infrastructure jobs over NATS JetStream and PostgreSQL",
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "TROUPE_API_TOKENS: admin submits, triggers and cancels; viewer reads",
        },
      },
      schemas: {
        ...schemas,
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: { code: { type: "string" }, message: { type: "string" } },
            },
          },
        },
        Submitted: {
          type: "object",
          properties: {
            id: { type: "string" },
            duplicate: { type: "boolean" },
            job: { oneOf: [{ $ref: "#/components/schemas/Job" }, { type: "null" }] },
          },
        },
        Job: {
          type: "object",
          properties: {
            id: { type: "string" },
            kind: { type: "string" },
            status: { enum: ["pending", "locked", "running", "success", "retry", "failed", "cancelled"] },
            attempts: { type: "integer" },
            maxAttempts: { type: "integer" },
            payload: {},
            result: {
              description:
                "What the last finished attempt returned: the handler's result on success; on failure or cancel, the outcome its error carried (an exec command's exit code, signal, OOM flag, CPU and memory), else null",
            },
            lastError: { type: ["object", "null"], description: "{kind, code, message} of the last failure" },
            org: { type: ["string", "null"] },
            runAt: { type: "string", format: "date-time" },
            createdAt: { type: "string", format: "date-time" },
            updatedAt: { type: "string", format: "date-time" },
          },
        },
        JobEvent: {
          type: "object",
          properties: {
            id: { type: "integer" },
            jobId: { type: "string" },
            status: { type: "string" },
            at: { type: "string", format: "date-time" },
            data: { type: "object" },
          },
        },
      },
    },
  };
}
