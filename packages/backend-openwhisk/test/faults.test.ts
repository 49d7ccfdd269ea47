// What the platform does wrong, injected on demand: each run must still end with the right output (or, for an
// application error, fail at once with the platform's message). One emulator with a stock deployment's throttles
// and a 300 ms blocking window, one backend; the runs are small so the whole file stays under 60 invocations a
// minute. The last test has its own emulator, where the per-minute limit is raised to isolate the concurrency one.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RunError, run, type RunOptions, type RunReport } from "@superfaas/core";
import { conformanceJob, type FixtureTask } from "@superfaas/core/conformance";
import { backendFor, startOpenWhiskEmulator, withEmulator, type OpenWhiskEmulator } from "./helpers.js";
import type { OpenWhiskBackend } from "../src/index.js";

const echo = (n: number, sleepMs = 0): FixtureTask[] => Array.from({ length: n }, (_, i) => ({ op: "echo", value: i, ...(sleepMs ? { sleepMs } : {}) }));
const values = (output: unknown) => (output as { value: unknown }[]).map((p) => p.value);
const fast: Partial<RunOptions> = { backoff: { baseMs: 20, maxMs: 200 } };
/** The task that needed a second attempt (which of several concurrent invocations meets a fault is up to the network). */
const retried = (report: RunReport) => report.tasks.find((t) => t.attempts === 2)!;
/** Resolves once `check` holds, looking every 5 ms; fails naming `what` after 30 s. */
async function until(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The warm-up run: 3 tasks, one attempt each. */
const WARM_UP = 3;
/**
 * Most invocations of each test of "openwhisk faults" (its attempts, which the test pins down, plus its injected
 * 429s) and its 429s. The invoker restart's 3 tasks may each take all 4 attempts the default retries allow.
 */
const SHARES: Record<string, { invocations: number; throttled: number }> = {
  "adapts to 429s (too many concurrent requests) and completes without spending retries": { invocations: 3 + 2, throttled: 2 },
  "waits out a per-minute 429 for at least a second before trying again": { invocations: 1 + 1, throttled: 1 },
  "surfaces an application error's message at once and does not retry it": { invocations: 1, throttled: 0 },
  "polls for an activation slower than the blocking window (202) and gets its result": { invocations: 2, throttled: 0 },
  "invokes again when an accepted activation is never recorded (lost)": { invocations: 3, throttled: 0 },
  "invokes again when the container dies mid-run": { invocations: 3, throttled: 0 },
  "fails at once, as OUT_OF_MEMORY with the action's memory and --memory, when the container is killed for its memory": { invocations: 1, throttled: 0 },
  "invokes again after 5xx answers (JSON from the controller, HTML from a proxy in front)": { invocations: 3 + 2, throttled: 0 },
  "completes when every container is killed mid-run (an invoker restart)": { invocations: 3 * 4, throttled: 0 },
};

const SHARES_FIT = "stays under a stock deployment's 60 invocations per minute: the warm-up and every test's share fit in one minute";

describe("openwhisk faults", () => {
  let emulator: OpenWhiskEmulator;
  let backend: OpenWhiskBackend;
  const go = (tasks: FixtureTask[], extra: Partial<RunOptions> = {}) => run(conformanceJob, { tasks }, { backend, concurrency: 3, ...fast, ...extra });

  beforeAll(async () => {
    emulator = await startOpenWhiskEmulator({ blockingWindowMs: 300 });
    // A 1 s action limit and a 500 ms grace: an activation unrecorded 1.5 s after its invocation is lost.
    backend = backendFor(emulator, { actionTimeout: 1, activationGraceMs: 500 });
    await go(echo(3)); // deploy and warm three containers
  });
  // Each test's share of the stock 60 invocations a minute, and the 429s it injects (any other 429 would be the
  // emulator's real per-minute limit). Every test is held to its share whichever tests run and in whatever order, and
  // the shares add up to what one minute allows (the last test), so no test can meet the limit because of the others.
  let before = { invocations: 0, throttled: 0 };
  beforeEach(() => {
    before = { invocations: emulator.stats.invocations, throttled: emulator.stats.throttled };
  });
  afterEach(({ task }) => {
    if (task.name === SHARES_FIT) return;
    const share = SHARES[task.name];
    expect(share, `"${task.name}" needs its share in SHARES`).toBeDefined();
    if (!share) return;
    expect(emulator.stats.invocations - before.invocations, `invocations of "${task.name}"`).toBeLessThanOrEqual(share.invocations);
    expect(emulator.stats.throttled - before.throttled, `429s of "${task.name}" (only the injected ones)`).toBe(share.throttled);
  });
  afterAll(async () => {
    await backend?.dispose();
    await emulator?.close();
  });

  it("adapts to 429s (too many concurrent requests) and completes without spending retries", async () => {
    emulator.throttleNext(2);
    const { output, report } = await go(echo(3));
    expect(values(output)).toEqual([0, 1, 2]);
    expect(report.totals.throttled).toBe(2);
    expect(report.tasks.map((t) => t.attempts)).toEqual([1, 1, 1]);
    expect(report.tasks.flatMap((t) => t.errors ?? []).map((e) => e.message)).toEqual(
      Array(2).fill("openwhisk throttled the invocation: Too many concurrent requests in flight (count: 30, allowed: 30)."),
    );
  });

  it("waits out a per-minute 429 for at least a second before trying again", async () => {
    emulator.throttleNext(1, { reason: "minute" });
    const { output, report } = await go(echo(1));
    expect(values(output)).toEqual([0]);
    expect(report.totals.throttled).toBe(1);
    const t = report.tasks[0]!;
    expect(t.errors![0]!.message).toMatch(/Too many requests in the last minute/);
    expect(t.finishedAt! - t.errors![0]!.at).toBeGreaterThanOrEqual(1_000);
  });

  it("surfaces an application error's message at once and does not retry it", async () => {
    emulator.applicationErrorNext(1, { message: "the action's own error: database unreachable" });
    const before = emulator.stats.accepted;
    const err = await go(echo(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    expect((err as RunError).code).toBe("TASK_FAILED");
    expect((err as RunError).message).toMatch(/task 0 failed: openwhisk activation [0-9a-f]{32} failed: the action's own error: database unreachable/);
    expect((err as RunError).report.tasks[0]!.attempts).toBe(1);
    expect(emulator.stats.accepted - before).toBe(1);
  });

  it("polls for an activation slower than the blocking window (202) and gets its result", async () => {
    emulator.slowNext(1, { delayMs: 700 });
    const polls = emulator.stats.polls;
    const { output, report } = await go(echo(2));
    expect(values(output)).toEqual([0, 1]);
    expect(report.tasks.map((t) => t.attempts)).toEqual([1, 1]);
    expect(emulator.stats.polls - polls).toBeGreaterThanOrEqual(1);
    // Whichever invocation reached the emulator first was held back past the window.
    expect(Math.max(...report.tasks.map((t) => t.waitMs ?? 0))).toBeGreaterThanOrEqual(700);
  });

  it("invokes again when an accepted activation is never recorded (lost)", async () => {
    emulator.loseNext(1);
    const { output, report } = await go(echo(2));
    expect(values(output)).toEqual([0, 1]);
    expect(report.tasks.map((t) => t.attempts).sort()).toEqual([1, 2]);
    expect(retried(report).errors![0]!.message).toMatch(/activation [0-9a-f]{32} was never recorded \(lost by the platform\)/);
  });

  it("invokes again when the container dies mid-run", async () => {
    emulator.crashNext(1, { afterMs: 20 });
    const { output, report } = await go(echo(2, 100));
    expect(values(output)).toEqual([0, 1]);
    expect(report.tasks.map((t) => t.attempts).sort()).toEqual([1, 2]);
    expect(retried(report).errors![0]!.message).toMatch(/"action developer error": The action did not produce a valid response and exited unexpectedly\./);
  });

  it("fails at once, as OUT_OF_MEMORY with the action's memory and --memory, when the container is killed for its memory", async () => {
    emulator.exhaustMemoryNext(1, { afterMs: 20 });
    const before = emulator.stats.accepted;
    const err = await go(echo(1, 200)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    const e = err as RunError;
    expect(e.code).toBe("OUT_OF_MEMORY");
    expect(e.message).toMatch(/^task 0 ran out of memory: action memory 256 MB \(activation [0-9a-f]{32}: "The action exhausted its memory and was aborted\."\)/);
    expect(e.hint).toMatch(/^raise --memory above 256 \(at most 512\)/);
    expect(e.report.tasks[0]!.attempts).toBe(1);
    expect(emulator.stats.accepted - before).toBe(1);
  });

  it("invokes again after 5xx answers (JSON from the controller, HTML from a proxy in front)", async () => {
    emulator.failNext(1, { status: 503 });
    emulator.failNext(1, { status: 502 });
    const { output, report } = await go(echo(3));
    expect(values(output)).toEqual([0, 1, 2]);
    expect(report.totals.retries).toBe(2);
    const messages = report.tasks.flatMap((t) => t.errors ?? []).map((e) => e.message);
    expect(messages).toContain("openwhisk system error (HTTP 503): System is overloaded, try again later.");
    expect(messages.some((m) => /HTTP 502/.test(m))).toBe(true);
  });

  it("completes when every container is killed mid-run (an invoker restart)", async () => {
    // First attempts run 900 ms (under the 1 s action limit), later ones 20 ms: killed once all three first attempts
    // run in their containers, each task needs a second attempt.
    const tasks = [0, 1, 2].map((value): FixtureTask => ({ op: "straggle", value, firstMs: 900, ms: 20 }));
    const completed = emulator.stats.completed;
    const runningNow = () => emulator.containers().flatMap((c) => [...c.running] as { params: { taskIndex: number } }[]);
    const running = go(tasks);
    // All three at once as a rule; on a loaded machine one may end before the last starts: then kill what runs.
    await until("the first attempts running in their containers", () => runningNow().length === 3 || (runningNow().length > 0 && emulator.stats.completed > completed));
    const killed = runningNow().map((a) => a.params.taskIndex);
    emulator.killContainers();
    const { output, report } = await running;
    expect(values(output)).toEqual([0, 1, 2]);
    expect(killed.length).toBeGreaterThanOrEqual(1);
    for (const i of killed) expect(report.tasks[i]!.attempts, `task ${i}, killed mid-run`).toBeGreaterThanOrEqual(2);
  });

  it(SHARES_FIT, () => {
    expect(WARM_UP + Object.values(SHARES).reduce((sum, share) => sum + share.invocations, 0)).toBeLessThanOrEqual(60);
  });
});

describe("openwhisk throttling at a stock deployment's 30 concurrent invocations", () => {
  it("completes a run asked twice as wide as the namespace's concurrent_actions without a 429: the run's window stops at it, and says so", async () => {
    await withEmulator({ invocationsPerMinute: 100_000 }, async (emulator) => {
      const backend = backendFor(emulator);
      try {
        const tasks = echo(120, 40);
        const log: string[] = [];
        const { output, report } = await run(conformanceJob, { tasks }, { backend, concurrency: 60, ...fast, log: (m) => log.push(m) });
        expect(report.concurrency).toBe(30);
        expect(log).toContain("openwhisk: the platform runs at most 30 attempts at once (of the 60 asked for): 30 are kept in flight");
        expect(values(output)).toEqual(tasks.map((_, i) => i));
        expect(report.totals.throttled).toBe(0);
        expect(emulator.stats.throttled).toBe(0);
        expect(report.tasks.every((t) => t.attempts === 1)).toBe(true);
        expect(emulator.stats.peakInFlight).toBe(30);
        expect(emulator.stats.accepted).toBe(120);
      } finally {
        await backend.dispose();
      }
    });
  });
});
