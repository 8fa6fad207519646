/**
 * `sync.ldap` as a user runs it: `troupe start`'s scheduler fires the
 * `ldap-default` schedule that LDAP_ENABLED, LDAP_SCOPE and LDAP_CREDENTIALS
 * ask for, the worker reads a real slapd (StartTLS, verified against its CA,
 * paged past the size limit) and /identities, /groups and /organizations answer
 * from the directory; the bind password never reaches a log line, the job, its
 * history or /metrics. Embedded system (in-memory bus, PGlite).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../actors/process/config.ts";
import { createLogger } from "../../actors/observability/logger.ts";
import { type Core, openCore, type RunningSystem, startSystem } from "../../actors/process/system.ts";
import { createGateway } from "../../actors/gateway/gateway.ts";
import { asAdmin, TEST_TOKENS } from "../support/gateway.ts";
import { waitFor } from "../support/wait.ts";
import { type SlapdServer, startSlapd } from "../harness/slapd.ts";
import { type DirectoryModel, generateDirectory } from "../support/ldif.ts";

type Json = Record<string, unknown>;

describe("sync.ldap from its default schedule, through the worker, to the directory routes", () => {
  let server: SlapdServer;
  let model: DirectoryModel;
  let core: Core;
  let system: RunningSystem;
  let app: ReturnType<typeof createGateway>;
  let dataDir: string;
  const logs: string[] = [];

  before(async () => {
    model = generateDirectory({ users: 700, groups: 20 });
    server = await startSlapd({ ldif: model.ldif, sizeLimit: 500 });
    dataDir = mkdtempSync(join(tmpdir(), "troupe-ldap-e2e-"));
    const env = {
      TROUPE_DATA_DIR: dataDir,
      TROUPE_NAMESPACE: "ldape2e",
      LOG_LEVEL: "trace",
      TROUPE_SCHEDULER_TICK_MS: "100",
      LDAP_ENABLED: "true",
      LDAP_SCOPE: "corp",
      LDAP_CREDENTIALS: "corp-ldap",
      LDAP_SYNC_INTERVAL: "1h",
      TROUPE_CREDENTIALS_CORP_LDAP: JSON.stringify({
        url: server.url,
        startTLS: true,
        ca: server.ca,
        bindDN: server.readerDN,
        password: server.readerPassword,
        baseDN: server.suffix,
      }),
    };
    const logger = createLogger({ level: "trace", destination: { write: (line) => void logs.push(line) } });
    core = await openCore(loadConfig(env), { logger, env });
    app = asAdmin(createGateway({
      jobs: core.jobs,
      store: core.store,
      bus: core.bus,
      logger,
      maxBodyBytes: 65_536,
      tokens: TEST_TOKENS,
      inventory: { schedules: core.schedules, resources: core.inventory },
      directory: core.directory,
      metrics: core.metrics,
    }));
    system = await startSystem(core, { worker: true, reconciler: true, scheduler: true });
  });

  after(async () => {
    await system?.stop();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const get = async (path: string) => (await (await app.request(path)).json()) as Json;

  it("runs the ldap-default schedule and fills the directory from slapd", async () => {
    const schedule = await waitFor(async () => {
      const row = await core.schedules.get("ldap-default");
      return row?.lastJobId ? row : undefined;
    }, { what: "the ldap-default schedule to fire", timeoutMs: 30_000 });
    assert.equal(schedule.kind, "sync.ldap");
    assert.equal(schedule.provider, "ldap");
    const job = await waitFor(async () => {
      const row = await core.store.getJob(schedule.lastJobId as string);
      return row && ["success", "failed"].includes(row.status) ? row : undefined;
    }, { what: "the sync.ldap job to end", timeoutMs: 60_000 });
    assert.equal(job.status, "success", JSON.stringify(job.lastError));
    assert.equal((job.result as Json).complete, true);

    const identities = (await get("/identities?provider=ldap&scope=corp&limit=1000")).identities as Json[];
    assert.equal(identities.length, model.users.length, "every user, past the size limit of 500");
    const sample = model.users[123]!;
    const found = identities.find((i) => i.externalId === sample.uuid);
    assert.ok(found, "a user by its entryUUID");
    assert.equal(found.username, sample.uid);
    const groups = (await get("/groups?provider=ldap&scope=corp&limit=1000")).groups as Json[];
    assert.equal(groups.length, model.groups.length);
    const organizations = (await get("/organizations?provider=ldap&scope=corp&limit=1000"))
      .organizations as Json[];
    assert.equal(organizations.length, model.organizations.length);
    const shown = await get(`/identities/${found.id}`);
    assert.ok(Array.isArray(shown.groups));
  });

  it("keeps the bind password out of logs, the job, its history and /metrics", async () => {
    const row = await core.schedules.get("ldap-default");
    const id = row?.lastJobId as string;
    const text = [
      logs.join(""),
      JSON.stringify(await get(`/jobs/${id}`)),
      JSON.stringify(await get(`/jobs/${id}/history`)),
      JSON.stringify(await get("/schedules")),
      await (await app.request("/metrics")).text(),
    ].join("\n");
    assert.ok(logs.length > 10, "the logs were captured");
    assert.ok(!text.includes(server.readerPassword), "the bind password leaked");
    assert.match(
      await (await app.request("/metrics")).text(),
      /^worker_sync_total\{connector="ldap",status="success"\} 1$/m,
    );
  });
});
