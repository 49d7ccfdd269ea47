// The cost sweep: one job run at several platform configurations (memory, and architecture where the platform has a
// choice), one after another, each deployed, measured and cleaned up before the next. On FaaS the memory setting buys
// CPU too, so the cheapest and the fastest configuration of a job are found by measuring. Backend-neutral: each
// configuration brings a factory of its backend and its price; the billed durations the platform reported (Lambda's
// REPORT lines, OpenWhisk's activation records) feed the cost math here.
import { SuperfaasError } from "../errors.js";
import { stableJson } from "../job/json.js";
import { maxTasks, planRun } from "./limits.js";
import { resolveParams } from "../job/params.js";
import { quantile, type RunReport } from "../run/report.js";
import { RunError, run } from "../run/run.js";
import type { Backend } from "../backend.js";
import type { Job } from "../job/job.js";
import type { ProgressEvent } from "../schedule/scheduler.js";

/** What a platform charges: per GB-second of billed duration and per request, in US dollars. */
export interface SweepPrice {
  gbSecondUsd: number;
  requestUsd: number;
}

/** One configuration to measure: its settings, its price (none: GB-seconds only) and how to make its backend. */
export interface SweepConfiguration {
  /** Unique within the sweep, e.g. "1769 MB x86_64". */
  label: string;
  /** Memory of the function in MB, as deployed: billed GB-seconds are billed ms × memoryMb / 1024 / 1000. */
  memoryMb: number;
  /** Instruction set, where the platform offers a choice (Lambda: x86_64 or arm64). */
  arch?: string;
  price?: SweepPrice;
  /** A backend deployed with this configuration's settings; the sweep prepares, runs and disposes it. */
  createBackend(): Backend | Promise<Backend>;
}

/** Options of `costSweep`. */
export interface CostSweepOptions {
  configurations: readonly SweepConfiguration[];
  /** Tasks of the whole job (default: the job's `defaultTasks`, else "auto" for the first backend that runs). */
  tasks?: number | "auto";
  /**
   * Run only this many of the job's tasks at each configuration: the same task indices, spread evenly over the job,
   * everywhere, so the sampled partials can be compared; the whole job's cost is scaled up from the sample.
   */
  sample?: number;
  concurrency?: number;
  timeoutMs?: number;
  retries?: number;
  /** See `RunOptions.throttleTimeoutMs`. */
  throttleTimeoutMs?: number;
  /** The "balanced" recommendation is the cheapest configuration at most this many times slower than the fastest (default 1.25). */
  maxSlowdown?: number;
  signal?: AbortSignal;
  /** Called as each configuration starts. */
  onConfiguration?(configuration: SweepConfiguration, index: number): void;
  onProgress?(configuration: SweepConfiguration, event: ProgressEvent): void;
  log?(message: string): void;
}

/** How a configuration ended: measured, refused by the platform before its first task, or failed while running. */
export type ConfigurationStatus = "succeeded" | "refused" | "failed";

/** What a configuration cost and how fast it was, from the platform's own figures. */
export interface ConfigurationMeasure {
  /** Tasks measured (the sample, or the whole job). */
  tasks: number;
  /** Invocations the platform ran and bills a request for (throttled ones were refused before they ran). */
  invocations: number;
  /** Time per task: the function's own duration where the platform reports it, else the client's latency. */
  taskMs: { p50: number; p95: number };
  /** Billed duration of every attempt, failed ones and init phases included, as the platform reported it. */
  billedMs: number;
  billedMsPerTask: number;
  gbSeconds: number;
  gbSecondsPerTask: number;
  /** The measured tasks' cost, when the configuration has a price. */
  costUsd?: number;
  costPerTaskUsd?: number;
  /** The whole job's estimated cost: cost per task × the job's tasks. */
  jobCostUsd?: number;
  jobGbSeconds: number;
}

/** One configuration's outcome. */
export interface ConfigurationResult {
  label: string;
  memoryMb: number;
  arch?: string;
  price?: SweepPrice;
  status: ConfigurationStatus;
  /** Why it was refused or failed, in the platform's words. */
  error?: { code: string; message: string; hint?: string };
  /** The run's report (absent when refused). */
  report?: RunReport;
  /** The job's output, or with a sample the sampled partials in task order (absent unless it succeeded). */
  output?: unknown;
  measure?: ConfigurationMeasure;
  /** Whether its output agrees with the reference configuration's; null when it has none. */
  agrees: boolean | null;
  difference?: string;
  /** On the Pareto front of time per task (p50) against cost per task (GB-seconds per task without prices). */
  pareto: boolean;
}

