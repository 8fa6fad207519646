/**
 * `aws.iam.policy` through the real worker, once per backend (embedded: memory
 * bus + PGlite; real: NATS JetStream + PostgreSQL), against the STS/IAM
 * stand-in. The last test greps everything the suite persisted, logged and
 * exported for the credentials the stand-in handed out.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../../actors/process/config.ts";
import { createLogger } from "../../../actors/observability/logger.ts";
import { type Core, openCore, type RunningSystem, startSystem } from "../../../actors/process/system.ts";
import { noopKind } from "../../../adapters/noop/mod.ts";
import { type AwsIamPolicyKind, createAwsIamPolicyKind } from "../../../adapters/aws-iam/mod.ts";
import { ValidationError } from "../../../machines/errors.ts";
import type { JobKind } from "../../../machines/job-kind.ts";
import { type Backend, backendEnv } from "../../support/system.ts";
import { waitFor } from "../../support/wait.ts";
import {
  type AwsStandIn as StandIn,
  startAwsStandIn as startStandIn,
} from "../../support/standins/aws/stand-in.ts";

const ACCOUNT = "111122223333";
const READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const KIND = "aws.iam.policy";
const enc = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

interface LastError {
  kind: string;
  code: string;
  message: string;
}

export function runAwsIamWorkerScenarios(backend: Backend): void {
  describe(`aws.iam.policy through the worker on ${backend}`, () => {
    let aws: StandIn;
    let kind: AwsIamPolicyKind;
    let core: Core;
    let system: RunningSystem;
    let cleanup = () => {};
    const lines: string[] = [];

    before(async () => {
      aws = await startStandIn();
      aws.account(ACCOUNT).trust("cSecBridgeIAMHandlerRole");
      const logger = createLogger({
        level: "debug",
        destination: { write: (line: string) => void lines.push(line) },
      });
      kind = createAwsIamPolicyKind({
        credentials: aws.master,
        endpoints: { sts: aws.url, iam: aws.url },
        logger,
      });
      const made = await backendEnv(backend);
      cleanup = made.cleanup;
      const config = loadConfig({
        ...made.env,
        TROUPE_BACKOFF_BASE_MS: "10",
        TROUPE_BACKOFF_MAX_MS: "50",
        TROUPE_SHUTDOWN_GRACE_MS: "200",
        LOG_LEVEL: "debug",
      });
      core = await openCore(config, {
        logger,
        kinds: [noopKind as unknown as JobKind, kind as unknown as JobKind],
      });
      system = await startSystem(core, { worker: true, reconciler: true });
    });

    after(async () => {
      await system?.stop();
      kind?.close();
      await aws?.close();
      cleanup();
    });

    const final = (id: string) =>
      waitFor(async () => {
        const job = await core.store.getJob(id);
        return job && ["success", "failed", "cancelled"].includes(job.status) ? job : undefined;
      }, { what: `job "${id}" to end` });
    const statuses = async (id: string) => (await core.store.jobEvents(id)).map((e) => e.status);
    const payload = (role: string, extra: Record<string, unknown> = {}) => ({
      action: "attach",
      accountId: ACCOUNT,
      principalType: "role",
      principalName: role,
      policyArn: READ_ONLY,
      ...extra,
    });

    it("an attach job succeeds and records the IAM request id in job_refs", async () => {
      aws.account(ACCOUNT).addRole("w-attach");
      const { id } = await core.jobs.submit({ kind: KIND, id: "iam-attach-1", payload: payload("w-attach") });
      const done = await final(id);
      assert.equal(done.status, "success", JSON.stringify(done.lastError));
      assert.deepEqual(aws.account(ACCOUNT).attached("role", "w-attach"), [READ_ONLY]);
      const attach = aws.calls("AttachRolePolicy").find((r) => r.params.RoleName === "w-attach");
      const refs = await core.store.jobRefs(id);
      assert.ok(
        refs.some((r) => r.system === "aws.iam" && r.ref === attach?.requestId),
        JSON.stringify(refs),
      );
      assert.deepEqual((done.result as { changed: boolean; requestId: string }).requestId, attach?.requestId);
      assert.match(aws.calls("AssumeRole")[0]?.params.RoleSessionName ?? "", /iam-attach-1/);
    });

    it("a detach job of a policy that is not attached succeeds with changed false", async () => {
      aws.account(ACCOUNT).addRole("w-detach");
      const { id } = await core.jobs.submit({
        kind: KIND,
        id: "iam-detach-1",
        payload: payload("w-detach", { action: "detach" }),
      });
      const done = await final(id);
      assert.equal(done.status, "success", JSON.stringify(done.lastError));
      assert.equal((done.result as { changed: boolean }).changed, false);
      assert.equal(aws.calls("DetachRolePolicy").find((r) => r.params.RoleName === "w-detach")?.status, 404);
    });

    it("a job throttled twice is retried with backoff and succeeds on its third attempt", async () => {
      aws.account(ACCOUNT).addRole("w-throttle");
      aws.failNext("AttachRolePolicy", { code: "Throttling", message: "Rate exceeded" }, 2);
      const { id } = await core.jobs.submit({
        kind: KIND,
        id: "iam-throttle-1",
        payload: payload("w-throttle"),
        maxAttempts: 3,
      });
      const done = await final(id);
      assert.equal(done.status, "success", JSON.stringify(done.lastError));
      assert.equal(done.attempts, 3);
      assert.equal((await statuses(id)).filter((s) => s === "retry").length, 2);
      assert.deepEqual(
        aws.calls("AttachRolePolicy").filter((r) => r.params.RoleName === "w-throttle").map((r) => r.status),
        [400, 400, 200],
      );
    });

    it("a throttled job waits at least the Retry-After AWS sent", async () => {
      aws.account(ACCOUNT).addRole("w-retry-after");
      aws.failNext("AttachRolePolicy", { code: "Throttling", message: "Rate exceeded", retryAfter: 1 });
      const { id } = await core.jobs.submit({
        kind: KIND,
        id: "iam-retry-after-1",
        payload: payload("w-retry-after"),
        maxAttempts: 2,
      });
      const done = await final(id);
      assert.equal(done.status, "success", JSON.stringify(done.lastError));
      const retry = (await core.store.jobEvents(id)).find((e) => e.status === "retry");
      assert.ok(Number(retry?.data.retryInMs) >= 1000, JSON.stringify(retry?.data));
    });

    it("an AccessDenied fails the job at once with one attempt and a last_error naming AccessDenied", async () => {
      aws.account(ACCOUNT).addRole("w-denied");
      aws.failNext("AttachRolePolicy", {
        code: "AccessDenied",
        message: "User is not authorized to perform: iam:AttachRolePolicy",
      });
      const { id } = await core.jobs.submit({
        kind: KIND,
        id: "iam-denied-1",
        payload: payload("w-denied"),
        maxAttempts: 5,
      });
      const done = await final(id);
      assert.equal(done.status, "failed");
      assert.equal(done.attempts, 1);
      const error = done.lastError as LastError;
      assert.equal(error.code, "AWS_ACCESS_DENIED");
      assert.match(
        error.message,
        /^Cannot attach policy "arn:aws:iam::aws:policy\/ReadOnlyAccess" to role "w-denied" in account "111122223333": AccessDenied: User is not authorized/,
      );
      assert.deepEqual(await statuses(id), ["pending", "locked", "running", "failed"]);
    });

    it("a job for a principal that does not exist fails with NoSuchEntity", async () => {
      const { id } = await core.jobs.submit({
        kind: KIND,
        id: "iam-ghost-1",
        payload: payload("w-ghost", { principalType: "user" }),
        maxAttempts: 5,
      });
      const done = await final(id);
      assert.equal(done.status, "failed");
      assert.equal(done.attempts, 1);
      assert.match(
        (done.lastError as LastError).message,
        /NoSuchEntity: The user with name w-ghost cannot be found/,
      );
    });

    it("a message with an invalid payload becomes a failed job naming payload.accountId", async () => {
      await core.bus.publishJob(
        KIND,
        enc({ id: "iam-invalid-1", payload: payload("w-any", { accountId: "123" }) }),
        { msgId: "iam-invalid-1" },
      );
      const done = await final("iam-invalid-1");
      assert.equal(done.status, "failed");
      assert.match((done.lastError as LastError).message, /payload\.accountId: must be exactly 12 digits/);
      assert.equal(
        aws.requests.filter((r) => r.params.UserName === "w-any" || r.params.RoleName === "w-any").length,
        0,
      );
    });

    it("submit() refuses an invalid payload with a ValidationError naming the field", async () => {
      await assert.rejects(
        core.jobs.submit({ kind: KIND, payload: payload("w-any", { policyArn: "arn:aws:s3:::bucket" }) }),
        (error: unknown) => {
          assert.ok(error instanceof ValidationError);
          assert.equal(error.field, "payload.policyArn");
          return true;
        },
      );
    });

    it("a dryRun job changes nothing and reports what would change", async () => {
      aws.account(ACCOUNT).addRole("w-dry");
      const { id } = await core.jobs.submit({
        kind: KIND,
        id: "iam-dry-1",
        payload: payload("w-dry", { dryRun: true }),
      });
      const done = await final(id);
      assert.equal(done.status, "success", JSON.stringify(done.lastError));
      assert.deepEqual(aws.account(ACCOUNT).attached("role", "w-dry"), []);
      const writes = aws.requests.filter((r) =>
        r.params.RoleName === "w-dry" && /^(Attach|Detach)/.test(r.action)
      );
      assert.equal(writes.length, 0);
      const result = done.result as Record<string, unknown>;
      assert.deepEqual([result.dryRun, result.changed, result.wouldChange], [true, false, true]);
    });

    it("no credential appears in jobs, job_events, job_refs, logs or metrics", async () => {
      // A failure whose AWS message echoes the session token, to prove messages are cleaned.
      aws.account(ACCOUNT).addRole("w-echo", [READ_ONLY]);
      aws.failNext("DetachRolePolicy", {
        code: "AccessDenied",
        message: (r) => `Denied for token ${r.securityToken} of ${r.accessKeyId}`,
      });
      const { id } = await core.jobs.submit({
        kind: KIND,
        id: "iam-echo-1",
        payload: payload("w-echo", { action: "detach" }),
      });
      const echoed = await final(id);
      assert.equal(echoed.status, "failed");
      assert.match((echoed.lastError as LastError).message, /AccessDenied: Denied for token \[redacted\]/);
      const { jobs } = await core.store.listJobs({ limit: 1000 });
      assert.ok(jobs.length >= 9, `${jobs.length} jobs`);
      const persisted: unknown[] = [];
      for (const job of jobs) {
        persisted.push(job, await core.store.jobEvents(job.id), await core.store.jobRefs(job.id));
      }
      const haystacks = {
        database: JSON.stringify(persisted),
        logs: lines.join(""),
        metrics: (await system.metrics.render()).body,
      };
      assert.ok(haystacks.logs.includes("iam-attach-1"), "the logs were captured");
      assert.ok(haystacks.metrics.includes(KIND), "the metrics were rendered");
      const secrets = [
        aws.master.secretAccessKey,
        ...aws.issued.flatMap((s) => [s.secretAccessKey, s.sessionToken]),
      ];
      assert.ok(aws.issued.length >= 1);
      for (const [where, text] of Object.entries(haystacks)) {
        for (const secret of secrets) {
          assert.ok(!text.includes(secret), `a credential appears in the ${where}`);
        }
      }
    });
  });
}
