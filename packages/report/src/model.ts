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

/** Each task's lane on the timeline (-1 for tasks that never started), and the lanes top to bottom. */
export interface LaneAssignment {
  lanes: string[];
  /** `laneOf[task index]`: position in `lanes`, or -1. */
  laneOf: Int32Array;
  /** Indices of the tasks that started, by first start (then index). */
  order: Uint32Array;
}

/** Start and end (ms since the run started) of a task on the timeline: an unfinished task runs to the run's end. */
function span(t: TaskRecord, end: number): [number, number] {
  return [t.startedAt!, Math.max(t.startedAt!, t.finishedAt ?? end)];
}

/**
 * Assigns every started task a lane. Tasks whose backend reported a worker id share that worker's lane, numbered
 * by first use; tasks without one are packed greedily into the lowest-numbered "slot" free at their start, so a
 * backend that reports nothing still gets an honest picture of its concurrency. Typed arrays and heaps keep this
 * O(n log n) in time and a few bytes per task in memory, for runs of a million tasks.
 */
export function assignLanes(report: RunReport): LaneAssignment {
  const end = runEndMs(report);
  const tasks = report.tasks;
  let started = 0;
  for (const t of tasks) if (t.startedAt !== undefined) started++;
  const order = new Uint32Array(started);
  let k = 0;
  for (let i = 0; i < tasks.length; i++) if (tasks[i]!.startedAt !== undefined) order[k++] = i;
  order.sort((a, b) => tasks[a]!.startedAt! - tasks[b]!.startedAt! || tasks[a]!.index - tasks[b]!.index);
  const laneOf = new Int32Array(tasks.length).fill(-1);
  const workerLane = new Map<string, number>();
  // Slots: `busy` holds [free-at, slot] of occupied slots (min-heap by free-at), `idle` the free slot numbers (min-heap).
  const busy = new MinHeap<[number, number]>((a, b) => a[0] - b[0]);
  const idle = new MinHeap<number>((a, b) => a - b);
  let slots = 0;
  const slotOf = new Int32Array(tasks.length).fill(-1);
  for (const i of order) {
    const t = tasks[i]!;
    if (t.workerId !== undefined) {
      let lane = workerLane.get(t.workerId);
      if (lane === undefined) workerLane.set(t.workerId, (lane = workerLane.size));
      laneOf[i] = lane;
      continue;
    }
    const [start, stop] = span(t, end);
    while (busy.size > 0 && busy.peek()![0] <= start) idle.push(busy.pop()![1]);
    const slot = idle.size > 0 ? idle.pop()! : slots++;
    busy.push([stop, slot]);
    slotOf[i] = slot;
  }
  // Worker lanes first, then the slots.
  const workers = workerLane.size;
  for (let i = 0; i < tasks.length; i++) if (slotOf[i]! >= 0) laneOf[i] = workers + slotOf[i]!;
  const lanes = [...Array.from({ length: workers }, (_, i) => `w${i + 1}`), ...Array.from({ length: slots }, (_, i) => `slot ${i + 1}`)];
  return { lanes, laneOf, order };
}

/** A binary min-heap, for the slot packing above. */
class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}
  get size(): number {
    return this.items.length;
  }
  peek(): T | undefined {
    return this.items[0];
  }
  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Lays a run's tasks out as a Gantt chart, one bar per started task (see `assignLanes` for the rows). Tasks that
 * never started are left out. For very large runs, `timelineCells` summarises the same picture.
 */
export function timeline(report: RunReport): Timeline {
  const end = runEndMs(report);
  const { lanes, laneOf, order } = assignLanes(report);
  const bars: TimelineBar[] = [];
  for (const i of order) {
    const t = report.tasks[i]!;
    const [start, stop] = span(t, end);
    bars.push({
      task: t.index,
      lane: lanes[laneOf[i]!]!,
      ...(t.workerId !== undefined ? { workerId: t.workerId } : {}),
      startMs: start,
      endMs: stop,
      coldStart: t.coldStart === true,
      attempts: t.attempts,
      status: t.status,
    });
  }
  return { lanes, bars };
}

/** One cell of a summarised timeline: a lane over a span of time. */
export interface TimelineCell {
  lane: string;
  startMs: number;
  endMs: number;
  /** Mean number of the lane's tasks running over the span: 1 is busy throughout, more when a worker runs several at once. */
  busy: number;
  /** Tasks that started in the cell, and how many of them were cold starts, retried or did not succeed. */
  tasks: number;
  coldStarts: number;
  retried: number;
  unfinished: number;
}

/**
 * The timeline summarised for runs too large to draw task by task: each lane cut into `bins` equal spans from the
 * start of the run to its end, with how busy the lane was in each and what started there. Memory is a few bytes
 * per task plus the cells, whatever the number of tasks.
 */
