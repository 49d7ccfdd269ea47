// Stage 2 of a run, plan: the job's partition cuts the input into tasks. With `tasks: "auto"` (and room for a probe) the
// input is cut twice, finely and coarsely, for the probe stage to measure (see auto-tasks.ts); a resumed run must cut
// it into as many tasks as its first session did.
import { SuperfaasError } from "../../errors.js";
import { assertJson } from "../../job/json.js";
import { maxTasks } from "../../plan/limits.js";
import { coarseTaskCount, fineTaskCount } from "../../plan/auto-tasks.js";
import type { Job } from "../../job/job.js";
import { jobStep } from "../job-step.js";
import type { ResolvedRun } from "./resolve.js";

/** The run's tasks as planned. */
export interface PlannedTasks {
  /** The run's tasks; for a probe, the fine cut it measures. */
  tasks: unknown[];
  /** Set when the task count is for a probe to choose: the coarse cut and the most tasks the choice may make. */
  probe?: { coarse: unknown[]; maxTasks: number };
  /** Cuts the input again into (about) `count` tasks: the probe's choice. */
  partition: (count: number) => Promise<unknown[]>;
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

/** Plans the run's tasks: see the file comment. */
export async function planTasks<I, T, P, O>(job: Job<I, T, P, O>, r: ResolvedRun<I>): Promise<PlannedTasks> {
  const { opts, concurrency } = r;
  const backend = opts.backend;
  const partition = async (count: number): Promise<unknown[]> => {
    const result = jobStep(job.name, "partition", () => job.partition(r.input, { tasks: count, concurrency, ...(opts.signal ? { signal: opts.signal } : {}) }));
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
  const tasks = await partition(auto ? fineTaskCount(concurrency, autoLimit) : r.tasks);
  const coarse = auto && tasks.length > concurrency ? await partition(coarseTaskCount(tasks.length)) : undefined;
  // A job whose tasks do not follow plan.tasks (or too few to choose among) runs as it is, without a probe.
  const probing = coarse !== undefined && coarse.length !== tasks.length && coarse.length >= concurrency;
  if (r.resumed && tasks.length !== r.resumed.start.taskCount) {
    throw new SuperfaasError("RESUME_REFUSED", `run ${r.runId}: partition() now makes ${tasks.length} tasks where the run had ${r.resumed.start.taskCount}`, "the job's partition changed since; start a new run");
  }
  return { tasks, ...(probing ? { probe: { coarse, maxTasks: autoLimit - 3 * concurrency } } : {}), partition };
}
