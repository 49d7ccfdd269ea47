// run(): the life of a run as a pipeline of stages, each in stages/ with its inputs and outputs typed:
// resolve → plan → deploy → probe → schedule → report → reduce. The journal observes the run (stages/journal.ts).
import type { Job } from "../job/job.js";
import { deploy } from "./stages/deploy.js";
import { openJournal } from "./stages/journal.js";
import { planTasks } from "./stages/plan.js";
import { probe } from "./stages/probe.js";
import { failed, reduce } from "./stages/reduce.js";
import { reportRun } from "./stages/report.js";
import { resolveRun } from "./stages/resolve.js";
import { scheduleOptions, scheduleTasks } from "./stages/schedule.js";
import type { RunOptions, RunResult } from "./types.js";

export { RunError, type RunOptions, type RunResult } from "./types.js";

/**
 * Runs a job: partitions the input, runs every task's `map` on the backend through the scheduler, reduces the
 * partials in task order, and returns the output with a run report. Throws `RunError` (with the report) when a
 * task fails for good or the run is cancelled. The backend stays open; the caller disposes it.
 */
export async function run<I, T, P, O>(job: Job<I, T, P, O>, input: I, opts: RunOptions): Promise<RunResult<O>> {
  // Which run (new, or resumed from its journal), the options it goes by, its plan within the backend's limits.
  const r = await resolveRun(job, input, opts);
  // The job's partition cuts the input (twice for a probe of `tasks: "auto"`).
  const planned = await planTasks(job, r);
  const journal = openJournal(job, r, planned.tasks.length);
  r.opts.onStart?.({ runId: r.runId, ...(journal.path ? { journal: journal.path } : {}), concurrency: r.concurrency, ...(r.concurrencyAsked !== undefined ? { concurrencyAsked: r.concurrencyAsked } : {}) });
  const preparedAt = await deploy(job, r, journal);
  const schedOpts = scheduleOptions(r);
  // "auto": a few waves measure the backend and the job, and the input is cut again into the count they favour.
  const probed = await probe(r, planned, schedOpts, journal);
  const sched = probed.failed ?? (await scheduleTasks(probed.tasks, r, schedOpts, journal));
  const executedAt = performance.now();
  // The report is made before the reduce: the job's metrics read it, and a failed run ends with it.
  const report = await reportRun(job, r, { tasks: probed.tasks, sched, ...(probed.autoTasks ? { autoTasks: probed.autoTasks } : {}), preparedAt, executedAt });
  if (sched.failure) throw await failed(sched.failure, report, journal);
  return reduce(job, r, sched.partials, report, journal);
}
