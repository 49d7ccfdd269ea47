// One attempt of a task in flight, as the scheduler tracks it. Its `state` says who settled it:
//
//   running ──(the backend answers)──────────────────▶ answered
//   running ──(timeout, cancel, run failure)─────────▶ abandoned   the client stops waiting; `abandonedMs` is set
//   running | abandoned ──(the task's other attempt won)──▶ lost   cancelled too; its answer only adds to the waste
//
// Only a running attempt can be answered or abandoned, so each attempt is settled exactly once. An abandoned or lost
// attempt may still answer late (the platform ran it to the end): that answer brings its billed time, nothing else.
import type { Backend, InvokeResult } from "../backend.js";
import type { TaskError } from "../errors.js";
import type { TaskRecord } from "./task-record.js";

/** Who settled an attempt (see the transitions above). */
export type AttemptState = "running" | "answered" | "abandoned" | "lost";

/** An attempt in flight: settled once, by the backend's answer or by an abort. */
export interface InFlight {
  index: number;
  n: number;
  deadline: number;
  state: AttemptState;
  /** `performance.now()` when it started. */
  t0: number;
  /** A backup attempt, started beside the task's running one. */
  backup: boolean;
  /** Time counted as wasted for it when it lost (until the cancel; replaced by its billed time if that arrives). */
  wasteMs?: number;
  /** How long it had run when the client gave it up; counted in `abandoned` until a late answer brings its billed time. */
  abandonedMs?: number;
}

/** An attempt and the controller that aborts it. */
export type Attempt = [AbortController, InFlight];

/** Why the scheduler aborted an attempt (the reason its AbortSignal carries). */
export class Abort {
  constructor(readonly kind: "timeout" | "cancelled" | "run-failed" | "superseded") {}
}

/** What the scheduler hears of an attempt that settled: the backend's answer (`result`) or why it failed (`error`). */
export type Settle = (controller: AbortController, a: InFlight, result: InvokeResult | undefined, error: unknown) => void;

/**
 * The attempts in flight: each started on the backend, settled exactly once (by the backend's answer or by an abort:
 * its deadline, a cancel, a run failure, or losing a race), and counted as abandoned when the client gave it up before
 * its answer, until a late answer brings its billed time.
 */
export class Attempts {
  /** The attempts in flight, by the controller that aborts each. */
  readonly running = new Map<AbortController, InFlight>();
  /** `ScheduleResult.abandoned`: the scheduler adds to `answered` for the answers it records. */
  readonly abandoned: { count: number; inFlightMs: number; limitMs: number; since: number; answered: number };
  // One sweeping timer enforces every deadline (a timer per attempt costs more than the attempt itself when tasks are
  // tiny); deadlines fire within 5% of the timeout. An abort settles the attempt directly: a listener on every
  // attempt's AbortSignal (an EventTarget) costs more than a no-op task.
  private readonly sweep: ReturnType<typeof setInterval>;

  constructor(
    private readonly backend: Backend,
    private readonly timeoutMs: number,
    private readonly records: readonly TaskRecord[],
    private readonly settle: Settle,
    private readonly billedLate: ((a: InFlight, billedMs: number) => void) | undefined,
  ) {
    this.abandoned = { count: 0, inFlightMs: 0, limitMs: timeoutMs, since: Date.now(), answered: 0 };
    this.sweep = setInterval(
      () => {
        const t = performance.now();
        for (const [c, a] of this.running) if (t >= a.deadline) this.abort(c, new Abort("timeout"), a);
      },
      Math.min(1_000, Math.max(5, timeoutMs / 20)),
    );
  }

  /** Starts attempt `n` of task `index` at `t0` (`performance.now()`) on the backend. */
  start(task: unknown, index: number, n: number, backup: boolean, t0: number): Attempt {
    const controller = new AbortController();
    const a: InFlight = { index, n, deadline: t0 + this.timeoutMs, state: "running", t0, backup };
    this.running.set(controller, a);
    // The backend's answer or the abort (timeout, cancel, run failure), whichever comes first, settles the attempt,
    // so a backend that ignores its signal cannot hang the run.
    let answer: Promise<InvokeResult>;
    try {
      answer = this.backend.invoke({ task, taskIndex: index, attempt: n, timeoutMs: this.timeoutMs }, controller.signal);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (result) => {
        if (a.state !== "running") return this.lateAnswer(a, result.billedMs);
        a.state = "answered";
        this.settle(controller, a, result, undefined);
      },
      (error: unknown) => {
        if (a.state !== "running") return this.lateAnswer(a, (error as TaskError | undefined)?.billedMs);
        a.state = "answered";
        this.settle(controller, a, undefined, error);
      },
    );
    return [controller, a];
  }

  /** Aborts an attempt; a running one is settled as abandoned (after whatever the caller is iterating over). */
  abort(c: AbortController, reason: Abort, a: InFlight): void {
    c.abort(reason);
    if (a.state !== "running") return;
    a.state = "abandoned";
    // The client stops waiting here; the platform may run (and bill) the attempt on.
    a.abandonedMs = performance.now() - a.t0;
    this.abandoned.count++;
    this.abandoned.inFlightMs += a.abandonedMs;
    // As if the backend had rejected.
    queueMicrotask(() => this.settle(c, a, undefined, reason));
  }

  /** Aborts every attempt in flight. */
  abortAll(reason: Abort): void {
    for (const [c, a] of this.running) this.abort(c, reason, a);
  }

  /** The pass ended: no more deadlines to enforce. */
  stop(): void {
    clearInterval(this.sweep);
  }

  // An attempt given up on answered after all (the platform ran it to the end): its partial is ignored, its billed
  // time is not, and it is no longer an estimate.
  private lateAnswer(a: InFlight, billedMs: number | undefined): void {
    if (billedMs === undefined || a.abandonedMs === undefined) return;
    const rec = this.records[a.index]!;
    rec.billedMs = (rec.billedMs ?? 0) + billedMs;
    this.abandoned.count--;
    this.abandoned.inFlightMs -= a.abandonedMs;
    this.abandoned.answered++;
    a.abandonedMs = undefined;
    this.billedLate?.(a, billedMs);
  }
}
