import type { RunReport, TaskRecord } from "@superfaas/core";
import type { RunSummary, ScalingPoint } from "./schema.js";

/** One task drawn as a bar on the timeline: from its first start to its end, in the lane of the worker that ran it. */
export interface TimelineBar {
  task: number;
  /** Row of the timeline: `w1`, `w2`... for reported workers (by first start), `slot 1`... for the rest. */
  lane: string;
  /** The platform's worker id, when reported. */
  workerId?: string;
  /** Milliseconds since the run started. */
  startMs: number;
  endMs: number;
  coldStart: boolean;
  attempts: number;
  status: TaskRecord["status"];
}

/** The timeline of a run: bars and the lanes they sit in, top to bottom. */
export interface Timeline {
  lanes: string[];
  bars: TimelineBar[];
}

/** When the run stopped: the end of execution (tasks still running then are drawn up to it). */
export function runEndMs(report: RunReport): number {
  return report.prepareMs + report.executeMs;
}

/**
 * Lays a run's tasks out as a Gantt chart. Tasks whose backend reported a worker id share that worker's lane,
 * numbered by first use; tasks without one are packed greedily into the fewest "slots" that never overlap, so a
 * backend that reports nothing still gets an honest picture of its concurrency. Tasks that never started are left out.
 */
export function timeline(report: RunReport): Timeline {
  const end = runEndMs(report);
  const started = report.tasks
    .filter((t) => t.startedAt !== undefined)
    .map((t) => ({ t, start: t.startedAt!, end: Math.max(t.startedAt!, t.finishedAt ?? end) }))
    .sort((a, b) => a.start - b.start || a.t.index - b.t.index);
  const workerLane = new Map<string, string>();
  const slotFreeAt: number[] = [];
  const bars: TimelineBar[] = [];
  for (const { t, start, end: stop } of started) {
    let lane: string;
    if (t.workerId !== undefined) {
      lane = workerLane.get(t.workerId) ?? `w${workerLane.size + 1}`;
      workerLane.set(t.workerId, lane);
    } else {
      let slot = slotFreeAt.findIndex((free) => free <= start);
      if (slot < 0) slot = slotFreeAt.push(0) - 1;
      slotFreeAt[slot] = stop;
      lane = `slot ${slot + 1}`;
    }
    bars.push({
      task: t.index,
      lane,
      ...(t.workerId !== undefined ? { workerId: t.workerId } : {}),
      startMs: start,
      endMs: stop,
      coldStart: t.coldStart === true,
      attempts: t.attempts,
      status: t.status,
    });
  }
  const lanes = [...workerLane.values(), ...slotFreeAt.map((_, i) => `slot ${i + 1}`)];
  return { lanes, bars };
}

/** A point of a step function: `inFlight` tasks from `tMs` until the next point. */
export interface ConcurrencyPoint {
  tMs: number;
  inFlight: number;
}

/**
 * Tasks in flight over time, as a step function starting at 0 and ending at 0 at the run's end. A task counts from
 * its first start to its end, so a task waiting out a retry backoff still counts. A task that ends when another
 * starts does not overlap it.
 */
export function concurrencySeries(report: RunReport): ConcurrencyPoint[] {
  const end = runEndMs(report);
  const events: [number, number][] = [];
  for (const t of report.tasks) {
    if (t.startedAt === undefined) continue;
    events.push([t.startedAt, 1], [Math.max(t.startedAt, t.finishedAt ?? end), -1]);
  }
  // Ends before starts at the same instant.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const points: ConcurrencyPoint[] = [{ tMs: 0, inFlight: 0 }];
  let inFlight = 0;
  for (const [t, delta] of events) {
    inFlight += delta;
    const last = points[points.length - 1]!;
    if (last.tMs === t) last.inFlight = inFlight;
    else points.push({ tMs: t, inFlight });
  }
  const last = points[points.length - 1]!;
  if (last.tMs < end) points.push({ tMs: end, inFlight: 0 });
  // Drop points that repeat the previous value (a start and an end at one instant cancel out).
  return points.filter((p, i) => i === 0 || i === points.length - 1 || p.inFlight !== points[i - 1]!.inFlight);
}

/** One bin of a histogram: values v with start <= v < end. */
export interface HistogramBin {
  start: number;
  end: number;
  count: number;
}

/** Equal-width bins: `count` bins of width `step` from `start`. */
export interface BinEdges {
  start: number;
  step: number;
  count: number;
}

