import { randomUUID } from "node:crypto";
import { SuperfaasError } from "../errors.js";
import { assertJson } from "../job/json.js";
import { resolveParams } from "../job/params.js";
import { maxTasks, planRun } from "../plan/limits.js";
import { schedule, type ProgressEvent, type ScheduleResult } from "../schedule/scheduler.js";
import { coarseTaskCount, fineTaskCount, probeTaskCount, type AutoTaskDecision } from "../plan/auto-tasks.js";
import { quantile, type RunReport } from "./report.js";
import { resolveBackupPolicy, type BackupTasksOption } from "../schedule/speculation.js";
import type { Backend } from "../backend.js";
import type { Job } from "../job/job.js";
import { defaultStateDir, findRun, isAlive, JournalWriter, removeJournal, type JournalState } from "./journal/index.js";

/** Options of one run. */
export interface RunOptions {
  backend: Backend;
  /** Most tasks in flight at once; defaults to the backend's own default. */
  concurrency?: number;
  /**
   * Number of tasks, or "auto" (chosen from a short probe's measurements of the backend's per-invocation overhead and
   * the job's work: see auto-tasks.ts); defaults to the job's `defaultTasks` or "auto".
   */
  tasks?: number | "auto";
  /** Deadline of one attempt in ms (default 15 minutes). */
  timeoutMs?: number;
  /** Extra attempts for retryable failures (default 3). */
  retries?: number;
  /**
   * Fail the run (THROTTLED) after this long in ms of nothing but throttling: every attempt refused for load by the
   * platform (default 180 s).
   */
  throttleTimeoutMs?: number;
  /** Base and cap of the exponential retry backoff. */
  backoff?: { baseMs: number; maxMs: number };
  /**
   * Backup attempts for stragglers (see `BackupPolicy`): true, false, or a policy with some fields changed. Default:
   * on for jobs marked `deterministic`, off for the others (a second attempt of a job that is not might differ).
   */
  backupTasks?: BackupTasksOption;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /** Called with messages about preparation (bundling, deploying). */
  log?: (message: string) => void;
  /** Keep a run journal so the run can be resumed after its process dies (default true). */
  journal?: boolean;
  /** Where run journals live (default `defaultStateDir()`: `$XDG_STATE_HOME/superfaas` or `~/.local/state/superfaas`). */
  stateDir?: string;
  /**
   * Continue the run with this id (or a unique prefix of it) from its journal: the journal's input, task count and
   * settings are used (`input` is ignored), finished tasks are not run again, the output is that of one whole run.
   */
  resume?: string;
  /** Resume even when the job's code changed since the run started (its bundle hash differs). */
  force?: boolean;
  /** The backend's settings as given, without secrets: recorded so `superfaas resume` can make the same backend. */
  backendOptions?: Record<string, unknown>;
  /** Called with the run's id and journal path as soon as the run has them, before anything is deployed. */
  onStart?: (info: { runId: string; journal?: string }) => void;
}

/** The output of a run and its report. */
export interface RunResult<O> {
  output: O;
  report: RunReport;
}

/** An error that ends a run, with the report of what happened up to then. */
export class RunError extends SuperfaasError {
  constructor(
    cause: SuperfaasError,
    readonly report: RunReport,
  ) {
    super(cause.code, cause.message, cause.hint, { cause: cause.cause ?? cause, ...(cause.wording ? { wording: cause.wording } : {}) });
    this.name = "RunError";
  }
}

/** The journal of a run that may be resumed by `job`: not alive, and of the same job. */
function resumable(jobName: string, state: JournalState): JournalState {
  const id = state.start.runId;
  if (isAlive(state)) {
    const owner = state.resumes.at(-1) ?? state.start;
    throw new SuperfaasError("RESUME_REFUSED", `run ${id} is still running (process ${owner.pid} on ${owner.host})`, "wait for it to end, or stop it first; two sessions of one run would run its tasks twice");
  }
  if (state.start.job !== jobName) {
    throw new SuperfaasError("RESUME_REFUSED", `run ${id} is a run of job ${JSON.stringify(state.start.job)}, not ${JSON.stringify(jobName)}`, "resume it with the job it ran (superfaas resume loads it by itself)");
  }
  return state;
}

/** A journal that could not be written does not fail a run that worked: it is said, with what to do. */
function journalTrouble(err: SuperfaasError | undefined, opts: RunOptions): void {
  if (!err) return;
  const line = `warning: ${err.message} — ${err.hint}`;
  if (opts.log) opts.log(line);
  else process.emitWarning(line);
}

async function removeJournalQuietly(path: string): Promise<void> {
  await removeJournal(path).catch(() => undefined);
}

