// Issue #21 item 25: how each OpenWhisk deployment throttles, and that the backend tells throttling from failure by
// status and structure first, text last. The emulator's texts come from apache/openwhisk (commit 1fae641a, cited in
// testing/src/openwhisk/messages.ts): the legacy controller's counted 429s, the FPC controller's bare "Too many
// requests" 429, and the FPC scheduler's queue, which answers no 429 at all but records the activation as failed
// without running it (developer error, or whisk error when fail-throttle-as-whisk-error is set).
import { describe, expect, it } from "vitest";
import { run, RunError, type RunOptions } from "@superfaas/core";
import { conformanceJob, type FixtureTask } from "@superfaas/core/conformance";
import { OpenWhiskPlatform } from "../src/platform.js";
import { resolveOpenWhiskConfig } from "../src/config.js";
import { backendFor, withEmulator, type OpenWhiskEmulator } from "./helpers.js";

const echo = (n: number): FixtureTask[] => Array.from({ length: n }, (_, i) => ({ op: "echo", value: i }));
const values = (output: unknown) => (output as { value: unknown }[]).map((p) => p.value);
const fast: Partial<RunOptions> = { backoff: { baseMs: 20, maxMs: 200 } };

/** Deploys with one task, throttles the next `n` invocations as asked, and runs 3 tasks. */
async function throttledRun(em: OpenWhiskEmulator, n: number, how: Parameters<OpenWhiskEmulator["throttleNext"]>[1], extra: Partial<RunOptions> = {}) {
  const backend = backendFor(em);
  try {
    await run(conformanceJob, { tasks: echo(1) }, { backend });
    const before = { accepted: em.stats.accepted, throttled: em.stats.throttled };
    em.throttleNext(n, how);
    const result = await run(conformanceJob, { tasks: echo(3) }, { backend, concurrency: 3, ...fast, ...extra }).catch((e: unknown) => e);
    return { result, accepted: em.stats.accepted - before.accepted, throttled: em.stats.throttled - before.throttled };
  } finally {
    await backend.dispose();
  }
}

describe("openwhisk throttling, as each controller and scheduler does it", () => {
  it.each([
    ["legacy controller: a counted 429", "legacy", /^openwhisk throttled the invocation: Too many concurrent requests in flight \(count: \d+, allowed: \d+\)\.$/],
    ['FPC controller: a 429 "Too many requests" (no count, no "minute")', "fpc", /^openwhisk throttled the invocation: Too many requests$/],
  ] as const)("%s is throttling of concurrency, retried without spending retries", async (_name, scheduler, said) => {
    await withEmulator({ scheduler }, async (em) => {
      const { result, throttled } = await throttledRun(em, 2, { reason: "concurrent" });
      expect(throttled).toBe(2);
      const { output, report } = result as Awaited<ReturnType<typeof run>>;
      expect(values(output)).toEqual([0, 1, 2]);
      expect(report.totals.throttled).toBe(2);
      expect(report.tasks.map((t) => t.attempts)).toEqual([1, 1, 1]);
      expect(report.tasks.flatMap((t) => t.errors ?? []).map((e) => e.message)).toEqual(Array(2).fill(expect.stringMatching(said)));
    });
  });

  for (const whiskError of [false, true]) {
    it(`FPC scheduler queue: an activation recorded as ${whiskError ? "whisk internal error (HTTP 500)" : "action developer error (HTTP 502)"} without running is throttling, not a failed attempt`, async () => {
      await withEmulator({ scheduler: "fpc" }, async (em) => {
        const { result, accepted, throttled } = await throttledRun(em, 2, { reason: "queue", whiskError });
        expect(throttled).toBe(2);
        // The queue accepts the invocation (it is recorded), unlike a 429.
        expect(accepted).toBe(3 + 2);
        const { output, report } = result as Awaited<ReturnType<typeof run>>;
        expect(values(output)).toEqual([0, 1, 2]);
        expect(report.totals.throttled).toBe(2);
        expect(report.tasks.map((t) => t.attempts)).toEqual([1, 1, 1]);
        expect(report.tasks.map((t) => t.attempts)).toEqual([1, 1, 1]);
        expect(report.tasks.flatMap((t) => t.errors ?? []).map((e) => e.message)).toEqual(Array(2).fill("openwhisk throttled the invocation: Too many concurrent requests in flight."));
        // The queue's records: never ran, so nothing to bill.
        const queued = [...em.activations.values()].filter((a) => (a.response.result as { error?: string }).error === "Too many concurrent requests in flight.");
        expect(queued.map((a) => a.duration)).toEqual([0, 0]);
      });
    });
  }

  it("FPC scheduler queue that throttles for ever ends after throttleTimeoutMs with THROTTLED naming the namespace's concurrency", async () => {
    await withEmulator({ scheduler: "fpc" }, async (em) => {
      const { result } = await throttledRun(em, 1_000_000, { reason: "queue" }, { throttleTimeoutMs: 1_000 });
      expect(result).toBeInstanceOf(RunError);
      const err = result as RunError;
      expect(err.code).toBe("THROTTLED");
      expect(err.message).toMatch(/^openwhisk refused every invocation for load for [\d.]+ s, longer than throttleTimeoutMs 1000 \(last answer: openwhisk throttled the invocation: Too many concurrent requests in flight\.\)$/);
      expect(err.hint).toMatch(/^raise the namespace's \d+ activations in flight \(concurrent_actions; WHISK_ACTIONS_INVOKES_CONCURRENT on OpenShift; ask the operator\)/);
    });
  });
});

describe("classification by status and structure first, text last", () => {
  const platform = new OpenWhiskPlatform(resolveOpenWhiskConfig({ apihost: "http://127.0.0.1:9", auth: "a:b", namespace: "guest" }));
  /** An activation record as the controller presents it (WhiskActivation.toExtendedJson). */
  const record = (status: string, error: string, { duration = 0, ran = false } = {}) => ({
    activationId: "0123456789abcdef0123456789abcdef",
    duration,
    response: { status, success: false, result: { error } },
    annotations: [{ key: "path", value: "guest/a" }, ...(ran ? [{ key: "waitTime", value: 3 }] : []), { key: "kind", value: "nodejs:20" }],
  });
  const QUEUE = "Too many concurrent requests in flight.";

  it("the queue's text on an activation that ran (an invoker recorded it: waitTime, a duration) is not throttling", () => {
    const te = platform.classify(record("action developer error", QUEUE, { duration: 40, ran: true }));
    expect(te).not.toBe("missing");
    expect(te).toMatchObject({ throttled: false, retryable: true });
  });

  it("the queue's text as an application error (the job's own result) is the job's, not throttling", () => {
    const te = platform.classify(record("application error", QUEUE));
    expect(te).toMatchObject({ throttled: false, retryable: false });
  });

  it("another text on a record no invoker ran is a platform failure, retried", () => {
    const te = platform.classify(record("whisk internal error", "The namespace's concurrency limit is under zero."));
    expect(te).toMatchObject({ throttled: false, retryable: true });
  });

  it("the memory message is out of memory only as a developer error", () => {
    const MEMORY = "The action exhausted its memory and was aborted.";
    expect(platform.classify(record("action developer error", MEMORY, { duration: 900, ran: true }))).toMatchObject({ outOfMemory: expect.anything(), retryable: false });
    expect(platform.classify(record("application error", MEMORY, { duration: 900, ran: true }))).toMatchObject({ outOfMemory: undefined, retryable: false });
  });
});
