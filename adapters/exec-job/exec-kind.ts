/**
 * The `exec` kind: runs a command on an exec agent and waits for it. The agent
 * is chosen by name or labels; before starting anything the handler asks every
 * candidate whether it already runs this job (a redelivery after a worker died)
 * and re-attaches to it, so a command never runs twice. While it runs the
 * handler polls its status; an abort (cancel, timeout, lost lease, shutdown)
 * stops it; an agent that stops answering fails the job (`AGENT_LOST`), or
 * retries it when the payload asked for `retryOnAgentLoss`.
 *
 * @module
 */
import { AbortWhy, defineKind, JobAbort } from "../../machines/job-kind.ts";
import { PermanentError, TransientError } from "../../machines/errors.ts";
import type { AgentJobState, ExecOutcome } from "../../bus/agent-protocol.ts";
import { execPayloadSchema } from "./schema.ts";

/** How the kind reaches agents (wired by the system from the bus). */
export interface AgentLink {
  /** Live agents matching the selector, the preferred one first. */
  candidates(selector: { agent?: string | undefined; labels?: Record<string, string> | undefined }): string[];
  /** A request to an agent; throws a TransientError when it does not answer. */
  request(
    agent: string,
    verb: "run" | "status" | "stop" | "forget",
    body: unknown,
    timeoutMs: number,
  ): Promise<AgentJobState>;
}

/** Options of {@link createExecKind}. */
export interface ExecKindOptions {
  link: AgentLink;
  /** How often a running command's status is asked, at most (it starts at 20 ms and doubles). Default 250 ms. */
  pollMs?: number;
  /** An agent silent this long is lost. Default 6 s. */
  agentLossMs?: number;
  /** SIGTERM to SIGKILL when a job is stopped. Default 5 s. */
  stopGraceMs?: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });

/**
 * Turns an ended command into the job's result, or the error that fails it.
 * The error carries the command's outcome (exit code, signal, OOM flag, CPU,
 * memory) as its `result`, which the job keeps: nobody has to read it back out
 * of the message.
 */
