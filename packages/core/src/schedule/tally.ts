// What a scheduling pass counts (the totals of `ScheduleResult`), and what it writes into a task's record from an
// attempt's answer: the control flow of the pass stays in the scheduler, the bookkeeping here.
import type { InvokeResult } from "../backend.js";
import type { TaskError } from "../errors.js";
import type { TaskRecord } from "./task-record.js";

/** The run's counts of attempts and of what their answers said. */
export class Tally {
  attempts = 0;
  retries = 0;
  throttled = 0;
  /** Attempts that started a new execution environment, failed ones included. */
  coldStarts = 0;
  bytesRead = 0;
  /** Most attempts in flight at once. */
  peak = 0;

  /** `abandoned.answered` counts the answers that carried billed time. */
  constructor(private readonly abandoned: { answered: number }) {}

  /** The answer of the attempt that won its task, into the task's record (billed time adds up over attempts). */
  answer(rec: TaskRecord, result: InvokeResult): void {
    if (result.workerId !== undefined) rec.workerId = result.workerId;
    if (result.coldStart !== undefined) rec.coldStart = result.coldStart;
    if (result.coldStart) this.coldStarts++;
    if (result.durationMs !== undefined) rec.durationMs = result.durationMs;
    if (result.billedMs !== undefined) {
      rec.billedMs = (rec.billedMs ?? 0) + result.billedMs;
      this.abandoned.answered++;
    }
    if (result.initMs !== undefined) rec.initMs = result.initMs;
    if (result.waitMs !== undefined) rec.waitMs = result.waitMs;
    if (result.platformId !== undefined) rec.platformId = result.platformId;
    if (result.bytesRead) this.bytesRead += result.bytesRead;
  }

  /** The failure of attempt `n` at `at` (relative to the run's origin), into its task's record. */
  failure(rec: TaskRecord, n: number, at: number, err: TaskError): void {
    (rec.errors ??= []).push({ attempt: n, at, message: err.message, retryable: err.retryable });
    if (err.billedMs !== undefined) {
      rec.billedMs = (rec.billedMs ?? 0) + err.billedMs;
      this.abandoned.answered++;
    }
    if (err.coldStart) this.coldStarts++;
    if (err.throttled) this.throttled++;
  }
}
