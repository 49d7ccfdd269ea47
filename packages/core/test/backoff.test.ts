import { describe, expect, it } from "vitest";
import { TaskError } from "../src/errors.js";
import { backoffDelay, DEFAULT_BACKOFF, RetryPolicy } from "../src/schedule/backoff.js";

const backoff = { baseMs: 100, maxMs: 1_000 };

describe("RetryPolicy", () => {
  it("takes the defaults for what the options leave out", () => {
    const p = new RetryPolicy(3, undefined, undefined, undefined);
    expect(p.backoff).toBe(DEFAULT_BACKOFF);
    expect(p.maxThrottle).toBe(200);
    expect(p.throttleTimeoutMs).toBe(180_000);
  });

  it("retries a retryable failure while the attempts charged are within the retries, with the backoff of its attempt", () => {
    const p = new RetryPolicy(2, backoff, undefined, undefined);
    const err = new TaskError("flaky", { origin: "platform", retryable: true });
    for (const n of [1, 2]) {
      const d = p.afterFailure(err, n, n)!;
      expect(d).toBeGreaterThanOrEqual(backoff.baseMs * 2 ** (n - 1) / 2);
      expect(d).toBeLessThanOrEqual(backoff.baseMs * 2 ** (n - 1));
    }
    expect(p.afterFailure(err, 3, 3)).toBeUndefined();
    // A task's backup does not count against its retries, but its number still sets the backoff.
    expect(p.afterFailure(err, 3, 2)).toBeGreaterThanOrEqual(200);
  });

  it("never retries a permanent failure, and no more often than the error allows", () => {
    const p = new RetryPolicy(5, backoff, undefined, undefined);
    expect(p.afterFailure(new TaskError("bug", { origin: "platform", retryable: false }), 1, 1)).toBeUndefined();
    const capped = new TaskError("limited", { origin: "platform", retryable: true, maxRetries: 1 });
    expect(p.afterFailure(capped, 1, 1)).toBeDefined();
    expect(p.afterFailure(capped, 2, 2)).toBeUndefined();
  });

  it("waits at least the platform's retry-after", () => {
    const p = new RetryPolicy(5, backoff, undefined, undefined);
    expect(p.afterFailure(new TaskError("busy", { origin: "platform", retryable: true, retryAfterMs: 5_000 }), 1, 1)).toBe(5_000);
    expect(p.afterThrottle(new TaskError("429", { origin: "platform", retryable: true, throttled: true, retryAfterMs: 7_000 }), 1)).toBe(7_000);
  });

  it("backs off throttles with an exponent that stops growing after the 6th, and gives up past the most throttles", () => {
    const p = new RetryPolicy(0, { baseMs: 1, maxMs: 1_000_000 }, 10, undefined);
    const err = new TaskError("429", { origin: "platform", retryable: true, throttled: true });
    expect(p.afterThrottle(err, 6)).toBeGreaterThanOrEqual(16);
    expect(p.afterThrottle(err, 10)).toBeLessThanOrEqual(32);
    expect(p.afterThrottle(err, 11)).toBeUndefined();
  });

  it("backoffDelay draws between half and all of the capped exponential", () => {
    expect(backoffDelay(3, backoff, 0, () => 0)).toBe(200);
    expect(backoffDelay(3, backoff, 0, () => 0.5)).toBe(300);
    expect(backoffDelay(30, backoff, 0, () => 1)).toBe(1_000);
  });
});
