import { describe, expect, it } from "vitest";
import { backoffDelay, schedule } from "../src/schedule/scheduler.js";
import { TaskError } from "../src/errors.js";
import type { Backend, InvokeRequest } from "../src/backend.js";

// An in-process backend for the scheduler's own logic (the real backends run the conformance suite).
function scripted(behave: (req: InvokeRequest, signal: AbortSignal) => Promise<unknown>): Backend & { inFlight: number; peak: number } {
  const b = {
    name: "scripted",
    facts: { defaultConcurrency: 4 },
    inFlight: 0,
    peak: 0,
    prepare: async () => {},
    dispose: async () => {},
    async invoke(req: InvokeRequest, signal: AbortSignal) {
      b.inFlight++;
      b.peak = Math.max(b.peak, b.inFlight);
      try {
        return { partial: await behave(req, signal) };
      } finally {
        b.inFlight--;
      }
    },
  };
  return b;
}
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
const opts = { concurrency: 4, timeoutMs: 5_000, retries: 3, backoff: { baseMs: 1, maxMs: 5 } };

describe("schedule", () => {
  it("returns partials in task order and respects the bound", async () => {
    const b = scripted(async (req) => {
      await tick(((7 * req.taskIndex) % 5) + 1);
      return req.taskIndex * 2;
    });
    const r = await schedule(Array.from({ length: 50 }, (_, i) => i), b, opts);
    expect(r.partials).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    expect(b.peak).toBe(4);
    expect(r.peakConcurrency).toBe(4);
    expect(r.attempts).toBe(50);
  });

  it("handles zero tasks", async () => {
    const r = await schedule([], scripted(async () => 1), opts);
    expect(r.partials).toEqual([]);
    expect(r.failure).toBeUndefined();
  });

  it("halves its window while throttled, does not charge throttled attempts to the retry budget, and recovers", async () => {
    let throttles = 12;
    const b = scripted(async () => {
      await tick(2);
      if (throttles-- > 0) throw new TaskError("429 Too many requests", { retryable: true, origin: "platform", throttled: true });
      return 1;
    });
    const r = await schedule(Array.from({ length: 20 }, () => 0), b, { ...opts, retries: 0 });
    expect(r.failure).toBeUndefined();
    expect(r.throttled).toBe(12);
    expect(r.records.every((t) => t.attempts === 1)).toBe(true);
  });

  it("waits at least the platform's retry-after hint", async () => {
    let first = true;
    const b = scripted(async () => {
      if (first) {
        first = false;
        throw new TaskError("busy", { retryable: true, origin: "platform", retryAfterMs: 150 });
      }
      return 1;
    });
    const t0 = performance.now();
    await schedule([0], b, opts);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it("fails fast on a permanent error and aborts what is in flight", async () => {
    const aborted: number[] = [];
    const b = scripted(
      (req, signal) =>
        new Promise((resolve, reject) => {
          if (req.taskIndex === 2) return reject(new TaskError("bad input", { retryable: false, origin: "remote" }));
          const t = setTimeout(() => resolve(1), 2_000);
          signal.addEventListener("abort", () => {
            clearTimeout(t);
            aborted.push(req.taskIndex);
            reject(signal.reason);
          });
        }),
    );
    const r = await schedule([0, 1, 2, 3, 4], b, opts);
    expect(r.failure?.code).toBe("TASK_FAILED");
    expect(r.failure?.message).toContain("task 2 failed in map");
    expect(aborted.sort()).toEqual([0, 1, 3]);
    expect(r.records[4]!.attempts).toBe(0);
    expect(r.records[4]!.status).toBe("cancelled");
  });

  it("turns a raw error escaping a backend into a retryable platform failure", async () => {
    let n = 0;
    const b = scripted(async () => {
      if (n++ === 0) throw new Error("ECONNRESET");
      return "ok";
    });
    const r = await schedule([0], b, opts);
    expect(r.partials).toEqual(["ok"]);
    expect(r.records[0]!.errors?.[0]?.message).toBe("ECONNRESET");
  });

  it("times out an attempt even when the backend ignores the signal", async () => {
    const b = scripted(() => new Promise(() => {}));
    const r = await schedule([0], b, { ...opts, timeoutMs: 50, retries: 1 });
    expect(r.failure?.code).toBe("TASK_TIMEOUT");
    expect(r.records[0]!.attempts).toBe(2);
  });

  it("says how long a timed-out attempt ran in seconds, and names timeoutMs in its hint until a front end rewords it", async () => {
    const b = scripted(() => new Promise(() => {}));
    const r = await schedule([0], b, { ...opts, timeoutMs: 50, retries: 0 });
    expect(r.failure?.message).toBe("task 0 failed: attempt timed out after 0.05 s (gave up after 1 attempts)");
    expect(r.failure?.hint).toBe("raise timeoutMs (now 50), or split the work into more tasks with tasks");
    const cli = r.failure!.reworded({ name: (o) => `--${o === "timeoutMs" ? "timeout" : o}`, value: (o, v) => String(o === "timeoutMs" ? v / 1000 : v) });
    expect(cli.hint).toBe("raise --timeout (now 0.05), or split the work into more tasks with --tasks");
    expect(cli.code).toBe("TASK_TIMEOUT");
  });

  it("emits progress events through to the end", async () => {
    const events: string[] = [];
    await schedule([0, 1, 2], scripted(async () => 1), { ...opts, onProgress: (e) => events.push(`${e.type}:${e.done}/${e.total}`) });
    expect(events.filter((e) => e.startsWith("succeeded"))).toEqual(["succeeded:1/3", "succeeded:2/3", "succeeded:3/3"]);
  });
});

describe("backoffDelay", () => {
  it("grows exponentially, is capped, and keeps at least half its ceiling", () => {
    const b = { baseMs: 100, maxMs: 1_000 };
    expect(backoffDelay(1, b, 0, () => 0)).toBe(50);
    expect(backoffDelay(1, b, 0, () => 1)).toBe(100);
    expect(backoffDelay(3, b, 0, () => 1)).toBe(400);
    expect(backoffDelay(10, b, 0, () => 1)).toBe(1_000);
    expect(backoffDelay(1, b, 700, () => 0)).toBe(700);
  });
});
