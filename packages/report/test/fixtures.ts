import { quantile, type RunReport, type TaskRecord } from "@superfaas/core";

/** A task of a synthetic run: times in ms since the run started. */
export interface FakeTask {
  start?: number;
  end?: number;
  worker?: string;
  cold?: boolean;
  attempts?: number;
  status?: TaskRecord["status"];
}

/** Builds a RunReport as `run()` would, from a list of task lives, so report code can be tested without a backend. */
export function fakeReport(tasks: FakeTask[], opts: { backend?: string; job?: string; prepareMs?: number; concurrency?: number; costUsd?: number; input?: unknown } = {}): RunReport {
  const prepareMs = opts.prepareMs ?? 10;
  const records: TaskRecord[] = tasks.map((t, index) => ({
    index,
    queuedAt: prepareMs,
    attempts: t.attempts ?? (t.start === undefined ? 0 : 1),
    status: t.status ?? (t.start === undefined ? "pending" : "succeeded"),
    ...(t.start !== undefined ? { startedAt: t.start } : {}),
    ...(t.end !== undefined ? { finishedAt: t.end } : {}),
    ...(t.worker !== undefined ? { workerId: t.worker } : {}),
    ...(t.cold !== undefined ? { coldStart: t.cold } : {}),
  }));
  const ok = records.filter((r) => r.status === "succeeded");
  const latencies = ok.map((r) => r.finishedAt! - r.startedAt!);
  const last = Math.max(prepareMs, ...records.map((r) => r.finishedAt ?? 0));
  const executeMs = last - prepareMs;
  const failed = records.filter((r) => r.status === "failed").length;
  return {
    schemaVersion: 1,
    runId: "00000000-0000-4000-8000-000000000000",
    job: opts.job ?? "fake",
    backend: opts.backend ?? "local",
    status: failed ? "failed" : "succeeded",
    startedAt: "2026-01-02T03:04:05.000Z",
    prepareMs,
    executeMs,
    wallMs: last + 1,
    concurrency: opts.concurrency ?? 2,
    input: opts.input ?? { n: 1 },
    totals: {
      tasks: records.length,
      succeeded: ok.length,
      failed,
      attempts: records.reduce((s, r) => s + r.attempts, 0),
      retries: records.reduce((s, r) => s + Math.max(0, r.attempts - 1), 0),
      throttled: 0,
      coldStarts: records.filter((r) => r.coldStart).length,
      billedMs: 0,
      ...(opts.costUsd !== undefined ? { costUsd: opts.costUsd } : {}),
      peakConcurrency: opts.concurrency ?? 2,
    },
    throughput: { tasksPerSec: ok.length / Math.max(1e-9, executeMs / 1000) },
    latencyMs: { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95), p99: quantile(latencies, 0.99), max: quantile(latencies, 1) },
    metrics: {},
    ...(failed ? { error: { code: "TASK_FAILED", message: "task failed in map: Error: boom" } } : {}),
    tasks: records,
  };
}

/** A plausible run: `n` tasks spread over `workers` workers, the first task of each a cold start. */
export function busyReport(n: number, workers: number, opts: { backend?: string; taskMs?: number; prepareMs?: number; costUsd?: number; seed?: number } = {}): RunReport {
  const taskMs = opts.taskMs ?? 40;
  const prepareMs = opts.prepareMs ?? 25;
  let s = opts.seed ?? 1;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const free = Array.from({ length: workers }, () => prepareMs);
  const tasks: FakeTask[] = [];
  for (let i = 0; i < n; i++) {
    const w = free.indexOf(Math.min(...free));
    const cold = free[w] === prepareMs;
    const start = free[w]! + rand() * 2;
    const end = start + taskMs * (0.6 + rand() * 0.8) + (cold ? taskMs : 0);
    free[w] = end;
    tasks.push({ start, end, worker: `${opts.backend ?? "local"}:${1000 + w}`, cold, attempts: rand() < 0.08 ? 2 : 1 });
  }
  return fakeReport(tasks, { backend: opts.backend ?? "local", prepareMs, concurrency: workers, ...(opts.costUsd !== undefined ? { costUsd: opts.costUsd } : {}) });
}

/**
 * A run of `n` tiny tasks on `workers` workers, built directly (no per-task spread or filter), so tests can afford a
 * million of them.
 */
export function manyTasksReport(n: number, workers: number, opts: { backend?: string; workerIds?: boolean } = {}): RunReport {
  const prepareMs = 25;
  const free = new Array<number>(workers).fill(prepareMs);
  const tasks: TaskRecord[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const w = i % workers;
    const start = free[w]! + 0.1;
    const end = start + 1 + (i % 7) * 0.3;
    free[w] = end;
    tasks[i] = {
      index: i,
      queuedAt: prepareMs,
      attempts: i % 1000 === 999 ? 2 : 1,
      status: "succeeded",
      startedAt: start,
      finishedAt: end,
      ...(opts.workerIds === false ? {} : { workerId: `local:1:${w}` }),
      coldStart: i < workers,
    };
  }
  let last = prepareMs;
  for (const f of free) if (f > last) last = f;
  return {
    schemaVersion: 1,
    runId: "00000000-0000-4000-8000-000000000000",
    job: "many",
    backend: opts.backend ?? "local",
    status: "succeeded",
    startedAt: "2026-01-02T03:04:05.000Z",
    prepareMs,
    executeMs: last - prepareMs,
    wallMs: last + 1,
    concurrency: workers,
    input: { n },
    totals: { tasks: n, succeeded: n, failed: 0, attempts: n + Math.floor(n / 1000), retries: Math.floor(n / 1000), throttled: 0, coldStarts: workers, billedMs: 0, peakConcurrency: workers },
    throughput: { tasksPerSec: n / ((last - prepareMs) / 1000) },
    latencyMs: { p50: 2, p95: 2.8, p99: 2.8, max: 2.8 },
    metrics: {},
    tasks,
  };
}
