// Stage 7 of a run, reduce: every task ran, so the job's reduce makes the output from the partials in task order, and
// its metrics join the report. The end of the run is the journal's end record, whichever way the run ends.
import type { SuperfaasError } from "../../errors.js";
import type { Job } from "../../job/job.js";
import { jobStep } from "../job-step.js";
import type { RunReport } from "../report.js";
import { RunError, type RunResult } from "../types.js";
import type { RunJournal } from "./journal.js";
import type { ResolvedRun } from "./resolve.js";

/** Ends a run that failed (a task's failure, a cancel, the job's reduce): the report and the journal say why. */
export async function failed(err: SuperfaasError, report: RunReport, journal: RunJournal): Promise<RunError> {
  report.error = { code: err.code, message: err.message };
  await journal.ended(report.status, err.message);
  return new RunError(err, report);
}

/** Reduces the partials into the output; what the job's reduce or metrics throw fails the run with its report. */
export async function reduce<I, T, P, O>(job: Job<I, T, P, O>, r: ResolvedRun<I>, partials: unknown[], report: RunReport, journal: RunJournal): Promise<RunResult<O>> {
  let output: O;
  try {
    output = jobStep(job.name, "reduce", () => job.reduce(partials as P[], r.input));
    report.wallMs = performance.now() - r.origin;
    report.metrics = jobStep(job.name, "metrics", () => job.metrics?.(output, report) ?? {});
  } catch (err) {
    // Every task ran: the report says so, and the caller gets it with the job's error.
    report.status = "failed";
    throw await failed(err as SuperfaasError, report, journal);
  }
  await journal.ended("succeeded");
  return { output, report };
}
