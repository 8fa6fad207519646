/**
 * The sync-provider contract: what every provider of the sync port
 * (adapters/sync/port.ts) does against its stand-in, so the connectors to come
 * can be held to it. Each provider's test file calls
 * {@link runSyncProviderContract} with a setup that starts its stand-in.
 *
 * 1. Reads every page: a run through the real engine completes, with more than
 *    one page, and yields what the stand-in serves.
 * 2. A throttled page (429 or the provider's equivalent, with Retry-After) is a
 *    TransientError the engine waits out for the announced time, then reads the
 *    same page again; the run still completes.
 * 3. Bad credentials are permanent (the run fails or its pages fail
 *    unretryable) and nothing the provider says carries the secret.
 * 4. An aborted signal stops the run with the signal's reason.
 *
 * A provider that cannot do one (LDAP has no Retry-After) passes a skip reason.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { runSync, type SyncOptions } from "../../adapters/sync/engine.ts";
import { PermanentError } from "../../machines/errors.ts";
import type {
  RunEnd,
  RunRef,
  RunStart,
  SyncProvider,
  SyncSink,
  SyncTarget,
} from "../../adapters/sync/port.ts";

/** What a provider's test gives the contract. */
export interface SyncProviderFixture {
  provider: SyncProvider<unknown, unknown>;
  /** A target the stand-in serves whole (its pages small enough that there are several). */
  target: SyncTarget;
  /** The same target with credentials the stand-in refuses. */
  badTarget: SyncTarget;
  /** Secrets that must never appear in an error: the good and the bad credentials' secret parts. */
  secrets: string[];
  /** How many items a complete run yields (at least). */
  minItems: number;
  /** Makes the next page request answer "throttled, retry after `seconds`". */
  throttleNext?(seconds: number): void;
  close(): Promise<void>;
}

export interface SyncProviderContractOptions {
  name: string;
  setup(): Promise<SyncProviderFixture>;
  /** Tests this provider cannot run, with the reason. */
  skip?: { throttle?: string };
}

/** A sink that keeps what it is given: the contract is about the provider, not the store. */
function memorySink() {
  const items: unknown[] = [];
  let stale = 0;
  const sink: SyncSink<unknown, unknown> = {
    beginRun: (_run: RunStart) => Promise.resolve({ started: true }),
    upsert(_run: RunRef, page: unknown[]) {
      items.push(...page);
      return Promise.resolve({ created: page.length, updated: 0 });
    },
    markStale() {
      stale++;
      return Promise.resolve(0);
    },
    finishRun: (_id: string, _end: RunEnd) => Promise.resolve(),
  };
  return { sink, items, completed: () => stale > 0 };
}

function text(error: unknown): string {
  return error instanceof Error
    ? `${error.message}\n${error.stack}\n${JSON.stringify(error)}\n${inspect(error, { depth: 5 })}`
    : String(error);
}

/** Runs the contract for one provider. */
export function runSyncProviderContract(options: SyncProviderContractOptions): void {
  describe(`Sync provider contract: ${options.name}`, () => {
    const run = (
      fixture: SyncProviderFixture,
      target: SyncTarget,
      extra: Partial<SyncOptions<unknown, unknown>> = {},
    ) => {
      const memory = memorySink();
      const summary = runSync({
        provider: fixture.provider,
        sink: memory.sink,
        target,
        runId: `contract-${Math.random().toString(36).slice(2)}`,
        signal: new AbortController().signal,
        backoff: { baseMs: 1, maxMs: 5 },
        ...extra,
      });
      return { summary, memory };
    };

    it("reads every page of the stand-in through the engine and completes", async () => {
      const fixture = await options.setup();
      try {
        const { summary, memory } = run(fixture, fixture.target);
        const done = await summary;
        assert.deepEqual(done.failedPages, []);
        assert.equal(done.complete, true);
        assert.ok(memory.completed(), "stale marking ran after the complete run");
        assert.ok(done.pages > 1, `more than one page (${done.pages})`);
        assert.ok(
          memory.items.length >= fixture.minItems,
          `${memory.items.length} >= ${fixture.minItems} items`,
        );
      } finally {
        await fixture.close();
      }
    });

    it(
      "waits out a throttled page for its Retry-After and reads the same page again",
      { skip: options.skip?.throttle ?? false },
      async () => {
        const fixture = await options.setup();
        try {
          const waits: number[] = [];
          const { summary: baseline } = run(fixture, fixture.target);
          const expected = (await baseline).items;
          fixture.throttleNext?.(7);
          const { summary, memory } = run(fixture, fixture.target, {
            sleep: (ms) => {
              waits.push(ms);
              return Promise.resolve();
            },
          });
          const done = await summary;
          assert.equal(done.complete, true, JSON.stringify(done.failedPages));
          // Providers whose reset is an epoch second (Okta) round it: within a second of 7 s.
          assert.ok(
            waits.some((ms) => ms >= 6000 && ms <= 8000),
            `waited the announced 7 s (waits: ${waits.join(", ")})`,
          );
          assert.equal(memory.items.length, expected, "the throttled page was read again, once");
        } finally {
          await fixture.close();
        }
      },
    );

    it("treats bad credentials as permanent and never echoes a secret", async () => {
      const fixture = await options.setup();
      try {
        const waits: number[] = [];
        const { summary } = run(fixture, fixture.badTarget, {
          sleep: (ms) => {
            waits.push(ms);
            return Promise.resolve();
          },
        });
        let said: string;
        try {
          const done = await summary;
          assert.equal(done.complete, false, "a run with refused credentials is not complete");
          assert.ok(done.failedPages.length > 0);
          assert.ok(done.failedPages.every((p) => !p.retryable), JSON.stringify(done.failedPages));
          said = JSON.stringify(done.failedPages);
        } catch (error) {
          assert.ok(error instanceof PermanentError, text(error));
          said = text(error);
        }
        assert.deepEqual(waits, [], "refused credentials are not retried");
        for (const secret of fixture.secrets) assert.ok(!said.includes(secret), "a secret was echoed");
      } finally {
        await fixture.close();
      }
    });

    it("stops with the signal's reason when aborted", async () => {
      const fixture = await options.setup();
      try {
        const controller = new AbortController();
        const reason = new Error("contract abort");
        const { summary } = run(fixture, fixture.target, {
          signal: controller.signal,
          concurrency: 1,
          sleep: () => new Promise(() => {}),
        });
        controller.abort(reason);
        await assert.rejects(summary, (error) => error === reason);
      } finally {
        await fixture.close();
      }
    });
  });
}
