// Stage 5 of a run, schedule: the run's tasks go to the backend through the scheduler (the probe's waves use the same
// settings). A resumed run's finished tasks are not run again; the journal is handed each result as it is won.
import { schedule, type ScheduleOptions, type ScheduleResult } from "../../schedule/scheduler.js";
import type { RunJournal } from "./journal.js";
import type { ResolvedRun } from "./resolve.js";

/** How the scheduler drives the backend in this run: its bounds, deadlines, retries, backups and progress. */
export function scheduleOptions<I>(r: ResolvedRun<I>): ScheduleOptions {
  const { opts, backup } = r;
  const facts = opts.backend.facts;
  return {
    concurrency: r.concurrency,
    timeoutMs: opts.timeoutMs ?? 15 * 60_000,
    retries: opts.retries ?? 3,
    ...(opts.throttleTimeoutMs !== undefined ? { throttleTimeoutMs: opts.throttleTimeoutMs } : {}),
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(backup ? { backup, ...(facts.invocationsPerMinute ? { invocationsPerMinute: facts.invocationsPerMinute } : {}) } : {}),
    origin: r.origin,
  };
}

/** Runs the run's tasks; only these are journaled (the probe's partials are thrown away). */
export function scheduleTasks<I>(tasks: readonly unknown[], r: ResolvedRun<I>, schedOpts: ScheduleOptions, journal: RunJournal): Promise<ScheduleResult> {
  const onResult = journal.onResult;
  return schedule(tasks, r.opts.backend, {
    ...schedOpts,
    ...(r.resumed ? { completed: r.resumed.done } : {}),
    ...(onResult ? { onResult } : {}),
  });
}
