/**
 * Identity connectors end to end, through the real gateway, worker and
 * directory on the embedded system, against the Okta and Authentik stand-ins:
 * a `sync.<provider>` job submitted over the API fills /identities and
 * /groups; `PUT /groups/:id/members/:identityId` records a pending change and a
 * `writeback.<provider>` job that applies it in the provider, then locally (the
 * provider's request id in the job's refs); adding a member who is in already
 * succeeds unchanged; a membership changed in the provider directly is taken
 * by the next sync (the provider is the record) and counted as drift; a wrong
 * token fails permanently, and no token reaches a log line, an event, an error
 * or /metrics.
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
import { backendEnv } from "../support/system.ts";
import { generateOktaModel, type OktaStandIn, startOktaStandIn } from "../support/standins/okta.ts";
import {
  type AuthentikStandIn,
  generateAuthentikModel,
  startAuthentikStandIn,
} from "../support/standins/authentik.ts";

type Json = Record<string, unknown>;

describe("Identity connectors end to end: sync, write-back, drift, secrets", () => {
  let okta: OktaStandIn;
  let authentik: AuthentikStandIn;
  /** The gateway's process, and a worker process beside it on the same NATS and PostgreSQL. */
  let core: Core;
  let workerCore: Core | undefined;
  let worker: RunningSystem | undefined;
  let env: Record<string, string>;
  let logger: ReturnType<typeof createLogger>;
  let app: ReturnType<typeof createGateway>;
  let dataDir: string;
  const logs: string[] = [];
  const WRONG_TOKEN = "00wrongOktaTokenSecret-5e5e5e";

  before(async () => {
    okta = await startOktaStandIn(generateOktaModel({ users: 30, groups: 3 }));
    authentik = await startAuthentikStandIn(generateAuthentikModel({ users: 20, groups: 3 }));
    dataDir = mkdtempSync(join(tmpdir(), "troupe-directory-e2e-"));
    env = {
      ...(await backendEnv("nats+postgres")).env,
      TROUPE_DATA_DIR: dataDir,
      LOG_LEVEL: "trace",
      TROUPE_BACKOFF_BASE_MS: "10",
      TROUPE_BACKOFF_MAX_MS: "50",
      TROUPE_SHUTDOWN_GRACE_MS: "200",
      TROUPE_CREDENTIALS_OKTA: JSON.stringify({ orgUrl: okta.url, token: okta.tokens[0] }),
      TROUPE_CREDENTIALS_OKTA_WRONG: JSON.stringify({ orgUrl: okta.url, token: WRONG_TOKEN }),
      TROUPE_CREDENTIALS_AUTHENTIK: JSON.stringify({ url: authentik.url, token: authentik.tokens[0] }),
    };
    logger = createLogger({ level: "trace", destination: { write: (line) => void logs.push(line) } });
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
    await startWorker();
  });

  async function startWorker() {
    workerCore = await openCore(loadConfig(env), { logger, env, migrate: false });
    worker = await startSystem(workerCore, { worker: true, reconciler: true });
  }

  async function stopWorker() {
    await worker?.stop();
    worker = undefined;
    workerCore = undefined;
  }

  after(async () => {
    await stopWorker();
    await core?.close();
    await okta?.close();
    await authentik?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await app.request(path, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = await response.json() as Json;
    return { status: response.status, json };
  };

  const final = (id: string) =>
    waitFor(async () => {
      const job = await core.store.getJob(id);
      return job && ["success", "failed", "cancelled"].includes(job.status) ? job : undefined;
    }, { what: `job "${id}" to end`, timeoutMs: 30_000 });

  const sync = async (kind: string, payload: Json) => {
    const submitted = await api("POST", "/jobs", { kind, payload });
    assert.equal(
      submitted.status,
      202,
      `${JSON.stringify(submitted.json)} ${logs.filter((l) => l.includes('"level":50')).slice(-1)}`,
    );
    return await final((submitted.json.job as Json).id as string);
  };

  const groupsOf = async (provider: string) =>
    (await api("GET", `/groups?provider=${provider}&limit=1000`)).json.groups as Json[];
  const identitiesOf = async (provider: string) =>
    (await api("GET", `/identities?provider=${provider}&limit=1000`)).json.identities as Json[];
  const membersOf = async (groupId: unknown) =>
    (await api("GET", `/groups/${groupId}/members?limit=1000`)).json;

  it("sync.okta over the API fills /identities and /groups with the org's users, groups and members", async () => {
    const job = await sync("sync.okta", { scope: "example-okta", credentials: "okta" });
    assert.equal(job.status, "success", JSON.stringify(job.lastError));
    assert.equal((await identitiesOf("okta")).length, okta.model.users.length);
    const groups = await groupsOf("okta");
    assert.equal(groups.length, okta.model.groups.length);
    const group = groups.find((g) => g.externalId === okta.model.groups[0]!.id)!;
    const members = (await membersOf(group.id)).members as Json[];
    assert.deepEqual(
      members.map((m) => m.externalId).sort(),
      okta.membersOf(okta.model.groups[0]!.id).sort(),
    );
  });

  it("PUT /groups/:id/members/:identityId shows the change pending, then applies it in Okta and locally", async () => {
    const groupExternal = okta.model.groups[1]!.id;
    const group = (await groupsOf("okta")).find((g) => g.externalId === groupExternal)!;
    const outsider = (await identitiesOf("okta")).find((i) =>
      !okta.membersOf(groupExternal).includes(i.externalId as string) && i.status === "active"
    )!;
    // No worker: the change stays pending, visibly.
    await stopWorker();
    const put = await api("PUT", `/groups/${group.id}/members/${outsider.id}`);
    assert.equal(put.status, 202, JSON.stringify(put.json));
    const pending = (await membersOf(group.id)).pending as Json[];
    assert.equal(pending.length, 1);
    assert.equal(JSON.stringify(pending[0]).includes(String(put.json.change)), true);
    assert.ok(!((await membersOf(group.id)).members as Json[]).some((m) => m.id === outsider.id));

    await startWorker();
    const job = await final(put.json.job as string);
    assert.equal(job.status, "success", JSON.stringify(job.lastError));
    assert.equal((job.result as Json).changed, true);
    assert.ok(okta.membersOf(groupExternal).includes(outsider.externalId as string), "member added in Okta");
    const after = await membersOf(group.id);
    assert.ok((after.members as Json[]).some((m) => m.id === outsider.id && m.direct === true));
    assert.deepEqual(after.pending, []);
    const refs = await core.store.jobRefs(put.json.job as string);
    assert.ok(
      refs.some((r) => r.system === "okta" && r.ref.length > 0),
      `the Okta request id is in the job's refs: ${JSON.stringify(refs)}`,
    );

    // Adding a member who is in already: success, unchanged, and Okta holds them once.
    const again = await api("PUT", `/groups/${group.id}/members/${outsider.id}`);
    const second = await final(again.json.job as string);
    assert.equal(second.status, "success");
    assert.equal((second.result as Json).changed, false);
    assert.equal(okta.membersOf(groupExternal).filter((id) => id === outsider.externalId).length, 1);

    // And out again.
    const removed = await api("DELETE", `/groups/${group.id}/members/${outsider.id}`);
    assert.equal((await final(removed.json.job as string)).status, "success");
    assert.ok(!okta.membersOf(groupExternal).includes(outsider.externalId as string));
    assert.ok(!((await membersOf(group.id)).members as Json[]).some((m) => m.id === outsider.id));
  });

  it("a membership changed in Okta directly is taken by the next sync: the provider is the record", async () => {
    const groupExternal = okta.model.groups[2]!.id;
    const before = okta.membersOf(groupExternal);
    const dropped = before[0]!;
    okta.model.members.set(groupExternal, before.slice(1));
    const job = await sync("sync.okta", { scope: "example-okta", credentials: "okta" });
    assert.equal(job.status, "success");
    const group = (await groupsOf("okta")).find((g) => g.externalId === groupExternal)!;
    const members = ((await membersOf(group.id)).members as Json[]).map((m) => m.externalId);
    assert.ok(!members.includes(dropped), "the edge removed in Okta is gone locally");
    assert.equal(members.length, before.length - 1);
    const run = ((await api("GET", `/discovery/runs?jobId=${job.id}`)).json.runs as Json[])[0];
    const drift = run?.drift as Json | undefined;
    assert.equal(drift?.removed, 1, `drift recorded on the run: ${JSON.stringify(run)}`);
    assert.equal(drift?.drift, 1, "the removal was no write-back of ours: drift");
    assert.deepEqual((job.result as Json).drift, drift, "and in the job's result");
  });

  it("sync.authentik and writeback.authentik round trip through the API, the job and the stand-in", async () => {
    const job = await sync("sync.authentik", { scope: "example-authentik", credentials: "authentik" });
    assert.equal(job.status, "success", JSON.stringify(job.lastError));
    const identities = await identitiesOf("authentik");
    let group: Json | undefined;
    let outsider: Json | undefined;
    for (const candidate of await groupsOf("authentik")) {
      const present = new Set(((await membersOf(candidate.id)).members as Json[]).map((m) => m.id));
      outsider = identities.find((i) => !present.has(i.id) && i.status === "active");
      if (outsider) {
        group = candidate;
        break;
      }
    }
    assert.ok(group && outsider, "a group with an active non-member");
    const put = await api("PUT", `/groups/${group.id}/members/${outsider.id}`);
    assert.equal(put.status, 202);
    const done = await final(put.json.job as string);
    assert.equal(done.status, "success", JSON.stringify(done.lastError));
    assert.equal((done.result as Json).changed, true);
    assert.ok(((await membersOf(group.id)).members as Json[]).some((m) => m.id === outsider.id));
    assert.ok(
      authentik.membersOf(String(group.externalId)).map(String).includes(String(outsider.externalId)),
      "member added in Authentik",
    );
  });

  it("a wrong token fails the sync permanently, and no token reaches logs, events, errors or /metrics", async () => {
    const job = await sync("sync.okta", { scope: "okta-wrong", credentials: "okta_wrong" });
    assert.equal(job.status, "failed");
    assert.equal(job.attempts, 1, "a 401 is not retried");
    const text = [
      logs.join(""),
      JSON.stringify(job.lastError),
      JSON.stringify((await api("GET", `/jobs/${job.id}/history`)).json),
      await (await app.request("/metrics")).text(),
      JSON.stringify((await api("GET", `/jobs/${job.id}`)).json),
    ].join("\n");
    assert.ok(logs.length > 10, "the logs were captured");
    for (const secret of [WRONG_TOKEN, okta.tokens[0]!, authentik.tokens[0]!]) {
      assert.ok(!text.includes(secret), "a token leaked");
    }
  });
});