/** The configurations to pick, by `basis`: cost in US dollars, or GB-seconds when some configuration has no price. */
export interface SweepRecommendation {
  basis: "usd" | "gb-seconds";
  maxSlowdown: number;
  cheapest?: string;
  fastest?: string;
  /** The cheapest configuration at most `maxSlowdown` times slower (p50 per task) than the fastest. */
  balanced?: string;
}

/** The outcome of a sweep. */
export interface CostSweepResult {
  job: string;
  input: unknown;
  /** Tasks of the whole job. */
  totalTasks: number;
  /** The task indices every configuration ran, when sampled. */
  sampled?: number[];
  configurations: ConfigurationResult[];
  /** Label of the configuration outputs are checked against (the first that succeeded); null when none did. */
  reference: string | null;
  /** True when no output differs from the reference. */
  agree: boolean;
  recommendation: SweepRecommendation;
}

/** Errors that are the caller's or the job's, the same at every configuration: they end the sweep, not one configuration. */
const NOT_REFUSALS = new Set(["BAD_INPUT", "JOB_FAILED", "BUNDLE_FAILED", "NO_JOB_EXPORT", "MODULE_NOT_FOUND", "JOB_LOAD_FAILED", "NOT_JSON", "UNKNOWN_JOB", "INTERNAL"]);

/** Billed GB-seconds of `billedMs` at `memoryMb`: Lambda and OpenWhisk both count memory in MB / 1024 GB. */
export function gbSeconds(billedMs: number, memoryMb: number): number {
  return (billedMs / 1000) * (memoryMb / 1024);
}

/**
 * The cost of invocations in US dollars: billed GB-seconds at the price per GB-second plus one request charge each.
 * `billedMs` is what the platform billed (on Lambda, each REPORT line's Billed Duration: rounded up to the next ms,
 * the init phase of a cold start included since August 2025).
 */
export function invocationCost(usage: { invocations: number; billedMs: number }, memoryMb: number, price: SweepPrice): number {
  return gbSeconds(usage.billedMs, memoryMb) * price.gbSecondUsd + usage.invocations * price.requestUsd;
}

