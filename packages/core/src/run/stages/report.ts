// Stage 6 of a run, report: the scheduler's records become the run's report: totals, billed time and cost (the
// attempts given up on included, see billing.ts), throughput and latencies. The job's metrics join it once reduced.
import type { AutoTaskDecision } from "../../plan/auto-tasks.js";
import type { ScheduleResult } from "../../schedule/scheduler.js";
import type { Job } from "../../job/job.js";
import { quantile, type RunReport } from "../report.js";
import { accountAbandoned } from "./billing.js";
import type { ResolvedRun } from "./resolve.js";

/** What the run did, as the report needs it. */
export interface RunOutcome {
  /** The tasks the run ran (the probe's choice, or a failed probe's wave). */
  tasks: readonly unknown[];
  sched: ScheduleResult;
  autoTasks?: AutoTaskDecision;
  /** `performance.now()` once the backend was prepared, and once the tasks had run. */
  preparedAt: number;
  executedAt: number;
}

/** Assembles the run's report (status from the scheduler's failure, if any; metrics still empty). */
export async function reportRun<I, T, P, O>(job: Job<I, T, P, O>, r: ResolvedRun<I>, outcome: RunOutcome): Promise<RunReport> {
  const { sched, autoTasks, preparedAt: prepared, executedAt: executed, tasks } = outcome;
  const { origin } = r;
  const backend = r.opts.backend;
  const records = sched.records;
  const succeeded = records.filter((t) => t.status === "succeeded");
  // Tasks finished in an earlier session of a resumed run have no times in this one.
  const latencies = succeeded.filter((t) => t.startedAt !== undefined).map((t) => t.finishedAt! - t.startedAt!);
  const answeredMs = records.reduce((s, t) => s + (t.billedMs ?? 0), 0);
  const { measuredMs, estimatedMs, estimatedAttempts } = await accountAbandoned(backend, sched.abandoned, answeredMs, sched.failure?.code === "CANCELLED");
  const billedMs = answeredMs + measuredMs + estimatedMs;
  // A throttled attempt was refused before it ran: the platform does not bill it.
  // The probe's invocations are paid for too.
  const costUsd = backend.estimateCost?.({ invocations: sched.attempts - sched.throttled + (autoTasks?.probeAttempts ?? 0), billedMs: billedMs + (autoTasks?.probeBilledMs ?? 0) });
  // The wasted attempts' price: each one invocation, billed for what it ran (see BackupTotals.wastedMs).
  const backupCostUsd = sched.backups && backend.estimateCost?.({ invocations: sched.backups.wasted, billedMs: sched.backups.wastedMs });
  const estimatedCostUsd = estimatedAttempts ? backend.estimateCost?.({ invocations: estimatedAttempts, billedMs: estimatedMs }) : undefined;
  return {
    schemaVersion: 1,
    runId: r.runId,
    job: job.name,
    backend: backend.name,
    status: sched.failure ? (sched.failure.code === "CANCELLED" ? "cancelled" : "failed") : "succeeded",
    startedAt: r.startedAt,
    prepareMs: prepared - origin,
    executeMs: executed - prepared,
    wallMs: executed - origin,
    concurrency: r.concurrency,
    input: r.input,
    totals: {
      tasks: tasks.length,
      succeeded: succeeded.length,
      failed: records.filter((t) => t.status === "failed").length,
      attempts: sched.attempts,
      retries: sched.retries,
      throttled: sched.throttled,
      // Every attempt that paid for a new environment, failed attempts included (a record keeps its last success's).
      coldStarts: sched.coldStarts,
      billedMs,
      ...(costUsd !== undefined ? { costUsd } : {}),
      ...(estimatedAttempts ? { estimatedAttempts, estimatedBilledMs: estimatedMs, ...(estimatedCostUsd !== undefined ? { estimatedCostUsd } : {}) } : {}),
      peakConcurrency: sched.peakConcurrency,
      ...(sched.bytesRead ? { bytesRead: sched.bytesRead } : {}),
      ...(sched.backups ? { backups: { ...sched.backups, ...(backupCostUsd !== undefined ? { costUsd: backupCostUsd } : {}) } } : {}),
    },
    throughput: { tasksPerSec: succeeded.length / Math.max(1e-9, (executed - prepared) / 1000) },
    latencyMs: { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95), p99: quantile(latencies, 0.99), max: quantile(latencies, 1) },
    metrics: {},
    ...(autoTasks ? { autoTasks } : {}),
    tasks: records,
  };
}