export function outcomeToResult(
  outcome: ExecOutcome,
  timeoutMs: number | undefined,
): { result: ExecOutcome } {
  const fail = (message: string, code: string) => new PermanentError(message, { code, result: outcome });
  if (outcome.stoppedBy === "timeout") {
    throw fail(`Command timed out after ${timeoutMs ?? "?"} ms and was stopped`, "TIMEOUT");
  }
  if (outcome.oomKilled) {
    throw fail(
      `Command was killed by the kernel for exceeding its memory limit (exit code ${outcome.exitCode})`,
      "OOM_KILLED",
    );
  }
  if (outcome.stoppedBy === "output-limit" || outcome.outputTruncated) {
    const how = outcome.stoppedBy === "output-limit"
      ? "the command was stopped"
      : `the command ${
        outcome.exitCode === null ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`
      }`;
    throw fail(
      `Command output reached the cap of ${
        outcome.outputLimitBytes ?? "?"
      } bytes as stored and ${how} (${outcome.outputBytes} bytes written, ${outcome.droppedBytes} dropped)`,
      "OUTPUT_LIMIT",
    );
  }
  if (outcome.stoppedBy === "stop") throw fail("Command was stopped", "STOPPED");
  if (outcome.exitCode !== 0) {
    const how = outcome.exitCode === null
      ? `was killed by ${outcome.signal}`
      : `exited with code ${outcome.exitCode}`;
    throw fail(`Command ${how}`, "EXIT_NONZERO");
  }
  return { result: outcome };
}

/** Creates the `exec` kind. */
export function createExecKind(options: ExecKindOptions) {
  const { link } = options;
  const pollMs = options.pollMs ?? 250;
  const agentLossMs = options.agentLossMs ?? 6000;
  const stopGraceMs = options.stopGraceMs ?? 5000;
  return defineKind({
    kind: "exec",
    description: "Runs a command on an exec agent, sandboxed and limited, streaming its output",
    schema: execPayloadSchema,
    // Safe to retry: a command that started is found again (re-attach), and its own failures are permanent.
    maxAttempts: 3,
    // The agent enforces the command's own timeout; this only bounds a stuck attempt.
    timeoutMs: 7 * 24 * 3_600_000,
    concurrency: 64,
    async run({ id, attempt, payload, signal }) {
      const { agent: wanted, labels, retryOnAgentLoss, ...spec } = payload;
      let candidates = link.candidates({ agent: wanted, labels });
      // Heartbeats arrive every few seconds: a worker that just started may not have heard one yet.
      for (let waited = 0; candidates.length === 0 && waited < 5000 && !signal.aborted; waited += 250) {
        await sleep(250, signal);
        candidates = link.candidates({ agent: wanted, labels });
      }
      if (candidates.length === 0) {
        const what = wanted
          ? `agent "${wanted}" is not connected`
          : `no connected agent carries labels ${JSON.stringify(labels ?? {})}`;
        throw new TransientError(`Cannot run job "${id}": ${what}`, { code: "NO_AGENT", retryAfterMs: 2000 });
      }
      // A redelivery after a worker died: find the agent that already runs it.
      let agent = candidates[0]!;
      let state: AgentJobState | undefined;
      for (const name of candidates) {
        const known = await link.request(name, "status", { jobId: id }, 2000).catch(() => undefined);
        if (known && known.state !== "unknown") {
          agent = name;
          state = known;
          break;
        }
      }
      state ??= await link.request(agent, "run", { jobId: id, attempt, spec }, 15_000);
      const lost = () => {
        const message = `Agent "${agent}" stopped answering while job "${id}" ran`;
        return retryOnAgentLoss
          ? new TransientError(message, { code: "AGENT_LOST" })
          : new PermanentError(message, { code: "AGENT_LOST" });
      };
      let silentSince: number | undefined;
      // Short commands end in milliseconds: ask soon, then back off to pollMs.
      let wait = Math.min(20, pollMs);
      for (;;) {
        if (state?.state === "refused") {
          const { code, message, permanent } = state.error;
          throw permanent ? new PermanentError(message, { code }) : new TransientError(message, { code });
        }
        if (state?.state === "done") {
          await link.request(agent, "forget", { jobId: id }, 2000).catch(() => {});
          return outcomeToResult(state.outcome, spec.timeoutMs);
        }
        if (state?.state === "unknown") throw lost();
        if (signal.aborted) {
          // Shutdown or takeover: the next worker re-attaches, so the command goes on.
          const handedOver = signal.reason instanceof JobAbort &&
            (signal.reason.why === AbortWhy.shutdown || signal.reason.why === AbortWhy.leaseLost);
          if (handedOver) throw signal.reason;
          // Cancel or timeout: stop the command and keep its outcome (exit code, signal, usage).
          let stopped = await link.request(
            agent,
            "stop",
            { jobId: id, graceMs: stopGraceMs },
            stopGraceMs + 5000,
          )
            .catch(() => undefined);
          for (let waited = 0; stopped?.state === "running" && waited < 5000; waited += 100) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            stopped = await link.request(agent, "status", { jobId: id }, 2000).catch(() => undefined);
          }
          // Not forgotten: the agent keeps a stopped command's record for a while (troupe stop, re-attach).
          if (stopped?.state !== "done") throw signal.reason;
          const reason = signal.reason as unknown;
          const why = reason instanceof JobAbort ? reason.why : AbortWhy.cancel;
          throw new PermanentError(reason instanceof Error ? reason.message : "Command was stopped", {
            code: why === AbortWhy.timeout ? "TIMEOUT" : "CANCELLED",
            cause: reason,
            result: stopped.outcome,
          });
        }
        await sleep(wait, signal);
        wait = Math.min(pollMs, wait * 2);
        if (signal.aborted) continue;
        try {
          state = await link.request(agent, "status", { jobId: id }, 2000);
          silentSince = undefined;
        } catch {
          silentSince ??= Date.now();
          if (Date.now() - silentSince > agentLossMs) throw lost();
          state = undefined;
        }
      }
    },
  });
}
