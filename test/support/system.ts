/**
 * Builds a Troupe core for tests: embedded (memory bus + PGlite in a temp dir) or
 * real (NATS + PostgreSQL from the shared test servers, with a unique namespace
 * and a fresh database).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../actors/process/config.ts";
import { silentLogger } from "../../actors/observability/logger.ts";
import { type Core, openCore } from "../../actors/process/system.ts";
import type { JobKind } from "../../machines/job-kind.ts";

export type Backend = "embedded" | "nats+postgres";

export interface TestCoreOptions {
  env?: Record<string, string>;
  kinds?: JobKind[];
}

let counter = 0;

/** A unique namespace for one test. */
export function uniqueNamespace(prefix = "t"): string {
  return `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}${
    Math.floor(Math.random() * 1e6).toString(36)
  }`;
}

/** Environment for a backend: fresh database (or data dir) and namespace. */
export async function backendEnv(
  backend: Backend,
): Promise<{ env: Record<string, string>; cleanup: () => void }> {
  const base = { TROUPE_NAMESPACE: uniqueNamespace(), LOG_LEVEL: "silent" };
  if (backend === "embedded") {
    const dir = mkdtempSync(join(tmpdir(), "troupe-pglite-"));
    return {
      env: { ...base, TROUPE_DATA_DIR: dir },
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const { testNatsUrl } = await import("../harness/nats-server.ts");
  const { testDatabaseUrl } = await import("../harness/postgres-server.ts");
  return {
    env: { ...base, NATS_URL: await testNatsUrl(), DATABASE_URL: await testDatabaseUrl() },
    cleanup: () => {},
  };
}

/** Opens a core on `env` (all defaults overridable). */
export async function openTestCore(
  env: Record<string, string>,
  options: TestCoreOptions = {},
): Promise<Core> {
  const config = loadConfig({ ...env, ...options.env });
  return await openCore(config, {
    logger: silentLogger(),
    ...(options.kinds ? { kinds: options.kinds } : {}),
  });
}
