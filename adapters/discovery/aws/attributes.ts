/**
 * Small helpers that turn SDK output into the JSON attributes of a resource:
 * tags as an object, dates as ISO strings, absent values left out.
 *
 * @module
 */
import type { ResourceLink } from "../provider.ts";

/** An AWS tag in any service's casing. */
export interface AwsTag {
  Key?: string | undefined;
  Value?: string | undefined;
}

/** `[{Key, Value}]` → `{key: value}`; tags without a key are skipped. */
export function tagsOf(tags: readonly AwsTag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.Key !== undefined) out[tag.Key] = tag.Value ?? "";
  return out;
}

/** The `Name` tag, the name AWS's console shows. */
export function nameTag(tags: readonly AwsTag[] | undefined): string | null {
  return tags?.find((t) => t.Key === "Name")?.Value ?? null;
}

/** A date as an ISO string, or undefined. */
export function iso(date: Date | undefined): string | undefined {
  return date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
}

/** The same object without its undefined and null values (so attributes stay small and JSON-clean). */
export function compact(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

/** Clamps a wanted page size into an API's accepted range. */
export function pageSizeFor(wanted: number | undefined, min: number, max: number): number {
  if (wanted === undefined) return max;
  return Math.min(max, Math.max(min, Math.floor(wanted)));
}

/** `{ next: token }` when there is a next page, else nothing. */
export function nextOf(token: string | undefined): { next?: string } {
  return token ? { next: token } : {};
}

/** One link when the other side's id is known, else none. */
export function linkTo(relation: string, type: string, externalId: string | undefined): ResourceLink[] {
  return externalId ? [{ relation, type, externalId }] : [];
}
