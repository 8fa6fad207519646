/**
 * Job states, named exactly as the `jobs.status` and `job_events.status` columns.
 *
 * @module
 */

/** Every state a job can be in. */
export const JobStatus = {
  pending: "pending",
  locked: "locked",
  running: "running",
  success: "success",
  retry: "retry",
  failed: "failed",
  cancelled: "cancelled",
} as const;

/** One of {@link JobStatus}. */
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

/** States a job never leaves (except by an explicit redrive). */
export const FINAL_STATUSES: readonly JobStatus[] = ["success", "failed", "cancelled"];

/** Whether `status` is final. */
export function isFinalStatus(status: string): boolean {
  return status === "success" || status === "failed" || status === "cancelled";
}
