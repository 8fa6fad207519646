/**
 * The job-kind contract: what every kind (machines/job-kind.ts) does, so the
 * kinds to come can be held to it (STYLE.md habit 5: "every adapter refuses a
 * bad payload permanently, honours an aborted signal, never puts a secret in
 * an error"). Each kind's test file calls {@link runJobKindContract} with a
 * setup that wires a real kind to its stand-in.
 *
 * 1. A bad payload fails permanently: `KindRegistry.validate()` throws a
 *    `ValidationError` naming the field, and `run()` given it unvalidated
 *    (where the kind validates inside run) rejects with a `PermanentError`.
 * 2. An aborted signal is honoured: a run whose signal is already aborted
 *    rejects with its reason and does nothing; a run aborted during its work
 *    rejects promptly with the reason and does no more work after.
 * 3. No secret in an error: a run with credentials the stand-in refuses fails
 *    permanently, and the error's message, stack, JSON and inspection carry
 *    none of the secrets.
 *
 * A kind that cannot do one (noop has no credentials) passes a skip reason.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { KindRegistry } from "../../actors/plugins/kind-registry.ts";
import { PermanentError, ValidationError } from "../../machines/errors.ts";
import { JobAbort, type JobKind } from "../../machines/job-kind.ts";

/** A payload the kind's schema refuses, and the field its error must name (`scope`, `policyArn`). */
export interface BadPayload {
  payload: unknown;
  field: string;
}

/** What a kind's test gives the contract. */
export interface JobKindFixture {
  /** A real kind, wired to its stand-in. */
  kind: JobKind;
  /** A payload the kind accepts and runs to success against the stand-in. */
  validPayload: unknown;
  badPayloads: BadPayload[];
  /** A run the stand-in refuses for its credentials: the kind wired to them (default `kind`) and a payload. */
  refused?: { kind?: JobKind; payload: unknown };
  /** Secrets that must never appear in an error: the good and the refused credentials' secret parts. */
  secrets: string[];
  /**
   * How to catch a run inside its work: `hold()` makes the stand-in slow to
   * answer (far longer than the 5 s a prompt abort is given), `started()`
   * resolves once the run's request reached it. Default:
   * the valid payload, aborted as soon as run() was called.
   */
  runUntilAborted?: { payload?: unknown; hold?(): void; started(): Promise<void> };
  /** How much the kind has done outside (requests the stand-in saw): a stopped run adds none. */
  activity?(): number;
  close(): Promise<void>;
}

export interface JobKindContractOptions {
  name: string;
  setup(): Promise<JobKindFixture>;
  /** Tests this kind cannot run, with the reason. */
  skip?: { runValidation?: string; secrets?: string };
}

/** Everything an error shows: message, stack, JSON and inspection (causes included). */
function text(error: unknown): string {
  return error instanceof Error
    ? `${error.message}\n${error.stack}\n${JSON.stringify(error)}\n${inspect(error, { depth: 5 })}`
    : inspect(error, { depth: 5 });
}

let runs = 0;
function start(kind: JobKind, payload: unknown, signal: AbortSignal) {
  return kind.run({
    id: `contract-${++runs}`,
    kind: kind.kind,
    attempt: 1,
    maxAttempts: 1,
    payload,
    org: null,
    signal,
  });
}

/** The rejection of `promise`, failing the test when it resolves or takes longer than `ms`. */
async function rejection(promise: Promise<unknown>, ms = 60_000): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), ms));
  try {
    const settled = await Promise.race([
      promise.then(() => "resolved" as const, (error: unknown) => ({ error })),
      late,
    ]);
    if (settled === "late") assert.fail(`run() had not settled after ${ms} ms`);
    if (settled === "resolved") assert.fail("run() resolved; it should have rejected");
    return settled.error;
  } finally {
    clearTimeout(timer);
  }
}

/** How long an aborted run may take to reject: far less than a held request (30 s). */
const PROMPT_MS = 5_000;