export function timelineCells(report: RunReport, bins: number, assigned: LaneAssignment = assignLanes(report)): { lanes: string[]; cells: TimelineCell[]; binMs: number } {
  const end = runEndMs(report);
  const { lanes, laneOf, order } = assigned;
  const n = Math.max(1, Math.floor(bins));
  const binMs = end > 0 ? end / n : 1;
  const cellCount = lanes.length * n;
  const busy = new Float64Array(cellCount);
  const counts = new Uint32Array(cellCount * 4);
  const binAt = (t: number) => Math.min(n - 1, Math.max(0, Math.floor(t / binMs)));
  for (const i of order) {
    const t = report.tasks[i]!;
    const [start, stop] = span(t, end);
    const row = laneOf[i]! * n;
    const first = binAt(start);
    const c = (row + first) * 4;
    counts[c]!++;
    if (t.coldStart) counts[c + 1]!++;
    if (t.attempts > 1) counts[c + 2]!++;
    if (t.status !== "succeeded") counts[c + 3]!++;
    for (let b = first; b <= binAt(stop); b++) {
      const overlap = Math.min(stop, (b + 1) * binMs) - Math.max(start, b * binMs);
      if (overlap > 0) busy[row + b]! += overlap;
    }
  }
  const cells: TimelineCell[] = [];
  for (let lane = 0; lane < lanes.length; lane++) {
    for (let b = 0; b < n; b++) {
      const cell = lane * n + b;
      if (busy[cell] === 0 && counts[cell * 4] === 0) continue;
      cells.push({
        lane: lanes[lane]!,
        startMs: b * binMs,
        endMs: (b + 1) * binMs,
        busy: busy[cell]! / binMs,
        tasks: counts[cell * 4]!,
        coldStarts: counts[cell * 4 + 1]!,
        retried: counts[cell * 4 + 2]!,
        unfinished: counts[cell * 4 + 3]!,
      });
    }
  }
  return { lanes, cells, binMs };
}

/** A point of a step function: `inFlight` tasks from `tMs` until the next point. */
export interface ConcurrencyPoint {
  tMs: number;
  inFlight: number;
}

/** Sorted first starts and ends of the started tasks, as typed arrays (16 bytes a task). */
function startsAndEnds(report: RunReport): { starts: Float64Array; ends: Float64Array } {
  const end = runEndMs(report);
  let n = 0;
  for (const t of report.tasks) if (t.startedAt !== undefined) n++;
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  let k = 0;
  for (const t of report.tasks) {
    if (t.startedAt === undefined) continue;
    const [s, e] = span(t, end);
    starts[k] = s;
    ends[k++] = e;
  }
  return { starts: starts.sort(), ends: ends.sort() };
}

/** Walks the in-flight count: calls `at(t, inFlight)` after each instant's changes (ends before starts at one instant). */
function sweepInFlight(starts: Float64Array, ends: Float64Array, at: (t: number, inFlight: number) => void): void {
  let i = 0;
  let j = 0;
  let inFlight = 0;
  while (i < starts.length || j < ends.length) {
    const t = j < ends.length && (i >= starts.length || ends[j]! <= starts[i]!) ? ends[j]! : starts[i]!;
    while (j < ends.length && ends[j] === t) {
      inFlight--;
      j++;
    }
    while (i < starts.length && starts[i] === t) {
      inFlight++;
      i++;
    }
    at(t, inFlight);
  }
}

/**
 * Tasks in flight over time, as a step function starting at 0 and ending at 0 at the run's end. A task counts from
 * its first start to its end, so a task waiting out a retry backoff still counts. A task that ends when another
 * starts does not overlap it.
 */
export function concurrencySeries(report: RunReport): ConcurrencyPoint[] {
  const end = runEndMs(report);
  const { starts, ends } = startsAndEnds(report);
  const points: ConcurrencyPoint[] = [{ tMs: 0, inFlight: 0 }];
  sweepInFlight(starts, ends, (t, inFlight) => {
    const last = points[points.length - 1]!;
    if (last.tMs === t) last.inFlight = inFlight;
    else points.push({ tMs: t, inFlight });
  });
  const last = points[points.length - 1]!;
  if (last.tMs < end) points.push({ tMs: end, inFlight: 0 });
  // Drop points that repeat the previous value (a start and an end at one instant cancel out).
  return points.filter((p, i) => i === 0 || i === points.length - 1 || p.inFlight !== points[i - 1]!.inFlight);
}

/** Tasks in flight during one span of time: the most at any instant and the time-weighted mean. */
export interface ConcurrencyBin {
  startMs: number;
  endMs: number;
  max: number;
  mean: number;
}

