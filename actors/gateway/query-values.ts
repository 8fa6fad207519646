/**
 * Query and path values of the HTTP routes, validated before they reach SQL: a
 * bad value is a 422 naming the parameter and the rule, never a 500 from
 * PostgreSQL (`invalid input syntax for type integer`) and never silently
 * replaced by a default.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { ValidationError } from "../../machines/errors.ts";

/** `limit`: a whole number from 1 to `max` (`1.5`, `0`, `-5`, `1e2`, `abc` refused). */
export function limitQuery(max = 1000) {
  return z.string().regex(/^\d{1,7}$/, `must be a whole number from 1 to ${max}`).transform(Number).pipe(
    z.number().int().min(1, `must be a whole number from 1 to ${max}`).max(max, `must be at most ${max}`),
  );
}

/** A date-time parameter: ISO 8601 with a four-digit year (`99999-01-01` refused). */
export const dateQuery = z.string().regex(
  /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/,
  "must be an ISO 8601 date like 2026-12-03 or 2026-12-03T10:00:00Z",
).transform((text) => new Date(text)).refine((date) => !Number.isNaN(date.getTime()), "must be a real date");

/** Parses `value` with `schema`, or throws a ValidationError naming `field`. */
export function parseQueryValue<S extends z.ZodType>(schema: S, value: string, field: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    `Invalid ${field} "${value.slice(0, 40)}": ${parsed.error.issues[0]?.message ?? "invalid"}`,
    {
      field,
    },
  );
}

/** U+0000 and other C0 controls have no place in a path or query value, and PostgreSQL cannot store U+0000. */
// deno-lint-ignore no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Middleware: refuses (422) a request whose decoded path or query values hold a
 * control character, before any route runs SQL with them.
 */
export function refuseControlCharacters(): MiddlewareHandler {
  return async (c, next) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(c.req.url).pathname);
    } catch {
      throw new ValidationError("Invalid path: malformed percent-encoding", { field: "path" });
    }
    if (CONTROL.test(path)) {
      throw new ValidationError("Invalid path: it holds a control character", { field: "path" });
    }
    for (const [name, values] of Object.entries(c.req.queries())) {
      if (CONTROL.test(name) || values.some((v) => CONTROL.test(v))) {
        throw new ValidationError(
          `Invalid query parameter "${name.replace(CONTROL, "?")}": it holds a control character`,
          {
            field: name.replace(CONTROL, "?"),
          },
        );
      }
    }
    await next();
  };
}
