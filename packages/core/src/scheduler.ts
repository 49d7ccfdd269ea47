import { formatSeconds, optionError, SuperfaasError, TaskError } from "./errors.js";
import type { Backend, InvokeResult } from "./backend.js";
import type { TaskRecord } from "./report.js";

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
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /** `performance.now()` of the run's start; record times are relative to it. */
  origin?: number;
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
  failure?: SuperfaasError;
}

const DEFAULT_BACKOFF = { baseMs: 200, maxMs: 10_000 };

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
}

class Abort {
  constructor(readonly kind: "timeout" | "cancelled" | "run-failed") {}
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
  let peak = 0;
  // Additive-increase/multiplicative-decrease window, so throttling slows the run down instead of failing it.
  let window = Math.max(1, opts.concurrency);
  let failure: SuperfaasError | undefined;
  // In-flight attempts and their deadlines. One sweeping timer enforces them all (a timer per attempt costs more
  // than the attempt itself when tasks are tiny); deadlines fire within 5% of the timeout.
  // An abort settles the attempt directly: a listener on every attempt's AbortSignal (an EventTarget) costs more
  // than a no-op task.
  const controllers = new Map<AbortController, InFlight>();
  const abortAttempt = (c: AbortController, reason: Abort, a: InFlight) => {
    c.abort(reason);
    if (a.settled) return;
    a.settled = true;
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
    settleIfIdle();
  };

  // Not an async function: an attempt in flight holds its record of a few fields and one continuation on the
  // backend's promise, not a suspended frame and a promise of its own.
  const attempt = (index: number) => {
    const rec = records[index]!;
    const n = ++rec.attempts;
    attempts++;
    inFlight++;
    if (inFlight > peak) peak = inFlight;
    rec.status = "running";
    if (rec.startedAt === undefined) rec.startedAt = now();
    emit("started", index, n);
    const controller = new AbortController();
    const a: InFlight = { index, n, deadline: performance.now() + opts.timeoutMs, settled: false };
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
        if (a.settled) return;
        a.settled = true;
        finishAttempt(controller, a, result, undefined);
      },
      (error: unknown) => {
        if (a.settled) return;
        a.settled = true;
        finishAttempt(controller, a, undefined, error);
      },
    );
  };

  const finishAttempt = (controller: AbortController, a: InFlight, result: InvokeResult | undefined, error: unknown) => {
    const { index, n } = a;
    const rec = records[index]!;
    controllers.delete(controller);
    inFlight--;
    if (failure) {
      settleIfIdle();
      return;
    }
    if (result) {
      partials[index] = result.partial;
      rec.status = "succeeded";
      rec.finishedAt = now();
      if (result.workerId !== undefined) rec.workerId = result.workerId;
      if (result.coldStart !== undefined) rec.coldStart = result.coldStart;
      if (result.coldStart) coldStarts++;
      if (result.durationMs !== undefined) rec.durationMs = result.durationMs;
      if (result.billedMs !== undefined) rec.billedMs = (rec.billedMs ?? 0) + result.billedMs;
      if (result.initMs !== undefined) rec.initMs = result.initMs;
      if (result.waitMs !== undefined) rec.waitMs = result.waitMs;
      if (result.platformId !== undefined) rec.platformId = result.platformId;
      if (window < opts.concurrency) window = Math.min(opts.concurrency, window + 1 / Math.max(1, window));
      if (opts.onResult) {
        opts.onResult(index, result.partial, () => succeeded(index, n));
        pump();
      } else succeeded(index, n);
      return;
    }
    handleFailure(index, n, toTaskError(error, opts.timeoutMs));
  };

  const succeeded = (index: number, n: number) => {
    done++;
    emit("succeeded", index, n);
    pump();
  };

  const handleFailure = (index: number, n: number, err: TaskError) => {
    const rec = records[index]!;
    (rec.errors ??= []).push({ attempt: n, at: now(), message: err.message, retryable: err.retryable });
    if (err.billedMs !== undefined) rec.billedMs = (rec.billedMs ?? 0) + err.billedMs;
    if (err.coldStart) coldStarts++;
    let delay: number;
    if (err.throttled) {
      throttled++;
      window = Math.max(1, window / 2);
      rec.attempts--; // a throttled attempt never ran: it does not use up the retry budget
      if (++throttleCount[index]! > maxThrottle) return giveUp(index, err, "throttled too often");
      delay = backoffDelay(Math.min(throttleCount[index]!, 6), backoff, err.retryAfterMs ?? 0);
    } else if (err.retryable && rec.attempts <= opts.retries) {
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
    const loading = err.origin === "remote" && err.name === "JobLoadError";
    const where = loading
      ? `task ${index} could not load the job module: ${err.message}`
      : err.origin === "remote"
        ? `task ${index} failed in map: ${err.name}: ${err.message}`
        : `task ${index} failed: ${err.message}`;
    const message = why ? `${where} (${why})` : where;
    if (err.origin === "timeout") {
      const timeoutMs = opts.timeoutMs;
      fail(
        optionError(
          "TASK_TIMEOUT",
          (n) => ({ message, hint: `raise ${n.name("timeoutMs")} (now ${n.value("timeoutMs", timeoutMs)}), or split the work into more tasks with ${n.name("tasks")}` }),
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
  opts.signal?.removeEventListener("abort", onRunAbort);
  return { partials, records, attempts, retries, throttled, coldStarts, peakConcurrency: peak, ...(failure ? { failure } : {}) };
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
