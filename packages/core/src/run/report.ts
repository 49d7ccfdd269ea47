import type { BackupTotals } from "../schedule/speculation.js";
import type { AutoTaskDecision } from "../plan/auto-tasks.js";
import type { TaskRecord } from "../schedule/task-record.js";

/** The machine-readable account of a run (`--json`, `report.json`). */
export interface RunReport {
  schemaVersion: 1;
  runId: string;
  job: string;
  backend: string;
  status: "succeeded" | "failed" | "cancelled";
  startedAt: string;
  /** Time spent in `prepare` (bundling, deploying, warming workers). */
  prepareMs: number;
  /** Time from the first invocation to the last result. */
  executeMs: number;
  /** Whole run, prepare and reduce included. */
  wallMs: number;
  concurrency: number;
  input: unknown;
  totals: {
    tasks: number;
    succeeded: number;
    failed: number;
    attempts: number;
    retries: number;
    throttled: number;
    coldStarts: number;
    billedMs: number;
    costUsd?: number;
    /**
     * Attempts the run gave up on before their answer whose billed time the platform did not report (no record, or
     * not yet): each is estimated at the attempt's time limit (the most the platform bills for one). Absent when none.
     * Their estimate is part of `billedMs` and `costUsd`; `estimatedBilledMs` and `estimatedCostUsd` say how much.
     */
    estimatedAttempts?: number;
    estimatedBilledMs?: number;
    estimatedCostUsd?: number;
    /** Highest number of attempts in flight at once. */
    peakConcurrency: number;
    /** Bytes the tasks read through `ctx.read` (their used attempts, read-ahead included); absent when none did. */
    bytesRead?: number;
    /** Backup attempts of stragglers; present when backups were on for the run. */
    backups?: BackupTotals;
  };
  throughput: { tasksPerSec: number };
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  metrics: Record<string, number | string>;
  /** How `tasks: "auto"` chose the task count: the probe's measurements and the rule's answer (see auto-tasks.ts). */
  autoTasks?: AutoTaskDecision;
  error?: { code: string; message: string };
  tasks: TaskRecord[];
}

/** The q-quantile (0..1) of the values, by nearest rank; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Short human summary lines for a report (used by the CLI). */
export function summarizeReport(r: RunReport): string[] {
  const s = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
  const t = r.totals;
  return [
    ...(r.autoTasks ? [`tasks auto: ${r.autoTasks.reason} (probe: ${r.autoTasks.probeTasks} tasks of ${r.autoTasks.fineTasks}, ${s(r.autoTasks.probeMs)})`] : []),
    `backend ${r.backend}, ${t.tasks} tasks, concurrency ${r.concurrency}: ${r.status} in ${s(r.wallMs)} (prepare ${s(r.prepareMs)}, execute ${s(r.executeMs)})`,
    `task latency p50 ${s(r.latencyMs.p50)}, p95 ${s(r.latencyMs.p95)}, p99 ${s(r.latencyMs.p99)}; ${r.throughput.tasksPerSec.toFixed(1)} tasks/s; peak in flight ${t.peakConcurrency}`,
    `attempts ${t.attempts} (retries ${t.retries}, throttled ${t.throttled}), cold starts ${t.coldStarts}` +
      (t.billedMs ? `, billed ${s(t.billedMs)}${t.estimatedBilledMs ? ` (of which ${s(t.estimatedBilledMs)} estimated for ${t.estimatedAttempts} attempts given up on)` : ""}` : "") +
      (t.costUsd !== undefined ? `, est. cost $${t.costUsd.toFixed(6)}${t.estimatedCostUsd ? ` (of which $${t.estimatedCostUsd.toFixed(6)} estimated)` : ""}` : "") +
      (t.bytesRead ? `, read ${t.bytesRead.toLocaleString("en-US")} bytes` : ""),
    ...(t.backups?.launched
      ? [
          `backup tasks ${t.backups.launched} launched, ${t.backups.won} won, ${t.backups.wasted} wasted (${s(t.backups.wastedMs)} of work thrown away` +
            (t.backups.costUsd !== undefined ? `, est. $${t.backups.costUsd.toFixed(6)}` : "") +
            ")",
        ]
      : []),
  ];
}
