// The suite every backend must pass, written once and run against each (local, the loopback OpenWhisk and
// Lambda servers, and the live clouds when credentials are present).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunError, run, type RunOptions } from "../run/run.js";
import { TaskError } from "../errors.js";
import type { Backend, InvokeRequest } from "../backend.js";
import { conformanceJob, fixturePayload, type FixtureTask } from "./fixture-job.js";

export { conformanceJob, fixturePayload, fixtureBytes, type FixtureTask } from "./fixture-job.js";

/** How to run the conformance suite against one backend. */
export interface ConformanceOptions {
  /** Shown in the test names. */
  name: string;
  /**
   * Makes a backend under test: once for the suite's shared backend, and again by the lifecycle tests that need
   * backends of their own (each one disposed by the test that made it). Every call targets the same platform.
   */
  createBackend(): Backend | Promise<Backend>;
  /**
   * The object store the backend offloads payloads over its inline limit to, as the test sees it (cloud backends).
   * Without it the object-store tests are declared not applicable (the local backend has no store and no limit).
   */
  objectStore?: {
    /** Keys under `prefix`. */
    keys(prefix: string): Promise<string[]>;
    /** Keys of every object written so far, oldest first (a bucket name before them is fine). */
    writes(): string[];
    /**
     * Keys of every object deleted on its own so far, once the store answered, as `writes` names them. Lets the suite
     * wait for a late partial's deletion instead of sleeping; without it (a live bucket) the suite waits a while.
     */
    deletes?(): string[];
  };
  /** The platform reports billed time for every attempt (cloud backends); without it the billing test is not applicable. */
  billed?: boolean;
  /** Size of the "large" partial; pick one above the backend's inline limit to exercise its object store. Default 3 MiB. */
  largePayloadBytes?: number;
  /** Stretches every sleep and deadline for slow platforms (default 1). */
  timeScale?: number;
  /** When set, the suite is skipped and says why. */
  skipReason?: string;
}