/** Lets the event loop turn a few times (timers included), so work a run left behind can show. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 250));

/** Runs the contract for one kind. */
export function runJobKindContract(options: JobKindContractOptions): void {
  describe(`Job kind contract: ${options.name}`, () => {
    const withFixture = (test: (fixture: JobKindFixture) => void | Promise<void>) => async () => {
      const fixture = await options.setup();
      try {
        await test(fixture);
      } finally {
        await fixture.close();
      }
    };

    it(
      "KindRegistry.validate() accepts the valid payload and refuses each bad one with a ValidationError naming the field",
      withFixture(({ kind, validPayload, badPayloads }) => {
        const registry = new KindRegistry([kind]);
        registry.validate(kind.kind, validPayload);
        assert.ok(badPayloads.length > 0, "the fixture gives bad payloads");
        for (const bad of badPayloads) {
          assert.throws(() => registry.validate(kind.kind, bad.payload), (error) => {
            assert.ok(error instanceof ValidationError, text(error));
            assert.ok(error instanceof PermanentError);
            assert.equal(error.field, `payload.${bad.field}`, JSON.stringify(bad.payload));
            assert.ok(error.message.includes(`payload.${bad.field}`), error.message);
            return true;
          });
        }
      }),
    );

    it(
      "run() given a bad payload unvalidated fails with a PermanentError",
      { skip: options.skip?.runValidation ?? false },
      withFixture(async ({ kind, badPayloads, secrets }) => {
        for (const bad of badPayloads) {
          const error = await rejection(start(kind, bad.payload, new AbortController().signal));
          assert.ok(error instanceof PermanentError, `${JSON.stringify(bad.payload)}: ${text(error)}`);
          for (const secret of secrets) assert.ok(!text(error).includes(secret), "a secret was echoed");
        }
      }),
    );

    it(
      "run() completes with the valid payload",
      withFixture(async ({ kind, validPayload }) => {
        await start(kind, kind.schema.parse(validPayload), new AbortController().signal);
      }),
    );

    it(
      "run() with an already aborted signal rejects with its reason and does nothing",
      withFixture(async ({ kind, validPayload, activity }) => {
        const before = activity?.() ?? 0;
        const controller = new AbortController();
        const reason = new JobAbort("cancel", "Cancelled by the contract");
        controller.abort(reason);
        const error = await rejection(
          start(kind, kind.schema.parse(validPayload), controller.signal),
          PROMPT_MS,
        );
        assert.ok(error === reason || error instanceof JobAbort, text(error));
        await settle();
        assert.equal(activity?.() ?? 0, before, "an aborted run did no work");
      }),
    );

    it(
      "run() aborted during its work rejects promptly with the signal's reason and does no more",
      withFixture(async ({ kind, validPayload, runUntilAborted, activity }) => {
        const controller = new AbortController();
        const reason = new JobAbort("timeout", "Timed out by the contract");
        runUntilAborted?.hold?.();
        const payload = kind.schema.parse(runUntilAborted?.payload ?? validPayload);
        const running = start(kind, payload, controller.signal);
        running.catch(() => {});
        await (runUntilAborted?.started() ?? Promise.resolve());
        controller.abort(reason);
        const error = await rejection(running, PROMPT_MS);
        assert.ok(error === reason || error instanceof JobAbort, text(error));
        const after = activity?.() ?? 0;
        await settle();
        assert.equal(activity?.() ?? 0, after, "the run kept working after it rejected");
      }),
    );

    it(
      "a run with credentials the stand-in refuses fails permanently and its error carries no secret",
      { skip: options.skip?.secrets ?? false },
      withFixture(async ({ kind, refused, secrets }) => {
        assert.ok(refused, "the fixture gives a refused run");
        assert.ok(secrets.length > 0, "the fixture names its secrets");
        const refusing = refused.kind ?? kind;
        const error = await rejection(
          start(refusing, refusing.schema.parse(refused.payload), new AbortController().signal),
        );
        assert.ok(error instanceof PermanentError, text(error));
        const said = text(error);
        for (const secret of secrets) assert.ok(!said.includes(secret), "a secret was echoed");
      }),
    );
  });
}
