/**
 * Zod schemas for environment values, shared by the configuration (actors/process/config.ts)
 * and the plugins' manifests (their settings).
 *
 * @module
 */
import { z } from "zod";

/** `true`/`false`, `1`/`0`, `yes`/`no`. */
export const bool = z.enum(["true", "false", "1", "0", "yes", "no"]).transform((v) =>
  v === "true" || v === "1" || v === "yes"
);

/** A URL with one of `protocols` (`"http:"`, `"postgres:"`...). */
export const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, { message: `must be a URL (${protocols.join(" or ")})` });
