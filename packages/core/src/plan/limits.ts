import { availableParallelism, totalmem } from "node:os";
import { getHeapStatistics } from "node:v8";
import { optionError } from "../errors.js";
import { AUTO_TASKS_PER_WORKER } from "../job/partition.js";
import type { BackendFacts } from "../backend.js";

/**
 * Heap one task costs the process that runs it, budgeted generously: the scheduler's record, the task and its
 * partial take about 300 bytes for a small task (measured with `pnpm bench`: report-scale), the run report and its
 * charts up to ~150 more while they are written, and a job's own tasks and partials are often bigger.
 */
export const BYTES_PER_TASK = 1024;

/** Share of the heap the per-task records may take; the rest is for the job, the backend and the reduce. */
const HEAP_SHARE_FOR_TASKS = 0.5;

/** Longest attempt deadline: timers hold 2^31 - 1 ms (24.8 days); a longer one fires at once instead. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Most tasks one run may have on this process: half the V8 heap limit (`--max-old-space-size`) at
 * `BYTES_PER_TASK` a task; about two million with Node's default heap on a machine with 16 GB or more.
 */
export function maxTasks(heapLimitBytes = getHeapStatistics().heap_size_limit): number {
  return Math.max(1, Math.floor((heapLimitBytes * HEAP_SHARE_FOR_TASKS) / BYTES_PER_TASK));
}

/** Worker threads the local backend may start per core: generous for jobs that mostly wait, and still bounded. */
const WORKERS_PER_CORE = 16;
/** Memory a worker thread needs at least: its own V8 isolate and the job's bundled code. */
const BYTES_PER_WORKER = 64 * 2 ** 20;

/** Most worker threads a local pool may start: 16 per core, and no more than 64 MB of memory each. */
export function maxLocalWorkers(cores = availableParallelism(), memoryBytes = totalmem()): number {
  return Math.max(1, Math.min(WORKERS_PER_CORE * cores, Math.floor(memoryBytes / BYTES_PER_WORKER)));
}

/** The options of a run that its size depends on. */
export interface RunSizeOptions {
  concurrency?: number | undefined;
  tasks?: number | "auto" | undefined;
  timeoutMs?: number | undefined;
  retries?: number | undefined;
  throttleTimeoutMs?: number | undefined;
}

/** How many tasks a run makes and how many it keeps in flight, once its options are checked. */
export interface RunPlan {
  concurrency: number;
  tasks: number;
  /** The concurrency asked for, when the platform's own limit (`facts.platformConcurrency`) lowered it. */
  asked?: number;
}

const count = (n: number) => n.toLocaleString("en-US");
const whole = (v: unknown, min: number) => typeof v === "number" && Number.isSafeInteger(v) && v >= min;

/**
 * Checks a run's options against what the backend and this process can hold, before anything is partitioned or
 * deployed, and works out its concurrency and task count. Errors name the options (`tasks`, `concurrency`,
 * `timeoutMs`, `retries`) and carry a wording the CLI uses to name its flags instead.
 *
 * - concurrency: at most the backend's `maxConcurrency` (the platform's or the pool's limit; a default above it is
 *   lowered to it) and at most `maxTasks()` (each attempt in flight holds at least a task's worth of state).
 * - tasks: at most `maxTasks()`, so the per-task records fit in memory; "auto" is capped there quietly.
 * - timeoutMs: 1 ms to `MAX_TIMEOUT_MS`.
 */
export function planRun(opts: RunSizeOptions, facts: BackendFacts, backendName: string, defaultTasks: number | "auto" = "auto", taskLimit = maxTasks()): RunPlan {
  const { concurrency: c, timeoutMs: t, retries: r } = opts;
  if (c !== undefined && !whole(c, 1)) {
    throw optionError("BAD_INPUT", (n) => ({ message: `${n.name("concurrency")} must be a whole number >= 1, got ${n.value("concurrency", c)}`, hint: `pass ${n.name("concurrency")} 1 or more` }));
  }
  if (t !== undefined && (!Number.isFinite(t) || Math.round(t) < 1 || t > MAX_TIMEOUT_MS)) {
    throw optionError("BAD_INPUT", (n) => ({
      message: `${n.name("timeoutMs")} must be between ${n.value("timeoutMs", 1)} and ${n.value("timeoutMs", MAX_TIMEOUT_MS)} (about 24.8 days), got ${n.value("timeoutMs", t)}`,
      hint: `pass ${n.name("timeoutMs")} within that range; it is the deadline of one attempt`,
    }));
  }
  if (r !== undefined && !whole(r, 0)) {
    throw optionError("BAD_INPUT", (n) => ({ message: `${n.name("retries")} must be a whole number >= 0, got ${n.value("retries", r)}`, hint: `pass ${n.name("retries")} 0 or more` }));
  }
  const tt = opts.throttleTimeoutMs;
  if (tt !== undefined && !(Number.isFinite(tt) && tt > 0)) {
    throw optionError("BAD_INPUT", (n) => ({ message: `${n.name("throttleTimeoutMs")} must be above 0, got ${n.value("throttleTimeoutMs", tt)}`, hint: `pass ${n.name("throttleTimeoutMs")} above 0; it bounds how long a run rides out nothing but throttling` }));
  }
  const ceiling = Math.min(facts.maxConcurrency ?? Number.POSITIVE_INFINITY, taskLimit);
  if (c !== undefined && c > ceiling) {
    const why =
      ceiling === facts.maxConcurrency
        ? `more than the ${backendName} backend can run at once (${count(ceiling)})`
        : `more than this process can keep in flight (${count(ceiling)}, the most tasks it can hold)`;
    throw optionError("BAD_INPUT", (n) => ({ message: `${n.name("concurrency")} ${n.value("concurrency", c)} is ${why}`, hint: `pass ${n.name("concurrency")} ${n.value("concurrency", ceiling)} or less` }));
  }
  const wanted = Math.min(c ?? facts.defaultConcurrency, ceiling);
  // More in flight than the platform runs at once would only be throttled: the window starts at its limit.
  const concurrency = facts.platformConcurrency !== undefined && facts.platformConcurrency >= 1 ? Math.min(wanted, facts.platformConcurrency) : wanted;
  const lowered = concurrency < wanted ? { asked: wanted } : {};
  const spec = opts.tasks ?? defaultTasks;
  if (spec === "auto") return { concurrency, tasks: Math.min(taskLimit, facts.maxAutoTasks ?? taskLimit, Math.max(1, Math.round(concurrency * AUTO_TASKS_PER_WORKER))), ...lowered };
  if (!whole(spec, 1)) {
    throw optionError("BAD_INPUT", (n) => ({ message: `${n.name("tasks")} must be a whole number >= 1, got ${n.value("tasks", spec)}`, hint: `pass ${n.name("tasks")} 1 or more, or "auto"` }));
  }
  if (spec > taskLimit) {
    const heapMb = Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
    throw optionError("BAD_INPUT", (n) => ({
      message: `${n.name("tasks")} ${n.value("tasks", spec)} is more than this process can keep track of (${count(taskLimit)}: each task's records take about ${BYTES_PER_TASK} bytes, and the heap holds ${count(heapMb)} MB)`,
      hint: `pass ${n.name("tasks")} ${n.value("tasks", taskLimit)} or less (bigger tasks do as well: they cost per task, not per item), or give Node a larger heap with NODE_OPTIONS=--max-old-space-size=MB`,
    }));
  }
  return { concurrency, tasks: spec, ...lowered };
}
