// `tasks: "auto"` chosen from measurement: a short probe on the real backend measures what one invocation costs beyond
// its work and how much work the job holds, and a small cost model picks the task count. The rule is a pure function
// of the measurements (`chooseTaskCount`), so it can be tested and explained; `probeTaskCount` takes the measurements.
import type { Backend } from "../backend.js";
import type { TaskRecord } from "../schedule/task-record.js";
import { schedule, type ScheduleOptions, type ScheduleResult } from "../schedule/scheduler.js";

/** Tasks per slot of concurrency that the fine partition is cut into: a fine task is ~1/256 of a slot's work. */
export const FINE_TASKS_PER_SLOT = 256;
/** Most tasks of the fine partition, whatever the concurrency (their records are kept while the probe runs). */
export const MAX_FINE_TASKS = 65_536;
/** How much bigger a coarse probe task is than a fine one: a coarse task is ~1/32 of a slot's work. */
export const COARSE_RATIO = 8;
/** Expected extra time of the slowest task of a wave, as a share of a task's time, when the probe saw no spread. */
export const STRAGGLER_FLOOR = 0.25;
/** Waves per slot wanted to absorb stragglers and uneven tasks... */
export const MIN_WAVES = 3;
/** ...as long as their overhead stays within this share of a slot's work. */
export const OVERHEAD_BUDGET = 0.1;

/** What the rule is given: the run's concurrency and bounds, and what the probe measured. */
export interface AutoTaskInputs {
  /** Tasks in flight at once (slots). */
  concurrency: number;
  /** What one invocation costs beyond its work, in ms (latency minus the time the function ran). */
  overheadMs: number;
  /** The whole job's work, in ms of function time. */
  workMs: number;
  /** Coefficient of variation of the probe tasks' durations (0 for identical tasks). */
  spread: number;
  /** Most tasks the run may have (items in the input, the backend's bound, this process's bound). */
  maxTasks: number;
}

