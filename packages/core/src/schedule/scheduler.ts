import type { SuperfaasError, TaskError } from "../errors.js";
import type { Backend, InvokeResult } from "../backend.js";
import type { TaskRecord } from "./task-record.js";
import type { BackupPolicy, BackupTotals } from "./speculation.js";
import { Abort, Attempts, type Attempt, type InFlight } from "./attempt.js";
import { RetryPolicy } from "./backoff.js";
import { Backups } from "./backups.js";
import { cancelledFailure, taskFailure, throttledFailure, toTaskError } from "./failures.js";
import { TaskQueue } from "./queue.js";
import { Tally } from "./tally.js";
import { ConcurrencyWindow } from "./window.js";

export { backoffDelay, DEFAULT_THROTTLE_TIMEOUT_MS } from "./backoff.js";
export { outOfMemoryFailure, throttledFailure } from "./failures.js";

/** How the scheduler drives a backend. */
export interface ScheduleOptions {
  /** Most attempts in flight at once. */
  concurrency: number;
  /** Deadline of one attempt; a late attempt is aborted and counts as a retryable failure. */
  timeoutMs: number;
  /** Extra attempts a task gets after retryable failures (throttling is budgeted separately). */
  retries: number;
  /** Exponential backoff: the n-th retry waits about base·2^(n-1), capped at max, with jitter. */
  backoff?: { baseMs: number; maxMs: number };
  /** Throttled attempts a task may see before the run gives up. */
  maxThrottleRetries?: number;
  /**
   * The run fails (THROTTLED) when the platform has refused every attempt for load this long: no attempt answered with
   * anything but a throttle (default 180 s). A limit far below what the run asks for is not waited out for ever.
   */
  throttleTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /** `performance.now()` of the run's start; record times are relative to it. */
  origin?: number;
  /** Start backup attempts of stragglers under this policy (see speculation.ts); none when absent. */
  backup?: BackupPolicy;
  /** The platform's cap on invocations per minute: a backup never makes the attempts of the last minute exceed it. */
  invocationsPerMinute?: number;
  /** Tasks finished in an earlier session of the run (a resume): their partials by index; they are not run again. */
  completed?: ReadonlyMap<number, unknown>;
  /**
   * Called once per task with its winning partial; the task counts as done (progress, the end of the run) only when
   * the hook calls `committed` (the run journal calls it once the partial is written).
   */
  onResult?: (index: number, partial: unknown, committed: () => void) => void;
}

/** A change in the run's progress, for bars and logs. */
export interface ProgressEvent {
  type: "started" | "succeeded" | "retrying" | "failed";
  taskIndex: number;
  attempt: number;
  done: number;
  total: number;
  inFlight: number;
  elapsedMs: number;
  message?: string;
  /** A "retrying" event for an attempt the platform refused for load (HTTP 429), not one that failed. */
  throttled?: boolean;
  /** A "started" event of a backup attempt, which runs beside the task's first one. */
  backup?: boolean;
}

/** What a scheduling pass produced; `failure` is set when the run did not complete. */
export interface ScheduleResult {
  partials: unknown[];
  records: TaskRecord[];
  attempts: number;
  retries: number;
  throttled: number;
  /** Attempts that started a new execution environment, failed ones included. */
  coldStarts: number;
  peakConcurrency: number;
  /** Bytes read through `ctx.read` by the attempts whose partials were used. */
  bytesRead: number;
  /** Backup attempts, when a backup policy was given (cost is for the caller to price). */
  backups?: Omit<BackupTotals, "costUsd">;
  /**
   * Attempts the client stopped waiting for (a losing backup or original, a deadline, a cancel or a failure ending the
   * run) whose billed time never came back: the platform may still bill them. `inFlightMs` is the time each had run
   * when it was given up, summed; `limitMs` is the most one attempt can run (the attempt deadline). `since` is the
   * wall-clock time (epoch ms) of the first attempt, and `answered` the attempts whose answer carried billed time.
   */
  abandoned: { count: number; inFlightMs: number; limitMs: number; since: number; answered: number };
  failure?: SuperfaasError;
}

/**
 * Runs every task on the backend: at most `concurrency` attempts in flight (lowered while the platform
 * throttles, raised again as attempts succeed), per-attempt timeouts, retries with backoff for retryable
 * failures only, and prompt cancellation. Partials come back in task order whatever the completion order.
 */
