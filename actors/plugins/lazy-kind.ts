/**
 * A kind whose implementation loads on its first job in this process: the
 * descriptor (name, description, payload schema, defaults) is known at start and
 * serves validation, redaction and OpenAPI; `load()` — a dynamic `import()` of
 * the kind's module and, with it, its SDK — runs when a worker first runs a job
 * of the kind. A gateway or CLI that only validates payloads never loads it.
 *
 * @example
 * ```ts
 * const kind = lazyKind({ kind: "aws.iam.policy", description, schema }, async () =>
 *   (await import("../../adapters/aws-iam/mod.ts")).createAwsIamPolicyKind(options));
 * ```
 * @module
 */
import type { z } from "zod";
import type { JobKind } from "../../machines/job-kind.ts";

/** What a loaded implementation may offer beyond `run`. */
type Loaded<S extends z.ZodType> = JobKind<S> & { close?: () => void | Promise<void> };

/** A lazily loaded kind: `loaded` tells whether its module was imported; `close()` closes it if so. */
export type LazyKind<S extends z.ZodType> = JobKind<S> & { readonly loaded: boolean; close(): Promise<void> };

/** Wraps `load` behind the descriptor; concurrent first jobs share one load, a failed load is tried again. */
export function lazyKind<S extends z.ZodType>(
  descriptor: Omit<JobKind<S>, "run">,
  load: () => Promise<Loaded<S>>,
): LazyKind<S> {
  let loading: Promise<Loaded<S>> | undefined;
  let loaded = false;
  const implementation = () =>
    loading ??= load().then((kind) => {
      loaded = true;
      return kind;
    }, (error) => {
      loading = undefined;
      throw error;
    });
  return {
    ...descriptor,
    get loaded() {
      return loaded;
    },
    async run(job) {
      return await (await implementation()).run(job);
    },
    async close() {
      const kind = await loading?.catch(() => undefined);
      await kind?.close?.();
    },
  };
}
