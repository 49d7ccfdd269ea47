import type { SuperfaasError, TaskError } from "../errors.js";
import type { Backend, InvokeResult } from "../backend.js";
import type { TaskRecord } from "./task-record.js";
import type { BackupPolicy, BackupTotals } from "./speculation.js";
import { Abort, type Attempt, type InFlight } from "./attempt.js";
import { RetryPolicy } from "./backoff.js";
import { Backups } from "./backups.js";
import { cancelledFailure, taskFailure, throttledFailure, toTaskError } from "./failures.js";
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
  const ready: number[] = [];
  // On a resume, the tasks still to run, in task order; otherwise every index in order.
  let fresh: number[] | undefined;
  if (opts.completed?.size) {
    fresh = [];
    for (let i = 0; i < total; i++) {
      if (opts.completed.has(i)) {
        partials[i] = opts.completed.get(i);
        records[i]!.status = "succeeded";
      } else fresh.push(i);
    }
  }
  const freshTotal = fresh ? fresh.length : total;
  let nextFresh = 0;
  let inFlight = 0;
  let done = total - freshTotal;
  let attempts = 0;
  let retries = 0;
  let throttled = 0;
  let coldStarts = 0;
  let bytesRead = 0;
  let peak = 0;
  const window = new ConcurrencyWindow(opts.concurrency);
  let failure: SuperfaasError | undefined;
  // When an attempt was last answered with anything but a throttle (or the pass began), relative to the origin: the
  // throttle timeout counts from it. One number for the run, set from times the records take anyway.
  let lastAnswered = now();
  const abandoned = { count: 0, inFlightMs: 0, limitMs: opts.timeoutMs, since: Date.now(), answered: 0 };
  // In-flight attempts and their deadlines. One sweeping timer enforces them all (a timer per attempt costs more
  // than the attempt itself when tasks are tiny); deadlines fire within 5% of the timeout.
  // An abort settles the attempt directly: a listener on every attempt's AbortSignal (an EventTarget) costs more
  // than a no-op task.
  const controllers = new Map<AbortController, InFlight>();
  const backups = opts.backup
    ? new Backups(opts.backup, opts.concurrency, freshTotal, total, opts.invocationsPerMinute, {
        records,
        running: controllers,
        mayBackUp: () => !(failure || ready.length || nextFresh < freshTotal || window.shrunk),
        hasSlot: () => inFlight < window.slots,
        start: (index) => attempt(index, true),
        abandon: ([c, a], reason) => abortAttempt(c, reason, a),
        now,
      })
    : undefined;
  const rate = backups?.rate;
  const abortAttempt = (c: AbortController, reason: Abort, a: InFlight) => {
    c.abort(reason);
    if (a.state !== "running") return;
    a.state = "abandoned";
    // The client stops waiting here; the platform may run (and bill) the attempt on.
    a.abandonedMs = performance.now() - a.t0;
    abandoned.count++;
    abandoned.inFlightMs += a.abandonedMs;
    // As if the backend had rejected: after whatever the caller is iterating over.
    queueMicrotask(() => finishAttempt(c, a, undefined, reason));
  };
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const sweep = setInterval(
    () => {
      const t = performance.now();
      for (const [c, a] of controllers) if (t >= a.deadline) abortAttempt(c, new Abort("timeout"), a);
    },
    Math.min(1_000, Math.max(5, opts.timeoutMs / 20)),
  );

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
    for (const t of timers) clearTimeout(t);
    timers.clear();
    const reason = new Abort(err.code === "CANCELLED" ? "cancelled" : "run-failed");
    for (const [c, a] of controllers) abortAttempt(c, reason, a);
    for (const r of records) if (r.status === "pending" || r.status === "running") r.status = "cancelled";
    settleIfIdle();
  };

  const onRunAbort = () => fail(cancelledFailure(done, total));
  if (opts.signal?.aborted) onRunAbort();
  else opts.signal?.addEventListener("abort", onRunAbort, { once: true });

  const pump = () => {
    while (!failure && inFlight < window.slots) {
      const index = ready.length ? ready.shift()! : nextFresh < freshTotal ? (fresh ? fresh[nextFresh++]! : nextFresh++) : -1;
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
    attempts++;
    inFlight++;
    if (inFlight > peak) peak = inFlight;
    rec.status = "running";
    if (rec.startedAt === undefined) rec.startedAt = now();
    if (backup) onProgress?.({ type: "started", taskIndex: index, attempt: n, done, total, inFlight, elapsedMs: now(), backup: true });
    else emit("started", index, n);
    const controller = new AbortController();
    const t0 = performance.now();
    if (rate) rate.record(t0);
    const a: InFlight = { index, n, deadline: t0 + opts.timeoutMs, state: "running", t0, backup };
    controllers.set(controller, a);
    // The backend's answer or the abort (timeout, cancel, run failure), whichever comes first, settles the attempt,
    // so a backend that ignores its signal cannot hang the run.
    let answer: Promise<InvokeResult>;
    try {
      answer = backend.invoke({ task: tasks[index], taskIndex: index, attempt: n, timeoutMs: opts.timeoutMs }, controller.signal);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (result) => {
        if (a.state !== "running") return lateAnswer(a, result.billedMs);
        a.state = "answered";
        finishAttempt(controller, a, result, undefined);
      },
      (error: unknown) => {
        if (a.state !== "running") return lateAnswer(a, (error as TaskError | undefined)?.billedMs);
        a.state = "answered";
        finishAttempt(controller, a, undefined, error);
      },
    );
    return [controller, a];
  };

  // An attempt given up on answered after all (the platform ran it to the end): its partial is ignored, its billed
  // time is not, and it is no longer an estimate.
  const lateAnswer = (a: InFlight, billedMs: number | undefined) => {
    if (billedMs === undefined || a.abandonedMs === undefined) return;
    const rec = records[a.index]!;
    rec.billedMs = (rec.billedMs ?? 0) + billedMs;
    abandoned.count--;
    abandoned.inFlightMs -= a.abandonedMs;
    abandoned.answered++;
    a.abandonedMs = undefined;
    backups?.billedLate(a, billedMs);
  };

  const finishAttempt = (controller: AbortController, a: InFlight, result: InvokeResult | undefined, error: unknown) => {
    const { index, n } = a;
    const rec = records[index]!;
    controllers.delete(controller);
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
      recordAnswer(rec, result);
      if (result.coldStart) coldStarts++;
      if (result.billedMs !== undefined) abandoned.answered++;
      if (result.bytesRead) bytesRead += result.bytesRead;
      backups?.won(a, rec);
      window.grow();
      won(index, n, result.partial);
      return;
    }
    handleFailure(index, n, toTaskError(error, opts.timeoutMs));
  };

  // A failed attempt's answer in its task's record (and the run's counts); the time it was recorded is returned.
  const noteFailure = (rec: TaskRecord, n: number, err: TaskError) => {
    const at = now();
    if (!err.throttled) lastAnswered = at;
    (rec.errors ??= []).push({ attempt: n, at, message: err.message, retryable: err.retryable });
    if (err.billedMs !== undefined) {
      rec.billedMs = (rec.billedMs ?? 0) + err.billedMs;
      abandoned.answered++;
    }
    if (err.coldStart) coldStarts++;
    return at;
  };

  // One of two attempts of a task failed while the other runs on: recorded and billed, neither retried nor fatal.
  const raceFailure = (a: InFlight, err: TaskError) => {
    const rec = records[a.index]!;
    noteFailure(rec, a.n, err);
    if (err.throttled) {
      // Refused for load, never ran: the platform is busy, so the window shrinks as for any 429.
      throttled++;
      window.shrink();
      // Not charged, as for any throttled attempt, unless a later attempt already took the next number (numbers stay unique).
      if (a.n === rec.attempts) rec.attempts--;
    }
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
      throttled++;
      window.shrink();
      rec.attempts--; // a throttled attempt never ran: it does not use up the retry budget
      if (at - lastAnswered > retry.throttleTimeoutMs) {
        // Nothing but throttling for that long: the platform's limit is far below what the run asks for.
        rec.status = "failed";
        rec.finishedAt = at;
        emit("failed", index, rec.attempts, err.message);
        return fail(throttledFailure(backend.name, at - lastAnswered, retry.throttleTimeoutMs, err));
      }
      delay = retry.afterThrottle(err, ++throttleCount[index]!);
      if (delay === undefined) return giveUp(index, err, true);
    } else {
      // A backup's attempt is not a retry: it does not use up the task's budget.
      delay = retry.afterFailure(err, rec.attempts, rec.attempts - (backups ? backups.of(index) : 0));
      if (delay === undefined) return giveUp(index, err, false);
    }
    retries++;
    rec.status = "pending";
    emit("retrying", index, n, err.message, err.throttled);
    const t = setTimeout(() => {
      timers.delete(t);
      ready.push(index);
      pump();
    }, delay);
    timers.add(t);
    pump();
  };

  const giveUp = (index: number, err: TaskError, throttledTooOften: boolean) => {
    const rec = records[index]!;
    rec.status = "failed";
    rec.finishedAt = now();
    emit("failed", index, rec.attempts, err.message);
    fail(taskFailure(index, err, rec.attempts, throttledTooOften, opts.timeoutMs));
  };

  pump();
  await finished;
  clearInterval(sweep);
  backups?.stop();
  opts.signal?.removeEventListener("abort", onRunAbort);
  return { partials, records, attempts, retries, throttled, coldStarts, bytesRead, peakConcurrency: peak, abandoned, ...(backups ? { backups: backups.totals } : {}), ...(failure ? { failure } : {}) };
}

/** Copies what the platform said of a winning attempt into its task's record (billed time adds up over attempts). */
function recordAnswer(rec: TaskRecord, result: InvokeResult): void {
  if (result.workerId !== undefined) rec.workerId = result.workerId;
  if (result.coldStart !== undefined) rec.coldStart = result.coldStart;
  if (result.durationMs !== undefined) rec.durationMs = result.durationMs;
  if (result.billedMs !== undefined) rec.billedMs = (rec.billedMs ?? 0) + result.billedMs;
  if (result.initMs !== undefined) rec.initMs = result.initMs;
  if (result.waitMs !== undefined) rec.waitMs = result.waitMs;
  if (result.platformId !== undefined) rec.platformId = result.platformId;
}