/** `count` task indices spread evenly over `total` (the middle of each of `count` equal stretches); all when count >= total. */
export function sampleIndices(total: number, count: number): number[] {
  if (count >= total) return Array.from({ length: total }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(Math.min(total - 1, Math.floor(((i + 0.5) * total) / count)));
  return out;
}

/** The figures of one run at one configuration, from the platform's billed durations and measured task times. */
export function measureRun(report: RunReport, memoryMb: number, totalTasks: number, price?: SweepPrice): ConfigurationMeasure {
  const done = report.tasks.filter((t) => t.status === "succeeded");
  const times = done.map((t) => t.durationMs ?? (t.finishedAt ?? 0) - (t.startedAt ?? 0));
  const tasks = done.length;
  const invocations = report.totals.attempts - report.totals.throttled;
  const billedMs = report.totals.billedMs;
  const gbs = gbSeconds(billedMs, memoryMb);
  const per = (v: number) => (tasks > 0 ? v / tasks : 0);
  const m: ConfigurationMeasure = {
    tasks,
    invocations,
    taskMs: { p50: quantile(times, 0.5), p95: quantile(times, 0.95) },
    billedMs,
    billedMsPerTask: per(billedMs),
    gbSeconds: gbs,
    gbSecondsPerTask: per(gbs),
    jobGbSeconds: per(gbs) * totalTasks,
  };
  if (price) {
    const cost = invocationCost({ invocations, billedMs }, memoryMb, price);
    m.costUsd = cost;
    m.costPerTaskUsd = per(cost);
    m.jobCostUsd = per(cost) * totalTasks;
  }
  return m;
}


/** Where two outputs differ, for people: the first differing partial of a sample, else the output as a whole. */
function difference(a: unknown, b: unknown, sampled: number[] | undefined): string {
  if (sampled && Array.isArray(a) && Array.isArray(b)) {
    const i = a.findIndex((p, k) => stableJson(p) !== stableJson(b[k]));
    if (i >= 0) return `the partial of task ${sampled[i]} differs: ${stableJson(a[i]).slice(0, 60)} vs ${stableJson(b[i]).slice(0, 60)}`;
  }
  return `${stableJson(a).slice(0, 60)} vs ${stableJson(b).slice(0, 60)}`;
}

/** Configurations on the Pareto front of (time, cost): none other is at least as fast and as cheap, and better in one. */
export function paretoFront<T>(points: readonly T[], time: (p: T) => number, cost: (p: T) => number): Set<T> {
  const front = new Set<T>();
  for (const p of points) {
    const dominated = points.some((q) => q !== p && time(q) <= time(p) && cost(q) <= cost(p) && (time(q) < time(p) || cost(q) < cost(p)));
    if (!dominated) front.add(p);
  }
  return front;
}

/** The cheapest, the fastest and the cheapest within `maxSlowdown` of the fastest, among configurations that succeeded. */
export function recommend(configurations: readonly ConfigurationResult[], maxSlowdown: number): SweepRecommendation {
  const ok = configurations.filter((c) => c.status === "succeeded" && c.measure && c.measure.tasks > 0);
  const basis = ok.length > 0 && ok.every((c) => c.measure!.costPerTaskUsd !== undefined) ? "usd" : "gb-seconds";
  const cost = (c: ConfigurationResult) => (basis === "usd" ? c.measure!.costPerTaskUsd! : c.measure!.gbSecondsPerTask);
  const time = (c: ConfigurationResult) => c.measure!.taskMs.p50;
  const best = (list: ConfigurationResult[], first: (c: ConfigurationResult) => number, then: (c: ConfigurationResult) => number) =>
    [...list].sort((a, b) => first(a) - first(b) || then(a) - then(b))[0];
  const rec: SweepRecommendation = { basis, maxSlowdown };
  if (ok.length === 0) return rec;
  const fastest = best(ok, time, cost)!;
  rec.cheapest = best(ok, cost, time)!.label;
  rec.fastest = fastest.label;
  rec.balanced = best(
    ok.filter((c) => time(c) <= time(fastest) * maxSlowdown),
    cost,
    time,
  )!.label;
  const front = paretoFront(ok, time, cost);
  for (const c of configurations) c.pareto = front.has(c);
  return rec;
}

/**
 * Runs `job` at each configuration in turn, each on its own backend that is disposed (its functions deleted) before the
 * next starts, and reports time per task, billed time, cost per task and the whole job's estimated cost of each, whether
 * their outputs agree, and which to pick. A configuration the platform refuses before its first task (a memory over its
 * limit, say) is reported as refused with the platform's message while the others run. Cancelling (`signal`) disposes
 * the configuration running and throws CANCELLED; nothing is left deployed.
 */
export async function costSweep<I, T, P, O>(job: Job<I, T, P, O>, input: I, opts: CostSweepOptions): Promise<CostSweepResult> {
  const configs = opts.configurations;
  if (configs.length === 0) throw new SuperfaasError("BAD_INPUT", "a cost sweep needs at least one configuration", "pass the memory sizes to measure, e.g. memory 128,1024,1769");
  const labels = new Set(configs.map((c) => c.label));
  if (labels.size !== configs.length) throw new SuperfaasError("BAD_INPUT", "two configurations of the sweep have the same label", "give each configuration its own label (its memory and architecture)");
  const maxSlowdown = opts.maxSlowdown ?? 1.25;
  if (!Number.isFinite(maxSlowdown) || maxSlowdown < 1) {
    throw new SuperfaasError("BAD_INPUT", `maxSlowdown must be a number >= 1, got ${maxSlowdown}`, "pass 1.25 to accept configurations up to 25% slower than the fastest");
  }
  if (opts.sample !== undefined && (!Number.isSafeInteger(opts.sample) || opts.sample < 1)) {
    throw new SuperfaasError("BAD_INPUT", `sample must be a whole number >= 1, got ${opts.sample}`, "pass the number of tasks to run at each configuration, e.g. 8");
  }
  const resolvedInput = (job.params ? resolveParams(job.params, (input ?? {}) as Record<string, unknown>) : input) as I;

  let totalTasks: number | undefined = typeof opts.tasks === "number" ? opts.tasks : typeof job.defaultTasks === "number" && opts.tasks === undefined ? job.defaultTasks : undefined;
  let sampled: number[] | undefined;
  let sampleJob: Job<I, T, P, unknown> | undefined;
  /** Whether the job's size (and its sample) is fixed: by the first configuration that gets that far. */
  let sized = false;
  const results: ConfigurationResult[] = [];
  const cancelled = () => new SuperfaasError("CANCELLED", "the cost sweep was cancelled", "nothing is left deployed; run it again");

  for (const [index, config] of configs.entries()) {
    if (opts.signal?.aborted) throw cancelled();
    opts.onConfiguration?.(config, index);
    const base = { label: config.label, memoryMb: config.memoryMb, ...(config.arch ? { arch: config.arch } : {}), ...(config.price ? { price: config.price } : {}), agrees: null, pareto: false };
    let backend: Backend | undefined;
    try {
      backend = await config.createBackend();
      if (!sized) {
        // The job's size is fixed once, by the first configuration that gets this far, so every one does the same work.
        if (backend.discover) await backend.discover({ ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.log ? { log: opts.log } : {}) });
        const size = { tasks: opts.tasks ?? job.defaultTasks ?? "auto", concurrency: opts.concurrency, timeoutMs: opts.timeoutMs, retries: opts.retries };
        totalTasks ??= planRun(size, backend.facts, backend.name, job.defaultTasks).tasks;
        if (opts.sample !== undefined) {
          const plan = { tasks: totalTasks, concurrency: opts.concurrency ?? backend.facts.defaultConcurrency, ...(opts.signal ? { signal: opts.signal } : {}) };
          let all: T[];
          try {
            all = await job.partition(resolvedInput, plan);
          } catch (err) {
            if (err instanceof SuperfaasError) throw err;
            throw new SuperfaasError("JOB_FAILED", `job ${job.name}: partition() threw ${(err as Error).name}: ${(err as Error).message}`, "fix the job's partition function (the stack is shown with --verbose)", { cause: err });
          }
          if (!Array.isArray(all)) throw new SuperfaasError("BAD_INPUT", `job ${job.name}: partition() returned ${typeof all}, not an array`, "return an array of JSON tasks");
          if (all.length > maxTasks()) throw new SuperfaasError("JOB_FAILED", `job ${job.name}: partition() made ${all.length} tasks, more than this process can keep track of`, "make partition() follow plan.tasks");
          totalTasks = all.length;
          if (opts.sample < all.length) {
            sampled = sampleIndices(all.length, opts.sample);
            const tasks = sampled.map((i) => all[i]!);
            // The same tasks at every configuration; the "output" is the sampled partials, compared as they are.
            sampleJob = { ...job, partition: () => tasks, reduce: (partials: P[]) => partials, metrics: undefined, format: undefined, equal: undefined } as unknown as Job<I, T, P, unknown>;
          }
        }
        sized = true;
      }
      const runJob = (sampleJob ?? job) as Job<I, T, P, unknown>;
      let outcome: { ok: true; output: unknown; report: RunReport } | { ok: false; error: RunError };
      try {
        const r = await run(runJob, input, {
          backend,
          tasks: sampleJob ? sampled!.length : totalTasks,
          ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
          ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
          ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
          ...(opts.throttleTimeoutMs !== undefined ? { throttleTimeoutMs: opts.throttleTimeoutMs } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
          ...(opts.onProgress ? { onProgress: (e) => opts.onProgress!(config, e) } : {}),
          ...(opts.log ? { log: opts.log } : {}),
        });
        outcome = { ok: true, output: r.output, report: r.report };
      } catch (e) {
        if (!(e instanceof RunError)) throw e;
        outcome = { ok: false, error: e };
      }
      if (!outcome.ok && (outcome.error.code === "CANCELLED" || opts.signal?.aborted)) throw outcome.error;
      const report = outcome.ok ? outcome.report : outcome.error.report;
      // The whole job is as many tasks as its partition made (which may differ from the count asked for).
      if (!sampleJob) totalTasks = report.totals.tasks;
      const measure = measureRun(report, config.memoryMb, totalTasks!, config.price);
      results.push(
        outcome.ok
          ? { ...base, status: "succeeded", report, output: outcome.output, measure }
          : { ...base, status: "failed", report, measure, error: { code: outcome.error.code, message: outcome.error.message, ...(outcome.error.hint ? { hint: outcome.error.hint } : {}) } },
      );
    } catch (e) {
      if (opts.signal?.aborted || (e instanceof SuperfaasError && e.code === "CANCELLED")) throw e instanceof SuperfaasError && e.code === "CANCELLED" ? e : cancelled();
      if (!(e instanceof SuperfaasError) || NOT_REFUSALS.has(e.code)) throw e;
      // Refused before its first task (the platform's limits, its answer to the deploy): the others still run.
      results.push({ ...base, status: "refused", error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) } });
    } finally {
      await backend?.dispose();
    }
  }

  // Outputs: the job's equal() for whole outputs, JSON equality for the sampled partials.
  const ref = results.find((r) => r.status === "succeeded");
  const equal = !sampled && job.equal ? (a: unknown, b: unknown) => job.equal!(a as O, b as O) : (a: unknown, b: unknown) => stableJson(a) === stableJson(b);
  for (const r of results) {
    if (r.status !== "succeeded" || !ref) continue;
    r.agrees = r === ref || equal(ref.output, r.output);
    if (!r.agrees) r.difference = difference(ref.output, r.output, sampled);
  }
  const recommendation = recommend(results, maxSlowdown);
  return {
    job: job.name,
    input: resolvedInput,
    totalTasks: totalTasks ?? 0,
    ...(sampled ? { sampled } : {}),
    configurations: results,
    reference: ref?.label ?? null,
    agree: results.every((r) => r.agrees !== false),
    recommendation,
  };
}
