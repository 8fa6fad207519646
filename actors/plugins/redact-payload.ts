/**
 * Secret fields out of payloads: what the API, the CLI and the SSE streams show of
 * a job's or a schedule's payload. A kind marks a secret field in its zod schema
 * with `.meta({ writeOnly: true })` (JSON Schema's own word for "sent, never
 * returned", so /openapi.json says it too); every value at a marked place is
 * shown as `"***"`, to every role. The marks are read from the schema's JSON
 * Schema once per schema: properties, records (`additionalProperties`), arrays
 * and every branch of a union, so a value is hidden when any branch marks it.
 *
 * @example
 * ```ts
 * const schema = z.object({ user: z.string(), env: z.record(z.string(), z.string().meta({ writeOnly: true })) });
 * redactPayload(schema, { user: "ann", env: { DB_PASSWORD: "hunter2" } });
 * // { user: "ann", env: { DB_PASSWORD: "***" } }
 * ```
 * @module
 */
import { z } from "zod";

/** What a secret value is shown as. */
export const REDACTED = "***";

/** Where secrets are in a value: the whole value, or some of its fields or items. */
type Plan = true | { props: Map<string, Plan>; rest?: Plan; items?: Plan };

type Json = Record<string, unknown>;

const plans = new WeakMap<z.ZodType, Plan | undefined>();

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function merge(a: Plan | undefined, b: Plan | undefined): Plan | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a === true || b === true) return true;
  const props = new Map(a.props);
  for (const [key, plan] of b.props) props.set(key, merge(props.get(key), plan) as Plan);
  const rest = merge(a.rest, b.rest);
  const items = merge(a.items, b.items);
  return { props, ...(rest ? { rest } : {}), ...(items ? { items } : {}) };
}

/** The secrets of one JSON Schema node; undefined when it holds none. */
function compile(node: unknown, root: Json, seen: Set<unknown>): Plan | undefined {
  if (!isObject(node) || seen.has(node)) return undefined;
  if (node.writeOnly === true) return true;
  seen.add(node);
  try {
    let plan: Plan | undefined;
    const ref = node.$ref;
    if (typeof ref === "string") {
      const target = ref === "#"
        ? root
        : ref.startsWith("#/$defs/")
        ? (root.$defs as Json | undefined)?.[ref.slice(8)]
        : undefined;
      plan = merge(plan, compile(target, root, seen));
    }
    for (const key of ["anyOf", "oneOf", "allOf"]) {
      const branches = node[key];
      if (Array.isArray(branches)) {
        for (const branch of branches) plan = merge(plan, compile(branch, root, seen));
      }
    }
    const props = new Map<string, Plan>();
    if (isObject(node.properties)) {
      for (const [key, child] of Object.entries(node.properties)) {
        const found = compile(child, root, seen);
        if (found) props.set(key, found);
      }
    }
    let rest = compile(node.additionalProperties, root, seen);
    if (isObject(node.patternProperties)) {
      for (const child of Object.values(node.patternProperties)) {
        rest = merge(rest, compile(child, root, seen));
      }
    }
    let items = compile(node.items, root, seen);
    if (Array.isArray(node.prefixItems)) {
      for (const child of node.prefixItems) items = merge(items, compile(child, root, seen));
    }
    if (props.size > 0 || rest || items) {
      plan = merge(plan, { props, ...(rest ? { rest } : {}), ...(items ? { items } : {}) });
    }
    return plan;
  } finally {
    seen.delete(node);
  }
}

/** Where a schema marks secrets (cached per schema). */
function planOf(schema: z.ZodType): Plan | undefined {
  if (plans.has(schema)) return plans.get(schema);
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any", cycles: "ref" }) as Json;
  const plan = compile(json, json, new Set());
  plans.set(schema, plan);
  return plan;
}

function apply(plan: Plan, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (plan === true) return REDACTED;
  if (Array.isArray(value)) return plan.items ? value.map((item) => apply(plan.items as Plan, item)) : value;
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [key, child] of Object.entries(value)) {
    const inner = plan.props.has(key) ? plan.props.get(key) : plan.rest;
    out[key] = inner ? apply(inner, child) : child;
  }
  return out;
}

function restore(plan: Plan, incoming: unknown, stored: unknown): unknown {
  if (plan === true) return incoming === REDACTED && stored !== undefined ? stored : incoming;
  if (Array.isArray(incoming)) {
    if (!plan.items || !Array.isArray(stored)) return incoming;
    return incoming.map((item, i) => restore(plan.items as Plan, item, stored[i]));
  }
  if (!isObject(incoming) || !isObject(stored)) return incoming;
  const out: Json = {};
  for (const [key, child] of Object.entries(incoming)) {
    const inner = plan.props.has(key) ? plan.props.get(key) : plan.rest;
    out[key] = inner && Object.hasOwn(stored, key) ? restore(inner, child, stored[key]) : child;
  }
  return out;
}

/**
 * `incoming` with each secret field that reads `"***"` given back its value in
 * `stored` (same place): a payload read from the API and sent back changed
 * elsewhere keeps its secrets instead of storing `"***"`.
 */
export function restoreRedacted(schema: z.ZodType, incoming: unknown, stored: unknown): unknown {
  const plan = planOf(schema);
  return plan ? restore(plan, incoming, stored) : incoming;
}

/** Whether `schema` marks any field secret. */
export function hasSecrets(schema: z.ZodType): boolean {
  return planOf(schema) !== undefined;
}

/**
 * A copy of `payload` with every value `schema` marks secret shown as `"***"`.
 * Works on payloads that fail the schema too (it follows the marks where the
 * value has the expected shape and leaves the rest alone).
 */
export function redactPayload(schema: z.ZodType, payload: unknown): unknown {
  const plan = planOf(schema);
  return plan ? apply(plan, payload) : payload;
}
