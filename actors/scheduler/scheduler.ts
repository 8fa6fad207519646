/**
 * The scheduler actor: every tick it claims the due slots of enabled schedules
 * (several schedulers share them through `SKIP LOCKED`), submits one job per
 * slot with a deterministic id (so a slot never fires twice), re-submits a
 * claimed slot whose job never arrived (a crash between claim and submit), and
 * copies each schedule's last job status onto it.
 *
 * @module
 */
import type { ClaimedSlot, ScheduleInput, SqlSchedules } from "../../adapters/postgres/sql-schedules.ts";
import { toJobErrorInfo } from "../../machines/errors.ts";
import type { JobService } from "../jobs/job-service.ts";
import type { Logger } from "../observability/logger.ts";

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
  schedules: SqlSchedules;
  jobs: JobService;
  logger: Logger;
  /** Time between ticks. Default 1,000 ms. */
  tickMs?: number;
  /** Slots claimed per tick at most. Default 100. */
  batch?: number;
  /** A claimed slot without a job this long after is submitted again. Default 10 s. */
  resubmitAfterSeconds?: number;
  /** Schedules the configuration defines (`<NAME>_ENABLED`), created or updated at start. */
  defaults?: ScheduleInput[];
}

export class Scheduler {
  #o: SchedulerOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  /** Slots submitted and skipped since start. */
  readonly stats = { submitted: 0, skipped: 0, errors: 0 };

  constructor(options: SchedulerOptions) {
    this.#o = options;
  }

  /** Ensures the default schedules, then ticks until stopped. */
  async start(): Promise<void> {
    for (const schedule of this.#o.defaults ?? []) {
      const row = await this.#o.schedules.ensure(schedule);
      this.#o.logger.info({
        schedule: row.id,
        kind: row.kind,
        intervalSeconds: row.intervalSeconds,
        enabled: row.enabled,
      }, "Schedule from the configuration");
    }
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.tick()
        .catch((error) => this.#o.logger.warn({ err: error }, "Scheduler tick failed; trying again"))
        .finally(() => {
          this.#running = undefined;
          this.#schedule(this.#o.tickMs ?? 1000);
        });
    }, ms);
  }

  /** One pass: claim and submit due slots, re-submit lost ones, refresh statuses. */
  async tick(): Promise<void> {
    const slots = await this.#o.schedules.claimDue(this.#o.batch ?? 100);
    for (const slot of slots) await this.#fire(slot);
    for (const schedule of await this.#o.schedules.unsubmitted(this.#o.resubmitAfterSeconds ?? 10)) {
      if (!schedule.lastJobId) continue;
      this.#o.logger.warn(
        { schedule: schedule.id, jobId: schedule.lastJobId },
        "A claimed slot has no job yet; submitting it again",
      );
      await this.#fire({ schedule, jobId: schedule.lastJobId, skipped: false });
    }
    await this.#o.schedules.refreshStatus();
  }

  async #fire({ schedule, jobId, skipped }: ClaimedSlot): Promise<void> {
    if (skipped) {
      this.stats.skipped++;
      this.#o.logger.info(
        { schedule: schedule.id, lastJobId: schedule.lastJobId },
        "Skipped a slot: the previous run is still open",
      );
      return;
    }
    try {
      const submitted = await this.#o.jobs.submit({
        id: jobId,
        kind: schedule.kind,
        payload: schedule.payload,
        ...(schedule.org ? { org: schedule.org } : {}),
        actor: `schedule:${schedule.id}`,
      });
      this.stats.submitted++;
      this.#o.logger.info({ schedule: schedule.id, jobId, duplicate: submitted.duplicate }, "Schedule fired");
    } catch (error) {
      this.stats.errors++;
      const info = toJobErrorInfo(error);
      if (info.kind === "permanent") {
        // An unknown kind or a payload the kind refuses: say so on the schedule; the next slot tries again.
        await this.#o.schedules.recordSubmitError(schedule.id, jobId, {
          code: info.code,
          message: info.message,
        });
        this.#o.logger.warn(
          { schedule: schedule.id, jobId, code: info.code, error: info.message },
          "A schedule's job was refused",
        );
      } else {
        // The bus or the database is away: the slot stays claimed without a job and is submitted again.
        this.#o.logger.warn(
          { schedule: schedule.id, jobId, code: info.code, error: info.message },
          "Could not submit a schedule's job yet",
        );
      }
    }
  }

  /** Stops ticking and waits for the tick in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }
}