export async function schedule(tasks: readonly unknown[], backend: Backend, opts: ScheduleOptions): Promise<ScheduleResult> {
  const origin = opts.origin ?? performance.now();
  const now = () => performance.now() - origin;
  const total = tasks.length;
  const retry = new RetryPolicy(opts.retries, opts.backoff, opts.maxThrottleRetries, opts.throttleTimeoutMs);
  const partials: unknown[] = new Array(total);
  const queuedAt = now();
  const records: TaskRecord[] = Array.from({ length: total }, (_, index) => ({ index, queuedAt, attempts: 0, status: "pending" }));
  const throttleCount = new Uint32Array(total);
  const queue = new TaskQueue(total, opts.completed);
  if (opts.completed?.size) markCompleted(opts.completed, partials, records);
  let inFlight = 0;
  let done = total - queue.fresh;
  const window = new ConcurrencyWindow(opts.concurrency);
  let failure: SuperfaasError | undefined;
  // When an attempt was last answered with anything but a throttle (or the pass began), relative to the origin: the
  // throttle timeout counts from it. One number for the run, set from times the records take anyway.
  let lastAnswered = now();
  const flights = new Attempts(backend, opts.timeoutMs, records, finishAttempt, opts.backup && ((a, billedMs) => backups!.billedLate(a, billedMs)));
  const tally = new Tally(flights.abandoned);
  const backups = opts.backup
    ? new Backups(opts.backup, opts.concurrency, opts.invocationsPerMinute, queue.fresh, records, flights, {
        mayBackUp: () => !(failure || queue.waiting || window.shrunk),
        hasSlot: () => inFlight < window.slots,
        start: (index) => attempt(index, true),
        now,
      })
    : undefined;
  const rate = backups?.rate;

  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const settleIfIdle = () => {
    if (inFlight === 0 && (failure || done === total)) finish();
  };

  const onProgress = opts.onProgress;
  const emit = (type: ProgressEvent["type"], taskIndex: number, attempt: number, message?: string, throttledAttempt?: boolean) =>
    onProgress?.({ type, taskIndex, attempt, done, total, inFlight, elapsedMs: now(), ...(message ? { message } : {}), ...(throttledAttempt ? { throttled: true } : {}) });

  const fail = (err: SuperfaasError) => {
    if (failure) return;
    failure = err;
    queue.clear();
    flights.abortAll(new Abort(err.code === "CANCELLED" ? "cancelled" : "run-failed"));
    for (const r of records) if (r.status === "pending" || r.status === "running") r.status = "cancelled";
    settleIfIdle();
  };

  const onRunAbort = () => fail(cancelledFailure(done, total));
  if (opts.signal?.aborted) onRunAbort();
  else opts.signal?.addEventListener("abort", onRunAbort, { once: true });

  const pump = () => {
    while (!failure && inFlight < window.slots) {
      const index = queue.next();
      if (index < 0) break;
      void attempt(index);
    }
    if (backups?.armed) backups.speculate();
    settleIfIdle();
  };

  // Not an async function: an attempt in flight holds its record of a few fields and one continuation on the
  // backend's promise, not a suspended frame and a promise of its own.
  const attempt = (index: number, backup = false): Attempt => {
    const rec = records[index]!;
    const n = ++rec.attempts;
    tally.attempts++;
    inFlight++;
    if (inFlight > tally.peak) tally.peak = inFlight;
    rec.status = "running";
    if (rec.startedAt === undefined) rec.startedAt = now();
    if (backup) onProgress?.({ type: "started", taskIndex: index, attempt: n, done, total, inFlight, elapsedMs: now(), backup: true });
    else emit("started", index, n);
    const t0 = performance.now();
    if (rate) rate.record(t0);
    return flights.start(tasks[index], index, n, backup, t0);
  };

  // Hoisted: the attempts in flight report to it.
  function finishAttempt(controller: AbortController, a: InFlight, result: InvokeResult | undefined, error: unknown) {
    const { index, n } = a;
    const rec = records[index]!;
    flights.running.delete(controller);
    inFlight--;
    if (a.backup) backups!.inFlight--;
    if (failure || a.state === "lost") {
      if (a.state === "lost") pump(); // its slot is free
      else settleIfIdle();
      return;
    }
    // A race of two attempts of this task ends: the first result wins, and a failure of either leaves the other
    // running (a backup that fails must not fail a task whose first attempt may still succeed, nor the reverse).
    const other = backups?.endRace(a);
    if (other) {
      if (result) backups!.lose(other);
      else return raceFailure(a, toTaskError(error, opts.timeoutMs));
    }
    if (result) {
      // The task is won here: this attempt's partial is the one reduced, exactly once.
      partials[index] = result.partial;
      rec.status = "succeeded";
      rec.finishedAt = lastAnswered = now();
      tally.answer(rec, result);
      backups?.won(a, rec);
      window.grow();
      won(index, n, result.partial);
      return;
    }
    handleFailure(index, n, toTaskError(error, opts.timeoutMs));
  }

  // A failed attempt's answer in its task's record and the run's counts; the time it was recorded is returned. An
  // attempt refused for load never ran: the platform is busy, so the window shrinks.
  const noteFailure = (rec: TaskRecord, n: number, err: TaskError) => {
    const at = now();
    if (!err.throttled) lastAnswered = at;
    else window.shrink();
    tally.failure(rec, n, at, err);
    return at;
  };

  // One of two attempts of a task failed while the other runs on: recorded and billed, neither retried nor fatal.
  const raceFailure = (a: InFlight, err: TaskError) => {
    const rec = records[a.index]!;
    noteFailure(rec, a.n, err);
    // A throttled attempt is not charged, unless a later attempt already took the next number (numbers stay unique).
    if (err.throttled && a.n === rec.attempts) rec.attempts--;
    backups!.raceFailed(a, rec, err.throttled, err.billedMs);
    pump();
  };

  // The one place a won task becomes done (counted, reported "succeeded", part of the end of the pass): a task is done
  // only once its result is durable. With no `onResult` it is at once; with one (the run journal) it is when the hook
  // calls back, the partial written. The attempt's slot is refilled at once either way.
  const won = (index: number, n: number, partial: unknown) => {
    if (!opts.onResult) return countDone(index, n, true);
    opts.onResult(index, partial, () => countDone(index, n, false));
    pump();
  };
  const countDone = (index: number, n: number, refill: boolean) => {
    done++;
    emit("succeeded", index, n);
    if (refill) return pump();
    // The slot was refilled when the result arrived: only the backups' timer and the end of the pass remain.
    if (backups?.armed) backups.speculate();
    settleIfIdle();
  };

  const handleFailure = (index: number, n: number, err: TaskError) => {
    const rec = records[index]!;
    const at = noteFailure(rec, n, err);
    let delay: number | undefined;
    if (err.throttled) {
      rec.attempts--; // a throttled attempt never ran: it does not use up the retry budget
      // Nothing but throttling for too long: the platform's limit is far below what the run asks for.
      const quietMs = at - lastAnswered;
      if (quietMs > retry.throttleTimeoutMs) return giveUp(index, err, throttledFailure(backend.name, quietMs, retry.throttleTimeoutMs, err), at);
      delay = retry.afterThrottle(err, ++throttleCount[index]!);
      if (delay === undefined) return giveUp(index, err, taskFailure(index, err, rec.attempts, true, opts.timeoutMs));
    } else {
      // A backup's attempt is not a retry: it does not use up the task's budget.
      delay = retry.afterFailure(err, rec.attempts, rec.attempts - (backups ? backups.of(index) : 0));
      if (delay === undefined) return giveUp(index, err, taskFailure(index, err, rec.attempts, false, opts.timeoutMs));
    }
    tally.retries++;
    rec.status = "pending";
    emit("retrying", index, n, err.message, err.throttled);
    queue.retryAfter(index, delay, pump);
    pump();
  };

  // The task failed for good after `err`, and the run with `failure`.
  const giveUp = (index: number, err: TaskError, runError: SuperfaasError, at = now()) => {
    const rec = records[index]!;
    rec.status = "failed";
    rec.finishedAt = at;
    emit("failed", index, rec.attempts, err.message);
    fail(runError);
  };

  pump();
  await finished;
  flights.stop();
  backups?.stop();
  opts.signal?.removeEventListener("abort", onRunAbort);
  const { attempts, retries, throttled, coldStarts, bytesRead, peak } = tally;
  const abandoned = flights.abandoned;
  return { partials, records, attempts, retries, throttled, coldStarts, bytesRead, peakConcurrency: peak, abandoned, ...(backups ? { backups: backups.totals } : {}), ...(failure ? { failure } : {}) };
}

/** On a resume, the tasks finished in an earlier session are done already: their partials are the ones reduced. */
function markCompleted(completed: ReadonlyMap<number, unknown>, partials: unknown[], records: TaskRecord[]): void {
  for (let i = 0; i < records.length; i++) {
    if (!completed.has(i)) continue;
    partials[i] = completed.get(i);
    records[i]!.status = "succeeded";
  }
}
