// Stage 1 of a run, resolve: which run this is (a new one, or the resumed one's journal), the options it goes by, its
// plan within the backend's limits (and the platform's, once discovered), and the job's input as its tasks see it.
import { randomUUID } from "node:crypto";
import { SuperfaasError } from "../../errors.js";
import { resolveParams } from "../../job/params.js";
import { planRun } from "../../plan/limits.js";
import { resolveBackupPolicy, type BackupPolicy } from "../../schedule/speculation.js";
import type { Job } from "../../job/job.js";
import { defaultStateDir, findRun, isAlive, type JournalState } from "../journal/index.js";
import type { RunOptions } from "../types.js";

/** A run once resolved, before anything is partitioned or deployed. */
export interface ResolvedRun<I> {
  /** `performance.now()` at the run's start: the report's times and the task records count from it. */
  origin: number;
  /** The run's start, as an ISO date. */
  startedAt: string;
  runId: string;
  stateDir: string;
  /** The journal of the run this one continues (a resume). */
  resumed?: JournalState;
  /** The options the run goes by: a resumed run's own task count, deadline and retries replace the given ones. */
  opts: RunOptions;
  /** The job's module (the bundle's entry). */
  modulePath: string;
  /** Most tasks in flight at once. */
  concurrency: number;
  /** The concurrency asked for (or the default), when the platform's own limit lowered it. */
  concurrencyAsked?: number;
  /** The task count asked of partition() (for "auto", before the probe chooses). */
  tasks: number;
  /** Backup attempts for stragglers, when on. */
  backup?: BackupPolicy;
  /** The job's input with its parameters resolved (a resumed run's own input). */
  input: I;
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

/** Resolves the run: see the file comment. Throws (nothing partitioned, nothing deployed) on options that do not fit. */
export async function resolveRun<I, T, P, O>(job: Job<I, T, P, O>, input: I, opts: RunOptions): Promise<ResolvedRun<I>> {
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
  if (plan.asked !== undefined) {
    opts.log?.(`${backend.name}: the platform runs at most ${plan.concurrency} attempts at once (of the ${plan.asked} asked for): ${plan.concurrency} are kept in flight`);
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
  return {
    origin,
    startedAt,
    runId,
    stateDir,
    ...(resumed ? { resumed } : {}),
    opts,
    modulePath: job.modulePath,
    concurrency: plan.concurrency,
    ...(plan.asked !== undefined ? { concurrencyAsked: plan.asked } : {}),
    tasks: plan.tasks,
    ...(backup ? { backup } : {}),
    input: resolvedInput,
  };
}
