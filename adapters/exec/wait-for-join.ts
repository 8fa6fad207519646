/**
 * Waits for the join-then-exec shell's report on fd 3: every cgroup joined
 * (the command is about to exec), or which one could not be, or a spawn that
 * failed outright. Either failure becomes a `PermanentError` coded
 * `SPAWN_FAILED`.
 *
 * @module
 */
import type { ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { PermanentError } from "../../machines/errors.ts";
import { ExecErrorCode } from "./exec-errors.ts";
import { joinedMessage, joinFailedPrefix } from "./join-command.ts";

/** Resolves once the child reported it joined its cgroups; rejects when it could not start. */
export function waitForJoin(child: ChildProcess, jobId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown) =>
      reject(
        new PermanentError(`Cannot start job "${jobId}": ${why}`, { code: ExecErrorCode.spawnFailed, cause }),
      );
    const report = child.stdio[3] as Readable | null;
    if (report === null || report === undefined) return fail("no report pipe");
    let text = "";
    report.on("data", (data: Uint8Array) => {
      text += new TextDecoder().decode(data);
      if (text.startsWith(`${joinedMessage}\n`)) resolve();
    });
    report.on("error", () => {});
    report.on("close", () => {
      if (text.startsWith(joinFailedPrefix)) {
        fail(
          `cannot join cgroup "${
            text.slice(joinFailedPrefix.length).trim().replace(/\/cgroup\.procs$/, "")
          }"`,
        );
      } else if (!text.startsWith(joinedMessage)) {
        fail("the process ended before joining its cgroups");
      }
    });
    child.once("error", (error) => fail(error.message, error));
  });
}
