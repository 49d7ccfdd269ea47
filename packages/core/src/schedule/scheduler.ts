import { formatSeconds, optionError, SuperfaasError, TaskError, type OptionNames, type OutOfMemory } from "../errors.js";
import type { Backend, InvokeResult } from "../backend.js";
import type { TaskRecord } from "./task-record.js";
import { backupBudget, maxBackupsInFlight, StragglerThreshold, type BackupPolicy, type BackupTotals } from "./speculation.js";
import { JOB_LOAD_ERROR } from "../remote/wire.js";

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

const DEFAULT_BACKOFF = { baseMs: 200, maxMs: 10_000 };
/** How long a run rides out nothing but throttling before it fails (see `ScheduleOptions.throttleTimeoutMs`). */
export const DEFAULT_THROTTLE_TIMEOUT_MS = 180_000;

/** Delay before retry number `n` (1-based): exponential with "equal jitter", never below `floorMs`. */
export function backoffDelay(n: number, backoff = DEFAULT_BACKOFF, floorMs = 0, random = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, n - 1));
  return Math.max(floorMs, ceiling / 2 + random() * (ceiling / 2));
}

/** An attempt in flight: settled once, by the backend's answer or by an abort. */
interface InFlight {
  index: number;
  n: number;
  deadline: number;
  settled: boolean;
  /** `performance.now()` when it started; only read by the backup policy. */
  t0: number;
  /** A backup attempt, started beside the task's running one. */
  backup: boolean;
  /** Lost its race to the task's other attempt: its answer, if any ever comes, only adds to the waste. */
  lost?: boolean;
  /** Time counted as wasted for it when it lost (until the cancel; replaced by its billed time if that arrives). */
  wasteMs?: number;
  /** Given up by the client before its answer (counted in `abandoned` until a late answer brings its billed time). */
  gaveUp?: number;
}

type Attempt = [AbortController, InFlight];

