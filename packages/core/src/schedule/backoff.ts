// How long a task waits before its next attempt, and whether it gets one: exponential backoff with jitter, floored by
// the platform's retry-after, with throttled attempts budgeted apart from failures.
import type { TaskError } from "../errors.js";

/** The backoff a run uses when its options name none. */
export const DEFAULT_BACKOFF = { baseMs: 200, maxMs: 10_000 };
/** Throttled attempts a task may see before the run gives up, when the options name no number. */
export const DEFAULT_MAX_THROTTLE_RETRIES = 200;
/** How long a run rides out nothing but throttling before it fails (see `ScheduleOptions.throttleTimeoutMs`). */
export const DEFAULT_THROTTLE_TIMEOUT_MS = 180_000;

/** Delay before retry number `n` (1-based): exponential with "equal jitter", never below `floorMs`. */
export function backoffDelay(n: number, backoff = DEFAULT_BACKOFF, floorMs = 0, random = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, n - 1));
  return Math.max(floorMs, ceiling / 2 + random() * (ceiling / 2));
}

/** The retry rules of one run, from its options. */
export class RetryPolicy {
  readonly backoff: { baseMs: number; maxMs: number };
  readonly maxThrottle: number;
  readonly throttleTimeoutMs: number;

  constructor(
    private readonly retries: number,
    backoff: { baseMs: number; maxMs: number } | undefined,
    maxThrottleRetries: number | undefined,
    throttleTimeoutMs: number | undefined,
  ) {
    this.backoff = backoff ?? DEFAULT_BACKOFF;
    this.maxThrottle = maxThrottleRetries ?? DEFAULT_MAX_THROTTLE_RETRIES;
    this.throttleTimeoutMs = throttleTimeoutMs ?? DEFAULT_THROTTLE_TIMEOUT_MS;
  }

  /**
   * The delay before the next attempt of a task whose attempt number `attempts` failed (not throttled), or undefined
   * when it gets none: a permanent failure, or `charged` attempts (its backup not counted) already past the retries the
   * run and the error allow.
   */
  afterFailure(err: TaskError, attempts: number, charged: number): number | undefined {
    if (!err.retryable || charged > (err.maxRetries === undefined ? this.retries : Math.min(this.retries, err.maxRetries))) return undefined;
    return backoffDelay(attempts, this.backoff, err.retryAfterMs ?? 0);
  }

  /**
   * The delay before the next attempt of a task the platform refused for load for the `throttles`-th time, or undefined
   * when it was refused too often. The exponent stops growing after the 6th throttle.
   */
  afterThrottle(err: TaskError, throttles: number): number | undefined {
    if (throttles > this.maxThrottle) return undefined;
    return backoffDelay(Math.min(throttles, 6), this.backoff, err.retryAfterMs ?? 0);
  }
}
