/**
 * Renders the shipped `deploy/nats/troupe-permissions.conf` for one namespace
 * (the two substitutions its header documents, nothing else) and starts a
 * throwaway nats-server with it, so tests exercise the shipped rules rather
 * than a copy.
 *
 * @module
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { subjectsFor } from "../../bus/subjects.ts";
import { type NatsServer, startNatsServer } from "../harness/nats-server.ts";

/** The shipped configuration file. */
export const CONFIG_FILE = fileURLToPath(
  new URL("../../deploy/nats/troupe-permissions.conf", import.meta.url),
);

/** The users the shipped file defines. */
export const USERS = ["admin", "gateway", "worker", "agent-a1", "viewer"] as const;
export type User = (typeof USERS)[number];

/** The environment variable holding `user`'s password: `agent-a1` → `NATS_AGENT_A1_PASSWORD`. */
export function passwordVariable(user: User): string {
  return `NATS_${user.toUpperCase().replace(/-/g, "_")}_PASSWORD`;
}

/** The stream-name prefix of `namespace` (`acme-prod` → `ACME_PROD`), as the bus derives it. */
function streamPrefix(namespace: string): string {
  return subjectsFor(namespace).streams.jobs.slice(0, -"_JOBS".length);
}

/**
 * The shipped file for `namespace`: quoted subjects starting `"troupe.` and
 * stream names after a dot (`.TROUPE_`) are rewritten, exactly as the file's
 * header tells operators to do with sed.
 */
export function renderPermissionsConfig(text: string, namespace: string): string {
  const prefix = streamPrefix(namespace);
  return text.replaceAll('"troupe.', `"${namespace}.`).replaceAll(".TROUPE_", `.${prefix}_`);
}

/** A nats-server running the rendered file, with a random password per user. */
export interface PermissionedNats {
  server: NatsServer;
  passwords: Record<User, string>;
  /** The rendered file's text. */
  config: string;
  stop(): Promise<void>;
}

/** Renders the shipped file for `namespace` and starts nats-server with `-c` on it. */
export async function startPermissionedNats(namespace: string): Promise<PermissionedNats> {
  const config = renderPermissionsConfig(readFileSync(CONFIG_FILE, "utf8"), namespace);
  const dir = mkdtempSync(join(tmpdir(), "troupe-nats-conf-"));
  const file = join(dir, "troupe-permissions.conf");
  writeFileSync(file, config);
  // nats-server parses a `$VARIABLE`'s value as a config value: "9e2f-..." would be a
  // bad number, so the password starts with a letter and has no "-".
  const passwords = Object.fromEntries(
    USERS.map((user) => [user, `p${crypto.randomUUID().replaceAll("-", "")}`]),
  ) as Record<User, string>;
  const env = Object.fromEntries(USERS.map((user) => [passwordVariable(user), passwords[user]]));
  let server: NatsServer;
  try {
    server = await startNatsServer({ args: ["-c", file], env });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    server,
    passwords,
    config,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
