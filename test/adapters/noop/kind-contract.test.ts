/** noop holds to the job-kind contract (it talks to nothing, so it has no credentials to refuse). */
import { runJobKindContract } from "../../contract/job-kind.contract.ts";
import { noopKind } from "../../../adapters/noop/mod.ts";
import type { JobKind } from "../../../machines/job-kind.ts";

runJobKindContract({
  name: "noop",
  skip: {
    runValidation: "noop trusts its payload: the worker validates it with the schema before run()",
    secrets: "noop has no credentials",
  },
  setup: () =>
    Promise.resolve({
      kind: noopKind as unknown as JobKind,
      validPayload: { sleepMs: 0 },
      badPayloads: [
        { payload: { sleepMs: "soon" }, field: "sleepMs" },
        { payload: { sleepMs: -1 }, field: "sleepMs" },
        { payload: { failWith: "sometimes" }, field: "failWith" },
      ],
      secrets: [],
      // An hour's sleep: only the abort ends it.
      runUntilAborted: { payload: { sleepMs: 3_600_000 }, started: () => Promise.resolve() },
      close: () => Promise.resolve(),
    }),
});