/**
 * Tasks in flight summarised over `bins` equal spans from the start of the run to its end, for runs whose step
 * function has too many points to draw: memory is 16 bytes a task plus the bins.
 */
export function concurrencyBins(report: RunReport, bins: number): ConcurrencyBin[] {
  const end = runEndMs(report);
  const n = Math.max(1, Math.floor(bins));
  const binMs = end > 0 ? end / n : 1;
  const max = new Float64Array(n);
  const area = new Float64Array(n);
  const { starts, ends } = startsAndEnds(report);
  let prevT = 0;
  let prevLevel = 0;
  // Adds the level held from prevT to t into the bins it covers.
  const hold = (t: number) => {
    if (t <= prevT) return;
    for (let b = Math.min(n - 1, Math.floor(prevT / binMs)); b < n && b * binMs < t; b++) {
      const overlap = Math.min(t, (b + 1) * binMs) - Math.max(prevT, b * binMs);
      if (overlap > 0) {
        area[b]! += overlap * prevLevel;
        if (prevLevel > max[b]!) max[b] = prevLevel;
      }
    }
  };
  sweepInFlight(starts, ends, (t, inFlight) => {
    hold(t);
    // A level that lasts no time (tasks starting and ending at one instant) still counts as the bin's peak.
    const b = Math.min(n - 1, Math.max(0, Math.floor(t / binMs)));
    if (inFlight > max[b]!) max[b] = inFlight;
    prevT = Math.max(prevT, t);
    prevLevel = inFlight;
  });
  hold(end);
  return Array.from({ length: n }, (_, b) => ({ startMs: b * binMs, endMs: (b + 1) * binMs, max: max[b]!, mean: area[b]! / binMs }));
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
  let finite = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    finite++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (finite === 0) return { start: 0, step: 1, count: 0 };
  const target = Math.max(1, Math.min(maxBins, Math.ceil(Math.log2(finite)) + 1));
  // Edges are rounded to 12 significant digits (tidy): a step finer than that rounding at this magnitude would let
  // the first edge round past the values (no bin, or thousands of them), so it is never finer than 1e-10 of it.
  const floorStep = niceStep(Math.max(Math.abs(min), Math.abs(max)) * 1e-10);
  let step = Math.max(floorStep, niceStep(max > min ? (max - min) / target : Math.max(Math.abs(min), 1) / 10));
  for (;;) {
    let start = tidy(Math.floor(min / step) * step);
    if (start > min) start = tidy(start - step);
    let count = Math.floor(tidy((max - start) / step)) + 1;
    // The quotient is rounded before the floor: a largest value just below an edge may land on it (999999.8 and 1e6
    // in steps of 0.2), and the last bin must end above it, as the edges are computed.
    if (tidy(start + count * step) <= max) count++;
    if (count <= Math.max(1, maxBins)) return { start, step, count };
    step = niceStep(step * 1.0001);
  }
}

/** Counts values into bins (the `binEdges` of the values unless given); values outside the bins are ignored. */
export function histogram(values: readonly number[], edges: BinEdges = binEdges(values)): HistogramBin[] {
  const counts = new Array<number>(edges.count).fill(0);
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    let i = Math.floor(tidy((v - edges.start) / edges.step));
    // The bin whose edges (as reported) hold the value, whatever the rounded quotient said.
    if (tidy(edges.start + (i + 1) * edges.step) <= v) i++;
    else if (tidy(edges.start + i * edges.step) > v) i--;
    if (i >= 0 && i < edges.count) counts[i]!++;
  }
  return counts.map((count, i) => ({ start: tidy(edges.start + i * edges.step), end: tidy(edges.start + (i + 1) * edges.step), count }));
}

/** Latency (first start to end) of every task that succeeded, in ms: what the histogram and the percentiles use. */
export function taskLatencies(report: RunReport): number[] {
  const out: number[] = [];
  for (const t of report.tasks) if (t.status === "succeeded" && t.startedAt !== undefined && t.finishedAt !== undefined) out.push(t.finishedAt - t.startedAt);
  return out;
}

/** The side-by-side figures of a run. */
export function summarizeRun(report: RunReport): RunSummary {
  const t = report.totals;
  // One pass, no spread into Math.min: a spread of a million values overflows the call stack.
  let firstResult = Infinity;
  const workers = new Set<string>();
  for (const r of report.tasks) {
    if (r.status === "succeeded" && r.finishedAt !== undefined && r.finishedAt < firstResult) firstResult = r.finishedAt;
    if (r.workerId !== undefined) workers.add(r.workerId);
  }
  return {
    wallMs: report.wallMs,
    prepareMs: report.prepareMs,
    executeMs: report.executeMs,
    firstResultMs: firstResult === Infinity ? null : firstResult,
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