class Abort {
  constructor(readonly kind: "timeout" | "cancelled" | "run-failed" | "superseded") {}
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
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const maxThrottle = opts.maxThrottleRetries ?? 200;
  const throttleTimeoutMs = opts.throttleTimeoutMs ?? DEFAULT_THROTTLE_TIMEOUT_MS;
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
  // Additive-increase/multiplicative-decrease window, so throttling slows the run down instead of failing it.
  let window = Math.max(1, opts.concurrency);
  let failure: SuperfaasError | undefined;
  // When an attempt was last answered with anything but a throttle (or the pass began), relative to the origin: the
  // throttle timeout counts from it. One number for the run, set from times the records take anyway.
  let lastAnswered = now();
  // Backup attempts (speculation): at most one per task, each beside the task's running attempt, first answer wins.
  const policy = opts.backup;
  const threshold = policy ? new StragglerThreshold(policy, freshTotal) : undefined;
  const backedUp = policy ? new Uint8Array(total) : undefined;
  const pairs = new Map<number, { first: Attempt; backup: Attempt }>();
  const maxBackups = policy ? maxBackupsInFlight(policy, opts.concurrency) : 0;
  const budget = policy ? backupBudget(policy, freshTotal) : 0;
  const backups = { launched: 0, won: 0, wasted: 0, wastedMs: 0 };
  const abandoned = { count: 0, inFlightMs: 0, limitMs: opts.timeoutMs, since: Date.now(), answered: 0 };
  let backupsInFlight = 0;
  let specTimer: ReturnType<typeof setTimeout> | undefined;
  // Start times of the last minute's attempts, kept only when backups must respect a per-minute cap (a sliding minute
  // holds at least as many as the platform's fixed one, so staying under it here never earns a 429 there).
  const perMinute = policy ? opts.invocationsPerMinute : undefined;
  const recentStarts: number[] = [];
  let recentHead = 0;
  const roomThisMinute = (t: number) => {
    while (recentHead < recentStarts.length && recentStarts[recentHead]! <= t - 60_000) recentHead++;
    if (recentHead > 1024 && recentHead * 2 > recentStarts.length) {
      recentStarts.splice(0, recentHead);
      recentHead = 0;
    }
    return recentStarts.length - recentHead < perMinute!;
  };
  // In-flight attempts and their deadlines. One sweeping timer enforces them all (a timer per attempt costs more
  // than the attempt itself when tasks are tiny); deadlines fire within 5% of the timeout.
  // An abort settles the attempt directly: a listener on every attempt's AbortSignal (an EventTarget) costs more
  // than a no-op task.
  const controllers = new Map<AbortController, InFlight>();
  const abortAttempt = (c: AbortController, reason: Abort, a: InFlight) => {
    c.abort(reason);
    if (a.settled) return;
    a.settled = true;
    // The client stops waiting here; the platform may run (and bill) the attempt on.
    a.gaveUp = performance.now() - a.t0;
    abandoned.count++;
    abandoned.inFlightMs += a.gaveUp;
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

  const onRunAbort = () =>
    fail(new SuperfaasError("CANCELLED", `run cancelled after ${done} of ${total} tasks`, "nothing was reduced; run again to get a result"));
  if (opts.signal?.aborted) onRunAbort();
  else opts.signal?.addEventListener("abort", onRunAbort, { once: true });

  const pump = () => {
    while (!failure && inFlight < Math.floor(window)) {
      const index = ready.length ? ready.shift()! : nextFresh < freshTotal ? (fresh ? fresh[nextFresh++]! : nextFresh++) : -1;
      if (index < 0) break;
      void attempt(index);
    }
    if (threshold?.armed) speculate();
    settleIfIdle();
  };

  // Starts backups of the attempts that have run past the straggler threshold, within the concurrency bound, the
  // in-flight cap and the budget, and re-arms one timer for the next attempt that will cross it. Queued work goes
  // first (a backup only takes a slot nothing else wants), and nothing starts while the platform throttles (the
  // window is below the concurrency): a backup then would only add to the load that slows the run.
  const speculate = () => {
    if (specTimer) clearTimeout(specTimer);
    specTimer = undefined;
    if (failure || ready.length || nextFresh < freshTotal || window < opts.concurrency) return;
    const limit = threshold!.thresholdMs;
    const t = performance.now();
    let soonest = Infinity;
    if (perMinute !== undefined && !roomThisMinute(t)) {
      // Full for now: look again when the oldest attempt of the last minute leaves it.
      specTimer = setTimeout(speculate, Math.max(1, recentStarts[recentHead]! + 60_000 - t));
      return;
    }
    for (const [c, a] of controllers) {
      if (inFlight >= Math.floor(window) || backupsInFlight >= maxBackups || backups.launched >= budget) return;
      if (a.backup || a.settled || backedUp![a.index] || records[a.index]!.status !== "running") continue;
      if (t - a.t0 >= limit) {
        if (perMinute !== undefined && !roomThisMinute(t)) return;
        launchBackup([c, a]);
      } else soonest = Math.min(soonest, a.t0 + limit);
    }
    if (soonest < Infinity) specTimer = setTimeout(speculate, Math.max(1, soonest - t));
  };

  const launchBackup = (first: Attempt) => {
    const index = first[1].index;
    backedUp![index] = 1;
    backups.launched++;
    backupsInFlight++;
    records[index]!.backup = { startedAt: now(), won: false };
    pairs.set(index, { first, backup: attempt(index, true) });
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
    if (perMinute !== undefined) recentStarts.push(t0);
    const a: InFlight = { index, n, deadline: t0 + opts.timeoutMs, settled: false, t0, backup };
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
        if (a.settled) return lateAnswer(a, result.billedMs);
        a.settled = true;
        finishAttempt(controller, a, result, undefined);
      },
      (error: unknown) => {
        if (a.settled) return lateAnswer(a, (error as TaskError | undefined)?.billedMs);
        a.settled = true;
        finishAttempt(controller, a, undefined, error);
      },
    );
    return [controller, a];
  };

  // An attempt given up on answered after all (the platform ran it to the end): its partial is ignored, its billed
  // time is not, and it is no longer an estimate.
  const lateAnswer = (a: InFlight, billedMs: number | undefined) => {
    if (billedMs === undefined || a.gaveUp === undefined) return;
    const rec = records[a.index]!;
    rec.billedMs = (rec.billedMs ?? 0) + billedMs;
    abandoned.count--;
    abandoned.inFlightMs -= a.gaveUp;
    abandoned.answered++;
    a.gaveUp = undefined;
    if (!a.lost) return;
    backups.wastedMs += billedMs - (a.wasteMs ?? 0);
    a.wasteMs = billedMs;
  };

  // The other attempt of a task that was won: cancelled, and what it ran so far counted as waste.
  const lose = ([c, a]: Attempt) => {
    a.lost = true;
    a.wasteMs = performance.now() - a.t0;
    backups.wasted++;
    backups.wastedMs += a.wasteMs;
    abortAttempt(c, new Abort("superseded"), a);
  };

  const finishAttempt = (controller: AbortController, a: InFlight, result: InvokeResult | undefined, error: unknown) => {
    const { index, n } = a;
    const rec = records[index]!;
    controllers.delete(controller);
    inFlight--;
    if (a.backup) backupsInFlight--;
    if (failure || a.lost) {
      if (a.lost) pump(); // its slot is free
      else settleIfIdle();
      return;
    }
    const pair = pairs.size ? pairs.get(index) : undefined;
    if (pair) {
      // A race of two attempts of this task ends: the first result wins, and a failure of either leaves the other
      // running (a backup that fails must not fail a task whose first attempt may still succeed, nor the reverse).
      pairs.delete(index);
      const other = pair.first[1] === a ? pair.backup : pair.first;
      if (result) lose(other);
      else return raceFailure(a, toTaskError(error, opts.timeoutMs));
    }
    if (result) {
      // The task is won here: this attempt's partial is the one reduced, exactly once.
      partials[index] = result.partial;
      rec.status = "succeeded";
      rec.finishedAt = lastAnswered = now();
      if (result.workerId !== undefined) rec.workerId = result.workerId;
      if (result.coldStart !== undefined) rec.coldStart = result.coldStart;
      if (result.coldStart) coldStarts++;
      if (result.durationMs !== undefined) rec.durationMs = result.durationMs;
      if (result.billedMs !== undefined) {
        rec.billedMs = (rec.billedMs ?? 0) + result.billedMs;
        abandoned.answered++;
      }
      if (result.initMs !== undefined) rec.initMs = result.initMs;
      if (result.waitMs !== undefined) rec.waitMs = result.waitMs;
      if (result.platformId !== undefined) rec.platformId = result.platformId;
      if (result.bytesRead) bytesRead += result.bytesRead;
      if (a.backup) {
        backups.won++;
        rec.backup!.won = true;
      }
      threshold?.add(performance.now() - a.t0);
      if (window < opts.concurrency) window = Math.min(opts.concurrency, window + 1 / Math.max(1, window));
      won(index, n, result.partial);
      return;
    }
    handleFailure(index, n, toTaskError(error, opts.timeoutMs));
  };

  // One of two attempts of a task failed while the other runs on: recorded and billed, neither retried nor fatal.
  const raceFailure = (a: InFlight, err: TaskError) => {
    const rec = records[a.index]!;
    const at = now();
    if (!err.throttled) lastAnswered = at;
    (rec.errors ??= []).push({ attempt: a.n, at, message: err.message, retryable: err.retryable });
    if (err.billedMs !== undefined) {
      rec.billedMs = (rec.billedMs ?? 0) + err.billedMs;
      abandoned.answered++;
    }
    if (err.coldStart) coldStarts++;
    if (err.throttled) {
      // Refused for load, never ran: the platform is busy, so the window shrinks as for any 429, and a backup refused
      // so is as if never started (the task may get one once the throttling is over).
      throttled++;
      window = Math.max(1, window / 2);
      // Not charged, as for any throttled attempt, unless a later attempt already took the next number (numbers stay unique).
      if (a.n === rec.attempts) rec.attempts--;
      if (a.backup) {
        backups.launched--;
        backedUp![a.index] = 0;
        delete rec.backup;
      }
    } else if (a.backup) {
      backups.wasted++;
      backups.wastedMs += err.billedMs ?? performance.now() - a.t0;
    }
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
    if (threshold?.armed) speculate();
    settleIfIdle();
  };

  const handleFailure = (index: number, n: number, err: TaskError) => {
    const rec = records[index]!;
    const at = now();
    if (!err.throttled) lastAnswered = at;
    (rec.errors ??= []).push({ attempt: n, at, message: err.message, retryable: err.retryable });
    if (err.billedMs !== undefined) {
      rec.billedMs = (rec.billedMs ?? 0) + err.billedMs;
      abandoned.answered++;
    }
    if (err.coldStart) coldStarts++;
    let delay: number;
    if (err.throttled) {
      throttled++;
      window = Math.max(1, window / 2);
      rec.attempts--; // a throttled attempt never ran: it does not use up the retry budget
      if (at - lastAnswered > throttleTimeoutMs) {
        // Nothing but throttling for that long: the platform's limit is far below what the run asks for.
        rec.status = "failed";
        rec.finishedAt = at;
        emit("failed", index, rec.attempts, err.message);
        return fail(throttledFailure(backend.name, at - lastAnswered, throttleTimeoutMs, err));
      }
      if (++throttleCount[index]! > maxThrottle) return giveUp(index, err, "throttled too often");
      delay = backoffDelay(Math.min(throttleCount[index]!, 6), backoff, err.retryAfterMs ?? 0);
    } else if (err.retryable && rec.attempts - (backedUp?.[index] ?? 0) <= (err.maxRetries === undefined ? opts.retries : Math.min(opts.retries, err.maxRetries))) {
      delay = backoffDelay(rec.attempts, backoff, err.retryAfterMs ?? 0);
    } else {
      return giveUp(index, err, err.retryable ? `gave up after ${rec.attempts} attempts` : "");
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

  const giveUp = (index: number, err: TaskError, why: string) => {
    const rec = records[index]!;
    rec.status = "failed";
    rec.finishedAt = now();
    emit("failed", index, rec.attempts, err.message);
    const loading = err.origin === "remote" && err.name === JOB_LOAD_ERROR;
    const where = loading
      ? `task ${index} could not load the job module: ${err.message}`
      : err.origin === "remote"
        ? `task ${index} failed in map: ${err.name}: ${err.message}`
        : `task ${index} failed: ${err.message}`;
    const message = why ? `${where} (${why})` : where;
    if (err.outOfMemory) {
      fail(outOfMemoryFailure(index, err.outOfMemory, err));
      return;
    }
    if (err.origin === "timeout") {
      const timeoutMs = opts.timeoutMs;
      // The limit that fired: the platform's own (a function's time limit) or the run's deadline for an attempt.
      const limit = err.timeLimit;
      const raise = (n: OptionNames) =>
        !limit
          ? `raise ${n.name("timeoutMs")} (now ${n.value("timeoutMs", timeoutMs)}), or `
          : limit.maxSeconds !== undefined && limit.seconds >= limit.maxSeconds
            ? `${limit.setting} is at the platform's most already (${limit.maxSeconds}): `
            : `raise ${limit.setting} (now ${limit.seconds}${limit.maxSeconds !== undefined ? `, at most ${limit.maxSeconds}` : ""}), or `;
      fail(optionError("TASK_TIMEOUT", (n) => ({ message, hint: `${raise(n)}split the work into more tasks with ${n.name("tasks")}` }), { cause: err }));
      return;
    }
    if (err.origin === "remote" && err.name === "DataEndpointError") {
      // Where the data is cannot be reached from where tasks run: the run's settings, not the job's code.
      fail(
        new SuperfaasError(
          "BAD_INPUT",
          `task ${index} could not read its data: ${err.message}`,
          "give the backend the S3 endpoint as its tasks reach it (AWS_ENDPOINT_URL_S3 or --s3-endpoint; on lambda --function-s3-endpoint when the functions reach it by another address)",
          { cause: err },
        ),
      );
      return;
    }
    fail(
      new SuperfaasError(
        "TASK_FAILED",
        message,
        loading
          ? "fix what the job module throws while it loads (its stack is shown with --verbose)"
          : err.origin === "remote"
            ? "fix the job's map function (the remote stack is in the report and shown with --verbose)"
            : "check the backend's configuration and health, then run again",
        { cause: err },
      ),
    );
  };

  pump();
  await finished;
  clearInterval(sweep);
  if (specTimer) clearTimeout(specTimer);
  opts.signal?.removeEventListener("abort", onRunAbort);
  return { partials, records, attempts, retries, throttled, coldStarts, bytesRead, peakConcurrency: peak, abandoned, ...(policy ? { backups } : {}), ...(failure ? { failure } : {}) };
}

/**
 * The run's error when the platform refused every attempt for load for longer than the throttle timeout: it names the
 * platform's limit that refused them (from the backend's TaskError) and what to change.
 */
export function throttledFailure(backendName: string, quietMs: number, throttleTimeoutMs: number, err: TaskError): SuperfaasError {
  const limit = err.throttleLimit ?? `the limits of ${backendName} on invocations`;
  return optionError(
    "THROTTLED",
    (n) => ({
      message: `${backendName} refused every invocation for load for ${formatSeconds(quietMs)}, longer than ${n.name("throttleTimeoutMs")} ${n.value("throttleTimeoutMs", throttleTimeoutMs)} (last answer: ${err.message})`,
      hint: `raise ${limit}, or lower ${n.name("concurrency")} or ${n.name("tasks")}`,
    }),
    { cause: err },
  );
}

/**
 * The run's error for a task that ran out of memory: it names the task, the memory it had and the setting that raises
 * it. It was not retried: the same memory would run out again.
 */
export function outOfMemoryFailure(index: number, oom: OutOfMemory, cause?: unknown): SuperfaasError {
  const raise = oom.maxMb !== undefined && oom.memoryMb >= oom.maxMb ? undefined : `raise ${oom.setting} above ${oom.memoryMb}${oom.maxMb !== undefined ? ` (at most ${oom.maxMb})` : ""}`;
  return optionError(
    "OUT_OF_MEMORY",
    (n) => ({
      message: `task ${index} ran out of memory: ${oom.what} ${oom.memoryMb} MB (${oom.evidence}); not retried, the same memory would run out again`,
      hint: `${raise ? `${raise}, or ` : `${oom.setting} is at the platform's most already: `}split the work into more, smaller tasks with ${n.name("tasks")}`,
    }),
    { cause },
  );
}

function toTaskError(err: unknown, timeoutMs: number): TaskError {
  if (err instanceof TaskError) return err;
  if (err instanceof Abort && err.kind === "timeout") {
    // In seconds, the unit of the CLI's --timeout, so a message never shows one unit and a flag the other.
    return new TaskError(`attempt timed out after ${formatSeconds(timeoutMs)}`, { retryable: true, origin: "timeout" });
  }
  // A backend that lets a raw error escape has hit something unexpected on its side: treat it as transient.
  const message = err instanceof Error ? err.message : String(err);
  return new TaskError(message, { retryable: true, origin: "platform", cause: err });
}