/** Registers the conformance tests with vitest. */
export function describeConformance(opts: ConformanceOptions): void {
  const scale = opts.timeScale ?? 1;
  const ms = (n: number) => Math.round(n * scale);
  const title = `conformance: ${opts.name}${opts.skipReason ? ` (skipped: ${opts.skipReason})` : ""}`;
  describe.skipIf(Boolean(opts.skipReason))(title, () => {
    let backend: Backend;
    const calls: { req: InvokeRequest; settledAt?: number; startedAt: number; settled: Promise<unknown> }[] = [];
    /** Resolves once `n` invocations have started since `from` (an index into `calls`). */
    const started = (from: number, n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (calls.length - from >= n ? resolve() : setTimeout(check, 5));
        check();
      });
    // Watches every invocation, so the suite can prove what the backend did after a cancellation.
    let watched: Backend;
    beforeAll(async () => {
      backend = await opts.createBackend();
      watched = {
        name: backend.name,
        facts: backend.facts,
        prepare: (ctx) => backend.prepare(ctx),
        dispose: () => backend.dispose(),
        invoke(req, signal) {
          const startedAt = performance.now();
          const p = backend.invoke(req, signal);
          const call: (typeof calls)[number] = {
            req,
            startedAt,
            settled: p.then(
              () => (call.settledAt = performance.now()),
              () => (call.settledAt = performance.now()),
            ),
          };
          calls.push(call);
          return p;
        },
      };
    });
    afterAll(async () => {
      await backend?.dispose();
    });

    const go = (tasks: FixtureTask[], extra: Partial<RunOptions> = {}) =>
      run(conformanceJob, { tasks }, { backend: watched, concurrency: 3, retries: 3, backoff: { baseMs: 20, maxMs: 200 }, ...extra });
    const failure = async (p: Promise<unknown>): Promise<RunError> => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, "the run should have failed").toBeInstanceOf(RunError);
      return err as RunError;
    };

    it("reduces partials in task order whatever the completion order", async () => {
      const n = 8;
      const tasks: FixtureTask[] = Array.from({ length: n }, (_, i) => ({ op: "echo", value: i }));
      // Completion order is forced, not hoped for from sleeps (which cold starts on a loaded machine blur): every
      // answer is held until all n are in, then handed back last task first, a timer tick apart.
      const held: (() => void)[] = [];
      const reversed: Backend = {
        ...watched,
        async invoke(req, signal) {
          const result = await watched.invoke(req, signal);
          await new Promise<void>((release) => {
            held[req.taskIndex] = release;
            if (held.filter(Boolean).length < n) return;
            void (async () => {
              for (let i = n - 1; i >= 0; i--) {
                held[i]!();
                await new Promise((tick) => setTimeout(tick, 2));
              }
            })();
          });
          return result;
        },
      };
      const { output, report } = await run(conformanceJob, { tasks }, { backend: reversed, concurrency: n, retries: 0 });
      expect((output as { value: number }[]).map((p) => p.value)).toEqual([...Array(n).keys()]);
      const finish = report.tasks.map((t) => t.finishedAt!);
      for (let i = 1; i < n; i++) expect(finish[i]!).toBeLessThan(finish[i - 1]!);
      expect(report.status).toBe("succeeded");
      expect(report.totals.succeeded).toBe(n);
    });

    it("returns partials intact: unicode, deeply nested, binary as base64, and large", async () => {
      const large = opts.largePayloadBytes ?? 3 * 1024 * 1024;
      const tasks: FixtureTask[] = [
        { op: "payload", kind: "unicode", seed: 1 },
        { op: "payload", kind: "nested", seed: 2 },
        { op: "payload", kind: "binary", seed: 3 },
        { op: "payload", kind: "large", seed: 4, bytes: large },
      ];
      const { output } = await go(tasks);
      const out = output as unknown[];
      expect(out[0]).toEqual(fixturePayload("unicode", 1));
      expect(out[1]).toEqual(fixturePayload("nested", 2));
      expect(out[2]).toEqual(fixturePayload("binary", 3));
      expect((out[3] as { data: string }).data.length).toBe(large);
      expect(out[3]).toEqual(fixturePayload("large", 4, large));
    });

    it("surfaces a throwing task's remote message and stack, and does not retry it", async () => {
      const err = await failure(go([{ op: "echo", value: 1 }, { op: "throw", message: "boom from task 💥" }]));
      expect(err.code).toBe("TASK_FAILED");
      expect(err.message).toContain("task 1");
      expect(err.message).toContain("TypeError: boom from task 💥");
      const cause = err.cause as TaskError;
      expect(cause).toBeInstanceOf(TaskError);
      expect(cause.origin).toBe("remote");
      expect(cause.remoteStack).toContain("throwFromFixture");
      expect(err.report.tasks[1]!.attempts).toBe(1);
      expect(err.report.status).toBe("failed");
    });

    it("retries a retryable failure until it succeeds", async () => {
      const { output, report } = await go([{ op: "flaky", failUntilAttempt: 3, value: "ok" }]);
      expect(output).toEqual([{ value: "ok", attempt: 3 }]);
      expect(report.tasks[0]!.attempts).toBe(3);
      expect(report.totals.retries).toBe(2);
    });

    it("gives up on a retryable failure after the retry budget", async () => {
      const err = await failure(go([{ op: "flaky", failUntilAttempt: 99, value: 0 }], { retries: 2 }));
      expect(err.code).toBe("TASK_FAILED");
      expect(err.report.tasks[0]!.attempts).toBe(3);
    });

    it("fails a crashed worker's attempt retryably and completes the run", async () => {
      const { output, report } = await go([
        { op: "crash", onAttempt: 1, value: "survived" },
        { op: "echo", value: 2 },
      ]);
      expect((output as { value: unknown }[])[0]).toEqual({ value: "survived", attempt: 2 });
      expect(report.tasks[0]!.attempts).toBe(2);
    });

    it("times out a task that runs past its deadline", async () => {
      const t0 = performance.now();
      const err = await failure(go([{ op: "sleep", ms: ms(20_000) }], { timeoutMs: ms(800), retries: 0 }));
      expect(err.code).toBe("TASK_TIMEOUT");
      expect(performance.now() - t0).toBeLessThan(ms(15_000));
    });

    it("rejects a partial that is not JSON, naming the task", async () => {
      const err = await failure(go([{ op: "echo", value: 0 }, { op: "notJson" }]));
      expect(err.message).toMatch(/task 1/);
      expect(err.message).toMatch(/not JSON-serializable/);
      expect(err.report.tasks[1]!.attempts).toBe(1);
    });

    it("never exceeds the concurrency bound", async () => {
      const tasks: FixtureTask[] = Array.from({ length: 12 }, (_, i) => ({ op: "echo", value: i, sleepMs: ms(120) }));
      const { output, report } = await go(tasks, { concurrency: 3 });
      expect(report.totals.peakConcurrency).toBeLessThanOrEqual(3);
      // The remote side's own clock agrees: never more than 3 map calls overlap.
      const spans = (output as { startedAt: number; finishedAt: number }[]).map((p) => [p.startedAt, p.finishedAt] as const);
      const maxOverlap = Math.max(...spans.map(([s]) => spans.filter(([a, b]) => a <= s && s < b).length));
      expect(maxOverlap).toBeLessThanOrEqual(3);
      expect(maxOverlap).toBeGreaterThanOrEqual(2);
    });

    it("stops outstanding work promptly when cancelled", async () => {
      // Each task would sleep 10 s: a run or an invocation that ends before that did not wait for its task to finish.
      // No wall-clock bound is needed beyond that, so a loaded machine cannot fail the test, and a backend that ignores
      // the abort cannot pass it.
      const sleepMs = ms(10_000);
      const controller = new AbortController();
      const tasks: FixtureTask[] = Array.from({ length: 12 }, () => ({ op: "sleep", ms: sleepMs }));
      const before = calls.length;
      const running = failure(go(tasks, { concurrency: 3, signal: controller.signal }));
      // Cancelled once the three invocations the bound allows are under way.
      await started(before, 3);
      await new Promise((r) => setTimeout(r, ms(300)));
      controller.abort();
      const err = await running;
      const cancelledAt = performance.now();
      expect(err.code).toBe("CANCELLED");
      expect(err.report.status).toBe("cancelled");
      const mine = calls.slice(before);
      expect(mine.length).toBe(3); // nothing new was invoked after the abort
      const firstStart = Math.min(...mine.map((c) => c.startedAt));
      expect(cancelledAt - firstStart, "the run ended before any task could finish").toBeLessThan(sleepMs);
      // Every in-flight invocation honoured the abort signal instead of running to completion.
      await Promise.all(mine.map((c) => c.settled));
      for (const c of mine) expect(c.settledAt! - c.startedAt, "an invocation settled before its task could finish").toBeLessThan(sleepMs);
      // Nor did anything start once they had all settled.
      expect(calls.length - before).toBe(3);
    });

    it("backs up a straggler: the first result wins, the slower attempt is cancelled, and each partial is reduced once", async () => {
      // Warm workers first: the threshold is a multiple of the median latency, which cold starts would inflate.
      await go(Array.from({ length: 4 }, (_, i): FixtureTask => ({ op: "echo", value: i, sleepMs: ms(100) })), { concurrency: 4 });
      const before = calls.length;
      // Long enough that the backup wins even when it needs a cold start on a loaded machine (the run does not wait
      // for it: the test takes as long as the backup does).
      const firstMs = ms(20_000);
      const tasks: FixtureTask[] = [
        ...Array.from({ length: 6 }, (_, i): FixtureTask => ({ op: "echo", value: i, sleepMs: ms(100) })),
        { op: "straggle", value: 6, firstMs, ms: ms(100) },
      ];
      const t0 = performance.now();
      const { output, report } = await go(tasks, { concurrency: 4, backupTasks: { after: 0.5, multiple: 2 } });
      const ended = performance.now();
      // Reduced once, in task order, with the backup's partial for the straggler and nothing of the attempt it overtook.
      expect((output as { value: unknown }[]).map((p) => p.value)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect((output as { attempt?: number }[])[6]!.attempt).toBe(2);
      // The straggler's backup is certain; on a loaded machine another 100 ms task may pass twice the median and get
      // one too. Each backup is one more attempt, and each one that won left an attempt wasted.
      const b = report.totals.backups!;
      expect(report.totals.succeeded).toBe(7);
      expect(b.launched).toBeGreaterThanOrEqual(1);
      expect(b.won).toBeGreaterThanOrEqual(1);
      expect(b.wasted).toBeGreaterThanOrEqual(b.won);
      expect(report.totals.attempts).toBe(7 + b.launched + report.totals.retries);
      expect(report.tasks[6]).toMatchObject({ attempts: 2, status: "succeeded", backup: { won: true } });
      expect(ended - t0, "the run did not wait for the straggler").toBeLessThan(firstMs);
      const mine = calls.slice(before).filter((c) => c.req.taskIndex === 6);
      expect(mine.map((c) => c.req.attempt)).toEqual([1, 2]);
      // The overtaken attempt's invocation honoured its abort signal instead of running on to the end (firstMs).
      await mine[0]!.settled;
      expect(mine[0]!.settledAt! - mine[0]!.startedAt, "the losing attempt settled before its task could finish").toBeLessThan(firstMs);
    });

    it("returns an error thrown asynchronously outside map's own await with its message, and does not retry it", async () => {
      for (const how of ["throw", "reject"] as const) {
        const message = `escaped from a timer (${how}) 🕳️`;
        const err = await failure(go([{ op: "echo", value: 0 }, { op: "escape", how, message, ms: ms(2_000) }], { retries: 2 }));
        expect(err.code).toBe("TASK_FAILED");
        expect(err.message).toContain("task 1");
        expect(err.message).toContain(message);
        // The job's error is final at once. A platform whose runtime ends the process after such an error (the Lambda
        // emulator models aws-lambda-ric 3.x) may fail one more attempt on that dying environment first, retryably.
        const errors = err.report.tasks[1]!.errors ?? [];
        expect(errors.at(-1)).toMatchObject({ retryable: false, message: expect.stringContaining(message) });
        for (const e of errors.slice(0, -1)) expect(e.message, "only the platform's failures are retried").not.toContain(message);
        expect(errors.length).toBeLessThanOrEqual(2);
      }
    });

    it("runs two runs of the same job at once on one backend, each getting its own partials", async () => {
      const big = (tag: string) => (opts.objectStore && backend.facts.inlinePayloadBytes ? tag.repeat(backend.facts.inlinePayloadBytes + 1024) : tag);
      const tasks = (tag: string): FixtureTask[] => [
        { op: "echo", value: big(tag), sleepMs: ms(150) },
        ...Array.from({ length: 3 }, (_, i): FixtureTask => ({ op: "echo", value: `${tag}${i}`, sleepMs: ms(100 + 50 * i) })),
      ];
      const [a, b] = await Promise.all([go(tasks("a"), { concurrency: 2 }), go(tasks("b"), { concurrency: 2 })]);
      expect((a.output as { value: unknown }[]).map((p) => p.value)).toEqual([big("a"), "a0", "a1", "a2"]);
      expect((b.output as { value: unknown }[]).map((p) => p.value)).toEqual([big("b"), "b0", "b1", "b2"]);
      expect(a.report.runId).not.toBe(b.report.runId);
    });

    it("keeps a run going when another backend running the same job on the same platform is disposed", async () => {
      const first = await opts.createBackend();
      const second = await opts.createBackend();
      try {
        const one = await run(conformanceJob, { tasks: [{ op: "echo", value: "first" }] }, { backend: first, retries: 3 });
        expect(one.output).toMatchObject([{ value: "first" }]);
        const tasks: FixtureTask[] = Array.from({ length: 6 }, (_, i) => ({ op: "echo", value: i, sleepMs: ms(250) }));
        // The first backend is disposed once the second's run has had an answer from the function it found.
        let answered!: () => void;
        const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
        const counted: Backend = {
          name: second.name,
          facts: second.facts,
          prepare: (ctx) => second.prepare(ctx),
          dispose: () => second.dispose(),
          invoke: (req, signal) => second.invoke(req, signal).finally(answered),
        };
        const going = run(conformanceJob, { tasks }, { backend: counted, concurrency: 2, retries: 3, backoff: { baseMs: 20, maxMs: 200 } });
        await Promise.race([firstAnswer, going]);
        // The first backend deployed the function; the second found it. Disposing the first must not break the second.
        await first.dispose();
        const { output, report } = await going;
        expect((output as { value: number }[]).map((p) => p.value)).toEqual([0, 1, 2, 3, 4, 5]);
        expect(report.status).toBe("succeeded");
      } finally {
        await Promise.all([first.dispose(), second.dispose()]);
      }
    });

    const noStore = "not applicable: the backend has no object store (no inline payload limit)";
    it.skipIf(!opts.objectStore)(`offloads a task over the inline limit once, even when it is retried${opts.objectStore ? "" : ` (${noStore})`}`, async () => {
      const limit = backend.facts.inlinePayloadBytes!;
      expect(limit, "a backend with an object store declares its inline limit").toBeGreaterThan(0);
      const value = "ü".repeat(Math.ceil(limit / 2) + 4096); // over the limit in UTF-8 bytes, under it in characters
      const { output, report } = await go([{ op: "flaky", failUntilAttempt: 3, value }]);
      expect(output).toEqual([{ value, attempt: 3 }]);
      expect(report.tasks[0]!.attempts).toBe(3);
      const uploads = opts.objectStore!.writes().filter((k) => k.includes(`superfaas/${report.runId}/tasks/`));
      expect(uploads).toHaveLength(1);
    });

    it.skipIf(!opts.objectStore)(
      `leaves no object under a run's prefix after success, after a failed run and after cancellation, late partials included${opts.objectStore ? "" : ` (${noStore})`}`,
      async () => {
        const store = opts.objectStore!;
        const own = await opts.createBackend();
        const limit = own.facts.inlinePayloadBytes!;
        const large = limit + 64 * 1024;
        const runIds: string[] = [];
        try {
          const ok = await run(conformanceJob, { tasks: [{ op: "payload", kind: "large", seed: 5, bytes: large }, { op: "echo", value: "x".repeat(large) }] }, { backend: own });
          runIds.push(ok.report.runId);
          expect((await store.keys(`superfaas/${ok.report.runId}/`)).length, "the run stored its task and partial").toBeGreaterThanOrEqual(2);
          const bad = await failure(run(conformanceJob, { tasks: [{ op: "echo", value: "y".repeat(large) }, { op: "throw", message: "fails the run" }] }, { backend: own, retries: 0 }));
          runIds.push(bad.report.runId);
          // Cancelled while two invocations sleep; each stores its large partial after the cancel (and the clean-up).
          const controller = new AbortController();
          setTimeout(() => controller.abort(), ms(700));
          const sleepMs = ms(2_500);
          const late: FixtureTask[] = [1, 2].map((seed) => ({ op: "payload", kind: "large", seed, bytes: large, sleepMs }));
          const cancelled = await failure(run(conformanceJob, { tasks: late }, { backend: own, concurrency: 2, signal: controller.signal }));
          expect(cancelled.code).toBe("CANCELLED");
          runIds.push(cancelled.report.runId);
        } finally {
          await own.dispose();
        }
        for (const id of runIds) expect(await store.keys(`superfaas/${id}/`), `run ${id} right after dispose`).toEqual([]);
        // The cancelled invocations end and store their partials after the clean-up: wait for both writes (the event
        // that must come first), then for both deletions, as each invocation deletes the partial it stored when it
        // finds its run's owner marker gone. A partial that is never deleted fails the wait.
        const cancelledResults = `superfaas/${runIds[2]}/results/`;
        const lateWrites = () => store.writes().filter((k) => k.includes(cancelledResults));
        const deadline = performance.now() + ms(30_000);
        const waitFor = async (what: string, check: () => boolean | Promise<boolean>) => {
          while (!(await check())) {
            if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
            await new Promise((r) => setTimeout(r, 20));
          }
        };
        await waitFor("the two cancelled invocations to store their late partials", () => lateWrites().length >= 2);
        const deletes = store.deletes;
        if (deletes) await waitFor("the late partials to be deleted", () => lateWrites().every((k) => deletes().includes(k)));
        else await new Promise((r) => setTimeout(r, ms(2_500))); // a live bucket: its deletes are not observable here
        for (const id of runIds) expect(await store.keys(`superfaas/${id}/`), `run ${id} after the late partials`).toEqual([]);
      },
    );

    it.skipIf(!opts.billed)(`counts failed attempts in the billed time${opts.billed ? "" : " (not applicable: the backend bills nothing)"}`, async () => {
      const sleepMs = ms(300);
      const { report } = await go([{ op: "flaky", failUntilAttempt: 3, value: "paid", sleepMs }]);
      expect(report.tasks[0]!.attempts).toBe(3);
      // Each of the three attempts ran for sleepMs and was billed for it; the two that failed count too.
      expect(report.tasks[0]!.billedMs).toBeGreaterThanOrEqual(3 * sleepMs);
      expect(report.totals.billedMs).toBeGreaterThanOrEqual(3 * sleepMs);
    });
  });
}
