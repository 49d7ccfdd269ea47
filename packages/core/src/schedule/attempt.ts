// One attempt of a task in flight, as the scheduler tracks it. Its `state` says who settled it:
//
//   running ──(the backend answers)──────────────────▶ answered
//   running ──(timeout, cancel, run failure)─────────▶ abandoned   the client stops waiting; `abandonedMs` is set
//   running | abandoned ──(the task's other attempt won)──▶ lost   cancelled too; its answer only adds to the waste
//
// Only a running attempt can be answered or abandoned, so each attempt is settled exactly once. An abandoned or lost
// attempt may still answer late (the platform ran it to the end): that answer brings its billed time, nothing else.

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