/** The chosen count and why: the report's `autoTasks` field. */
export interface AutoTaskDecision {
  tasks: number;
  /** Tasks per slot: tasks ÷ concurrency. */
  waves: number;
  overheadMs: number;
  workMs: number;
  spread: number;
  /** The straggler share used: the larger of the measured spread's tail and `STRAGGLER_FLOOR`. */
  straggler: number;
  /** The model's wall time for the chosen count, in ms. */
  estimatedMs: number;
  /** Tasks of the fine partition the probe drew from, and the probe tasks that ran. */
  fineTasks: number;
  probeTasks: number;
  /** Wall time of the probe, in ms, and what it was billed (its partials are not reused). */
  probeMs: number;
  probeBilledMs: number;
  probeAttempts: number;
  /** One sentence for people. */
  reason: string;
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms < 10 ? ms.toFixed(1) : ms.toFixed(0)} ms`);

/**
 * The rule. With c slots, N = m·c tasks (m waves per slot), an overhead o per invocation and W ms of work, the wall
 * time is about  T(m) = m·o + W/c + s·W/(c·m): every wave pays the overhead once, the work divides among the slots,
 * and the last wave ends when its slowest task does, s of a task's time after the others (s: the stragglers' share,
 * from the measured spread of task times, never below STRAGGLER_FLOOR). T is least at m* = √(s·W / (c·o)). At least
 * MIN_WAVES waves are kept as long as their overhead stays within OVERHEAD_BUDGET of a slot's work, then the count is
 * clamped to [1, maxTasks]. Pure: the same measurements give the same count.
 */
export function chooseTaskCount(m: AutoTaskInputs): Omit<AutoTaskDecision, "fineTasks" | "probeTasks" | "probeMs" | "probeBilledMs" | "probeAttempts"> {
  const c = Math.max(1, Math.floor(m.concurrency));
  const o = Math.max(0.01, m.overheadMs);
  const perSlot = Math.max(0, m.workMs) / c;
  const spread = Number.isFinite(m.spread) ? Math.max(0, m.spread) : 0;
  // The slowest of c tasks lies about √(2 ln c) standard deviations above their mean.
  const straggler = Math.max(STRAGGLER_FLOOR, spread * Math.sqrt(2 * Math.log(Math.max(2, c))));
  const best = Math.sqrt((straggler * perSlot) / o);
  const affordable = Math.max(1, Math.floor((OVERHEAD_BUDGET * perSlot) / o));
  const waves = Math.max(1, Math.round(best), Math.min(MIN_WAVES, affordable));
  const tasks = Math.max(1, Math.min(Math.floor(m.maxTasks), waves * c));
  const w = tasks / c;
  const slots = Math.min(c, tasks);
  const estimatedMs = Math.ceil(w) * o + perSlot * (c / slots) + (straggler * m.workMs) / tasks;
  const why =
    tasks < waves * c
      ? `capped at ${tasks} (the most this run may have)`
      : waves === Math.round(best) || waves === 1
        ? "where the overhead of more waves and the tail of the last one balance"
        : `${waves} waves to absorb stragglers, their overhead within ${OVERHEAD_BUDGET * 100}% of the work`;
  return {
    tasks,
    waves: w,
    overheadMs: m.overheadMs,
    workMs: m.workMs,
    spread,
    straggler,
    estimatedMs,
    reason: `${tasks} tasks (${Number(w.toFixed(2))} per slot, ${c} slots): ${fmt(m.overheadMs)} overhead per invocation and ${fmt(perSlot)} of work per slot; ${why}`,
  };
}

/** How many tasks the fine partition asks the job for: enough that a fine task is a small slice of a slot's work. */
export function fineTaskCount(concurrency: number, maxTasks: number): number {
  return Math.max(1, Math.min(maxTasks, MAX_FINE_TASKS, concurrency * FINE_TASKS_PER_SLOT));
}

/** How many tasks the coarse partition asks for: COARSE_RATIO times fewer, so each holds that much more work. */
export function coarseTaskCount(fineTasks: number): number {
  return Math.max(1, Math.round(fineTasks / COARSE_RATIO));
}

/** A probe that ran: the decision, or the probe's own result when one of its tasks failed for good. */
export type ProbeOutcome = { decision: AutoTaskDecision; failed?: undefined } | { decision?: undefined; failed: ScheduleResult; tasks: unknown[] };

const medianOf = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length === 0 ? 0 : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/**
 * Measures the backend and the job: one wave of fine tasks (one per slot; a second when the first started any worker
 * cold, so the figures are of warm workers), then one wave of coarse tasks, COARSE_RATIO times bigger. A task's
 * latency is the overhead plus its share of the work, so the two waves' medians give both:
 * fine = o + W/F and coarse = o + W·r/F  ⇒  W = F·(coarse − fine)/(r − 1) (from the platform's durations when it
 * reports them, else from latencies), o = fine latency − W/F (and o no less than the
 * least any task spent outside the function's reported duration, a lower bound of it). Everything a task costs
 * beyond its work counts as overhead this way (the platform's queue and transport, and the fixed part of the
 * function's own run), and a backend that queues attempts behind busy workers scales both alike. Then the rule
 * (`chooseTaskCount`) picks the count. The probe's partials are not reused.
 */
export async function probeTaskCount(fine: readonly unknown[], coarse: readonly unknown[], backend: Backend, opts: ScheduleOptions, maxTasks: number): Promise<ProbeOutcome> {
  const c = opts.concurrency;
  const started = performance.now();
  let billed = 0;
  let attempts = 0;
  let probeTasks = 0;
  const wave = async (tasks: readonly unknown[], offset: number) => {
    const batch = tasks.slice(offset, Math.min(tasks.length, offset + c));
    // The tasks keep their own indices (a job's map may read ctx.taskIndex).
    const result = await schedule(batch, indexed(backend, offset), { ...opts, onProgress: undefined });
    probeTasks += batch.length;
    attempts += result.attempts;
    billed += result.records.reduce((s, r) => s + (r.billedMs ?? 0), 0);
    return { result, batch };
  };
  let w = await wave(fine, 0);
  if (!w.result.failure && w.result.records.some((r) => r.coldStart) && fine.length >= 2 * c) w = await wave(fine, c);
  if (w.result.failure) return { failed: w.result, tasks: w.batch };
  const fineRecords = w.result.records;
  const cw = await wave(coarse, 0);
  if (cw.result.failure) return { failed: cw.result, tasks: cw.batch };
  const coarseRecords = cw.result.records;
  const done = (rs: TaskRecord[]) => rs.filter((t) => t.finishedAt !== undefined && t.startedAt !== undefined);
  const latency = (rs: TaskRecord[]) => medianOf(done(rs).map((t) => t.finishedAt! - t.startedAt!));
  // Where the platform reports how long the function ran, the difference of durations is the difference of work
  // alone (a fixed part of the function's run cancels out), free of the client's and the transport's noise.
  const timed = (rs: TaskRecord[]) => done(rs).every((t) => t.durationMs !== undefined);
  const duration = (rs: TaskRecord[]) => medianOf(done(rs).map((t) => t.durationMs!));
  const a = latency(fineRecords);
  const [fa, fb] = timed(fineRecords) && timed(coarseRecords) ? [duration(fineRecords), duration(coarseRecords)] : [a, latency(coarseRecords)];
  const r = fine.length / Math.max(1, coarse.length);
  const workMs = r > 1 ? Math.max(0, (fine.length * (fb - fa)) / (r - 1)) : 0;
  // Never below what some task measurably spent outside its own run (latency minus the function's reported
  // duration, which holds the work and more): the fit can come out near zero when the overhead is small and noisy.
  const outside = [...fineRecords, ...coarseRecords]
    .filter((t) => t.durationMs !== undefined && t.finishedAt !== undefined && t.startedAt !== undefined)
    .map((t) => t.finishedAt! - t.startedAt! - t.durationMs!);
  const overheadMs = Math.max(0, a - workMs / fine.length, outside.length ? Math.min(...outside) : 0);
  // The spread of task times, from the coarse tasks' own durations (the platform's, where it reports them).
  const durations = coarseRecords.map((t) => t.durationMs ?? t.finishedAt! - t.startedAt!);
  const mean = durations.reduce((s, d) => s + d, 0) / Math.max(1, durations.length);
  const sd = Math.sqrt(durations.reduce((s, d) => s + (d - mean) ** 2, 0) / Math.max(1, durations.length));
  const rule = chooseTaskCount({ concurrency: c, overheadMs, workMs, spread: mean > 0 ? sd / mean : 0, maxTasks: Math.min(maxTasks, fine.length) });
  return { decision: { ...rule, fineTasks: fine.length, probeTasks, probeMs: performance.now() - started, probeBilledMs: billed, probeAttempts: attempts } };
}

/** The backend as the probe's waves see it: a wave's task i is the fine partition's task `offset + i`. */
function indexed(backend: Backend, offset: number): Backend {
  if (offset === 0) return backend;
  return {
    name: backend.name,
    facts: backend.facts,
    prepare: (ctx) => backend.prepare(ctx),
    invoke: (req, signal) => backend.invoke({ ...req, taskIndex: req.taskIndex + offset }, signal),
    dispose: () => backend.dispose(),
  };
}