/** Runs one of the job's own steps on this side; what it throws is the job's error (JOB_FAILED), not superfaas's. */
function jobStep<R>(jobName: string, step: "partition" | "reduce" | "metrics", fn: () => R): R {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SuperfaasError) throw err;
    const e = err instanceof Error ? err : new Error(String(err));
    throw new SuperfaasError("JOB_FAILED", `job ${jobName}: ${step}() threw ${e.name}: ${e.message}`, `fix the job's ${step} function (the stack is shown with --verbose)`, { cause: err });
  }
}

/**
 * `work`, or CANCELLED as soon as `signal` aborts: a job's partition that does not pass `plan.signal` on still ends
 * with the run (what it left in flight is its own).
 */
function untilCancelled<R>(work: Promise<R>, signal: AbortSignal | undefined): Promise<R> {
  if (!signal) return work;
  const cancelled = () => new SuperfaasError("CANCELLED", "run cancelled while partitioning the input", "nothing ran; run again to get a result");
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<R>((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Runs a job: partitions the input, runs every task's `map` on the backend through the scheduler, reduces the
 * partials in task order, and returns the output with a run report. Throws `RunError` (with the report) when a
 * task fails for good or the run is cancelled. The backend stays open; the caller disposes it.
 */
export async function run<I, T, P, O>(job: Job<I, T, P, O>, input: I, opts: RunOptions): Promise<RunResult<O>> {
  const origin = performance.now();
  const startedAt = new Date().toISOString();
  const backend = opts.backend;
  const stateDir = opts.stateDir ?? defaultStateDir();
  const resumed = opts.resume !== undefined ? resumable(job.name, findRun(stateDir, opts.resume, (m) => (opts.log ? opts.log(`warning: ${m}`) : process.emitWarning(m)))) : undefined;
  const runId = resumed?.start.runId ?? randomUUID();
  if (resumed) {
    // The run's own plan: the same tasks, attempts and deadlines as its first session (concurrency may change).
    const o = resumed.start.options;
    opts = { ...opts, tasks: o.tasks, timeoutMs: o.timeoutMs, retries: o.retries, concurrency: opts.concurrency ?? o.concurrency };
    input = resumed.start.input as I;
  }
  // Sizes are checked against the backend and this process's memory before anything is partitioned or deployed.
  let plan = planRun(opts, backend.facts, backend.name, job.defaultTasks);
  if (backend.discover) {
    // The platform's own limits (read once the options are known to be valid) may change the defaults.
    await backend.discover({ ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.log ? { log: opts.log } : {}) });
    plan = planRun(opts, backend.facts, backend.name, job.defaultTasks);
  }
  if (!job.modulePath) {
    throw new SuperfaasError(
      "NO_JOB_EXPORT",
      `cannot tell which module defines job ${JSON.stringify(job.name)}`,
      "pass `module: import.meta.url` to defineJob()",
    );
  }
  const backup = resolveBackupPolicy(opts.backupTasks, job.deterministic);
  const resolvedInput = (job.params ? resolveParams(job.params, (input ?? {}) as Record<string, unknown>) : input) as I;
  const { concurrency } = plan;
  const partition = async (count: number): Promise<unknown[]> => {
    const result = jobStep(job.name, "partition", () => job.partition(resolvedInput, { tasks: count, concurrency, ...(opts.signal ? { signal: opts.signal } : {}) }));
    // An async partition (one that lists objects) settles here, or the run's cancellation ends the wait; a sync one costs nothing more.
    const made = result instanceof Promise ? await untilCancelled(result.catch((err: unknown) => jobStep<never>(job.name, "partition", () => { throw err; })), opts.signal) : result;
    if (!Array.isArray(made)) {
      throw new SuperfaasError("BAD_INPUT", `job ${job.name}: partition() returned ${typeof made}, not an array`, "return an array of JSON tasks");
    }
    // A job may make more tasks than it was asked for; the records of each must still fit (see planRun).
    if (made.length > maxTasks()) {
      throw new SuperfaasError(
        "JOB_FAILED",
        `job ${job.name}: partition() made ${made.length.toLocaleString("en-US")} tasks, more than this process can keep track of (${maxTasks().toLocaleString("en-US")})`,
        "make partition() follow plan.tasks, or give each task more work",
      );
    }
    made.forEach((t, i) => assertJson(t, `task ${i} of job ${job.name}`));
    return made;
  };
  // "auto": the input is first cut finely, for a probe that measures the backend and the job (see auto-tasks.ts).
  const autoLimit = Math.min(maxTasks(), backend.facts.maxAutoTasks ?? Number.POSITIVE_INFINITY);
  // A platform that bounds invocations per minute tightly (a stock OpenWhisk: 60) leaves no room for a probe.
  const auto = (opts.tasks ?? job.defaultTasks ?? "auto") === "auto" && autoLimit >= 8 * concurrency;
  let tasks = await partition(auto ? fineTaskCount(concurrency, autoLimit) : plan.tasks);
  const coarse = auto && tasks.length > concurrency ? await partition(coarseTaskCount(tasks.length)) : undefined;
  // A job whose tasks do not follow plan.tasks (or too few to choose among) runs as it is, without a probe.
  const probing = coarse !== undefined && coarse.length !== tasks.length && coarse.length >= concurrency;
  if (resumed && tasks.length !== resumed.start.taskCount) {
    throw new SuperfaasError("RESUME_REFUSED", `run ${runId}: partition() now makes ${tasks.length} tasks where the run had ${resumed.start.taskCount}`, "the job's partition changed since; start a new run");
  }

  // A new run's journal is there before anything is deployed (a kill while deploying still shows); a resumed run's
  // session is recorded once its code is known to be the run's.
  let journal: JournalWriter | undefined;
  if (!resumed && opts.journal !== false) {
    journal = JournalWriter.create(stateDir, {
      runId,
      job: job.name,
      module: job.modulePath,
      export: job.name,
      input: resolvedInput,
      backend: backend.name,
      backendOptions: opts.backendOptions ?? {},
      options: { concurrency, tasks: tasks.length, timeoutMs: opts.timeoutMs ?? 15 * 60_000, retries: opts.retries ?? 3 },
      taskCount: tasks.length,
      startedAt,
    });
  }
  const journalPath = journal?.path ?? resumed?.path;
  opts.onStart?.({ runId, ...(journalPath ? { journal: journalPath } : {}) });
  try {
    await backend.prepare({
      job: { modulePath: job.modulePath, jobName: job.name },
      runId,
      concurrency,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      ...(resumed ? { adopt: resumed.resources } : {}),
    });
    if (resumed?.codeHash && backend.codeHash && resumed.codeHash !== backend.codeHash && !opts.force) {
      throw new SuperfaasError(
        "RESUME_REFUSED",
        `run ${runId}: the job module ${job.modulePath} changed since the run started (bundle ${backend.codeHash.slice(0, 12)}, the run's ${resumed.codeHash.slice(0, 12)})`,
        "restore the module as it was, start a new run, or resume with --force (finished tasks keep the old code's partials)",
      );
    }
  } catch (err) {
    // Nothing ran: a new run's journal is removed, a resumed one's stays as it was (the resume can be tried again).
    journal?.abandon();
    if (journal) await removeJournalQuietly(journal.path);
    throw err;
  }
  if (resumed) journal = JournalWriter.reopen(resumed);
  journal?.prepared({ ...(backend.codeHash ? { codeHash: backend.codeHash } : {}), ...(backend.resources ? { resources: backend.resources() } : {}) });
  const prepared = performance.now();
  const schedOpts = {
    concurrency,
    timeoutMs: opts.timeoutMs ?? 15 * 60_000,
    retries: opts.retries ?? 3,
    ...(opts.throttleTimeoutMs !== undefined ? { throttleTimeoutMs: opts.throttleTimeoutMs } : {}),
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(backup ? { backup, ...(backend.facts.invocationsPerMinute ? { invocationsPerMinute: backend.facts.invocationsPerMinute } : {}) } : {}),
    origin,
  };
  let autoTasks: AutoTaskDecision | undefined;
  let sched: ScheduleResult | undefined;
  if (probing) {
    opts.log?.(`tasks auto: probing ${backend.name} with ${concurrency} fine and ${concurrency} coarse tasks (of ${tasks.length} and ${coarse!.length})`);
    const probe = await probeTaskCount(tasks, coarse ?? [], backend, schedOpts, autoLimit - 3 * concurrency);
    if (probe.failed) {
      // A probe task failed for good (the job's bug, or out of memory): the run ends with it, as it would have anyway.
      sched = probe.failed;
      tasks = probe.tasks;
    } else {
      autoTasks = probe.decision;
      opts.log?.(`tasks auto: ${autoTasks.reason} (measured on ${autoTasks.probeTasks} probe tasks of ${autoTasks.fineTasks})`);
      tasks = await partition(autoTasks.tasks);
      // The journal's start named the probe's fine count: a resume must cut the input as this run does.
      journal?.prepared({ taskCount: tasks.length });
    }
  }
  // Only the run's own tasks are journaled (the probe's partials are thrown away).
  sched ??= await schedule(tasks, backend, {
    ...schedOpts,
    ...(resumed ? { completed: resumed.done } : {}),
    ...(journal ? { onResult: (i: number, p: unknown, committed: () => void) => journal.result(i, p, committed) } : {}),
  });
  const executed = performance.now();

  const records = sched.records;
  const succeeded = records.filter((r) => r.status === "succeeded");
  // Tasks finished in an earlier session of a resumed run have no times in this one.
  const latencies = succeeded.filter((r) => r.startedAt !== undefined).map((r) => r.finishedAt! - r.startedAt!);
  const answeredMs = records.reduce((s, r) => s + (r.billedMs ?? 0), 0);
  const { measuredMs, estimatedMs, estimatedAttempts } = await accountAbandoned(backend, sched.abandoned, answeredMs, sched.failure?.code === "CANCELLED");
  const billedMs = answeredMs + measuredMs + estimatedMs;
  // A throttled attempt was refused before it ran: the platform does not bill it.
  // The probe's invocations are paid for too.
  const costUsd = backend.estimateCost?.({ invocations: sched.attempts - sched.throttled + (autoTasks?.probeAttempts ?? 0), billedMs: billedMs + (autoTasks?.probeBilledMs ?? 0) });
  // The wasted attempts' price: each one invocation, billed for what it ran (see BackupTotals.wastedMs).
  const backupCostUsd = sched.backups && backend.estimateCost?.({ invocations: sched.backups.wasted, billedMs: sched.backups.wastedMs });
  const estimatedCostUsd = estimatedAttempts ? backend.estimateCost?.({ invocations: estimatedAttempts, billedMs: estimatedMs }) : undefined;
  const report: RunReport = {
    schemaVersion: 1,
    runId,
    job: job.name,
    backend: backend.name,
    status: sched.failure ? (sched.failure.code === "CANCELLED" ? "cancelled" : "failed") : "succeeded",
    startedAt,
    prepareMs: prepared - origin,
    executeMs: executed - prepared,
    wallMs: executed - origin,
    concurrency,
    input: resolvedInput,
    totals: {
      tasks: tasks.length,
      succeeded: succeeded.length,
      failed: records.filter((r) => r.status === "failed").length,
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
  if (sched.failure) {
    report.error = { code: sched.failure.code, message: sched.failure.message };
    journalTrouble(await journal?.end(report.status as "failed" | "cancelled", sched.failure.message), opts);
    throw new RunError(sched.failure, report);
  }
  let output: O;
  try {
    output = jobStep(job.name, "reduce", () => job.reduce(sched.partials as P[], resolvedInput));
    report.wallMs = performance.now() - origin;
    report.metrics = jobStep(job.name, "metrics", () => job.metrics?.(output, report) ?? {});
  } catch (err) {
    // Every task ran: the report says so, and the caller gets it with the job's error.
    const e = err as SuperfaasError;
    report.status = "failed";
    report.error = { code: e.code, message: e.message };
    journalTrouble(await journal?.end("failed", e.message), opts);
    throw new RunError(e, report);
  }
  journalTrouble(await journal?.end("succeeded"), opts);
  return { output, report };
}

/** How long the platform's records of attempts given up on are waited for after the run (a cancel included). */
const BILLED_LOOKUP_MS = 5_000;

/**
 * The billed time of the attempts the run gave up on before their answer. Where the platform keeps records of what it
 * ran (`Backend.billedSince`), the ones recorded beyond the answered attempts are measured; the rest (still running,
 * or a platform with no records) are estimated at the attempt's time limit, the most the platform can bill for one
 * (it runs an attempt on after the client stops waiting), never below the time it had run when given up. Backends that
 * bill nothing (no price, no records) are left out.
 */
async function accountAbandoned(backend: Backend, ab: ScheduleResult["abandoned"], answeredMs: number, cancelled: boolean): Promise<{ measuredMs: number; estimatedMs: number; estimatedAttempts: number }> {
  // A backend that bills nothing (the local pool) has nothing to account.
  if (ab.count <= 0 || !(backend.estimateCost || backend.billedSince)) return { measuredMs: 0, estimatedMs: 0, estimatedAttempts: 0 };
  const estimate = (n: number) => Math.max(ab.inFlightMs * (n / ab.count), n * ab.limitMs);
  let seen: Awaited<ReturnType<NonNullable<Backend["billedSince"]>>>;
  try {
    // A cancelled run ends at once (Ctrl-C must not wait for attempts to finish): the attempts it gave up on are
    // estimated. Otherwise the lookup waits a little for the records still to come.
    seen = cancelled ? undefined : await backend.billedSince?.(ab.since, ab.answered + ab.count, AbortSignal.timeout(BILLED_LOOKUP_MS));
  } catch {
    seen = undefined; // no records in time: every such attempt is estimated
  }
  if (seen && !seen.complete) seen = undefined; // a partial listing cannot tell which attempts it missed
  const found = seen ? Math.min(ab.count, Math.max(0, seen.invocations - ab.answered)) : 0;
  const measuredMs = found ? Math.max(0, seen!.billedMs - answeredMs) : 0;
  const left = ab.count - found;
  return { measuredMs, estimatedMs: left ? estimate(left) : 0, estimatedAttempts: left };
}