/** The smallest "nice" step (1, 2, 2.5 or 5 times a power of ten) at least `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) {
    const step = m * power;
    if (step >= raw * (1 - 1e-12)) return step;
  }
  return 10 * power;
}

const tidy = (x: number) => Number(x.toPrecision(12));

/**
 * Chooses bins for values: about Sturges' number (log2 n + 1), never more than `maxBins`, with a nice width and
 * edges on multiples of it. Every value falls in exactly one bin; the last bin ends above the largest value.
 */
export function binEdges(values: readonly number[], maxBins = 20): BinEdges {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { start: 0, step: 1, count: 0 };
  let min = Infinity;
  let max = -Infinity;
  for (const v of finite) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const target = Math.max(1, Math.min(maxBins, Math.ceil(Math.log2(finite.length)) + 1));
  let step = niceStep(max > min ? (max - min) / target : Math.max(Math.abs(min), 1) / 10);
  for (;;) {
    const start = tidy(Math.floor(min / step) * step);
    const count = Math.floor(tidy((max - start) / step)) + 1;
    if (count <= Math.max(1, maxBins)) return { start, step, count };
    step = niceStep(step * 1.0001);
  }
}

/** Counts values into bins (the `binEdges` of the values unless given); values outside the bins are ignored. */
export function histogram(values: readonly number[], edges: BinEdges = binEdges(values)): HistogramBin[] {
  const counts = new Array<number>(edges.count).fill(0);
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    const i = Math.floor(tidy((v - edges.start) / edges.step));
    if (i >= 0 && i < edges.count) counts[i]!++;
  }
  return counts.map((count, i) => ({ start: tidy(edges.start + i * edges.step), end: tidy(edges.start + (i + 1) * edges.step), count }));
}

/** Latency (first start to end) of every task that succeeded, in ms: what the histogram and the percentiles use. */
export function taskLatencies(report: RunReport): number[] {
  return report.tasks.filter((t) => t.status === "succeeded" && t.startedAt !== undefined && t.finishedAt !== undefined).map((t) => t.finishedAt! - t.startedAt!);
}

/** The side-by-side figures of a run. */
export function summarizeRun(report: RunReport): RunSummary {
  const t = report.totals;
  const firsts = report.tasks.filter((r) => r.status === "succeeded" && r.finishedAt !== undefined).map((r) => r.finishedAt!);
  const workers = new Set(report.tasks.map((r) => r.workerId).filter((w) => w !== undefined));
  return {
    wallMs: report.wallMs,
    prepareMs: report.prepareMs,
    executeMs: report.executeMs,
    firstResultMs: firsts.length ? Math.min(...firsts) : null,
    latencyMs: { p50: report.latencyMs.p50, p95: report.latencyMs.p95, p99: report.latencyMs.p99, max: report.latencyMs.max },
    tasks: t.tasks,
    succeeded: t.succeeded,
    failed: t.failed,
    concurrency: report.concurrency,
    peakConcurrency: t.peakConcurrency,
    attempts: t.attempts,
    retries: t.retries,
    throttled: t.throttled,
    coldStarts: t.coldStarts,
    workers: workers.size,
    tasksPerSec: report.throughput.tasksPerSec,
    billedMs: t.billedMs,
    ...(t.costUsd !== undefined ? { costUsd: t.costUsd } : {}),
  };
}

/** A measured level of a scaling series. */
export interface ScalingSample {
  label: string;
  level: number;
  wallMs: number;
  executeMs: number;
}

/**
 * Speedup and parallel efficiency of each level against the smallest one: speedup = T(base) / T(level) and
 * efficiency = speedup / (level / base level), T being execute time (default) or wall time. Sorted by level.
 */
export function scalingPoints(samples: readonly ScalingSample[], basis: "execute" | "wall" = "execute"): { baselineLevel: number; points: ScalingPoint[] } {
  if (samples.length === 0) return { baselineLevel: 1, points: [] };
  const sorted = [...samples].sort((a, b) => a.level - b.level);
  const base = sorted[0]!;
  const time = (s: ScalingSample) => (basis === "wall" ? s.wallMs : s.executeMs);
  const t0 = time(base);
  const points = sorted.map((s) => {
    const speedup = time(s) > 0 ? t0 / time(s) : 0;
    return { label: s.label, level: s.level, wallMs: s.wallMs, executeMs: s.executeMs, speedup, efficiency: speedup / (s.level / base.level) };
  });
  return { baselineLevel: base.level, points };
}
