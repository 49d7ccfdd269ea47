// Stage 4 of a run, probe (`tasks: "auto"` only): a few waves of the fine and the coarse cut measure the backend's
// per-invocation overhead and the job's work, and the input is cut again into the count they favour (see auto-tasks.ts).
import { probeTaskCount, type AutoTaskDecision } from "../../plan/auto-tasks.js";
import type { ScheduleOptions, ScheduleResult } from "../../schedule/scheduler.js";
import type { RunJournal } from "./journal.js";
import type { PlannedTasks } from "./plan.js";
import type { ResolvedRun } from "./resolve.js";

/** The run's tasks after the probe: its decision, or the probe's own result when one of its tasks failed for good. */
export interface ProbedTasks {
  tasks: unknown[];
  autoTasks?: AutoTaskDecision;
  /** A probe task failed for good (the job's bug, or out of memory): the run ends with it, as it would have anyway. */
  failed?: ScheduleResult;
}

/** Probes when the plan asks for it; otherwise the planned tasks stand. */
export async function probe<I>(r: ResolvedRun<I>, planned: PlannedTasks, schedOpts: ScheduleOptions, journal: RunJournal): Promise<ProbedTasks> {
  const { tasks, probe: p } = planned;
  if (!p) return { tasks };
  const backend = r.opts.backend;
  r.opts.log?.(`tasks auto: probing ${backend.name} with ${r.concurrency} fine and ${r.concurrency} coarse tasks (of ${tasks.length} and ${p.coarse.length})`);
  const outcome = await probeTaskCount(tasks, p.coarse, backend, schedOpts, p.maxTasks);
  if (outcome.failed) return { tasks: outcome.tasks, failed: outcome.failed };
  const autoTasks = outcome.decision;
  r.opts.log?.(`tasks auto: ${autoTasks.reason} (measured on ${autoTasks.probeTasks} probe tasks of ${autoTasks.fineTasks})`);
  const chosen = await planned.partition(autoTasks.tasks);
  // The journal's start named the probe's fine count: a resume must cut the input as this run does.
  journal.retasked(chosen.length);
  return { tasks: chosen, autoTasks };
}
