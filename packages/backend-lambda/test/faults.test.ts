// One test per platform fault the emulator injects: the run still completes with the right result (or fails fast
// and clearly when it must), and only what may succeed on another attempt is retried.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, RunError, TaskError, type RunOptions } from "@superfaas/core";
import type { LambdaBackend } from "../src/index.js";
import { checksum, dataJob, makeText, type DataTask } from "./fixtures/jobs.js";
import { loadFails } from "./fixtures/load-fails.js";
import { startTestbed, type LambdaTestbed } from "./helpers.js";

describe("lambda faults and the data plane (emulator + s3rver)", () => {
  let tb: LambdaTestbed;
  // Faults hit the function without a bucket (a small bundle that cold-starts fast); the data plane needs the bucket.
  let backend: LambdaBackend;
  let noBucket: LambdaBackend;
  beforeAll(async () => {
    tb = await startTestbed({ s3: true, emulator: { maxEnvironments: 8 } });
    backend = tb.backend();
    noBucket = tb.backend({ bucket: undefined, s3Endpoint: undefined });
    // Deploy and warm up both functions, so every test starts from Active functions and an empty fault queue.
    await run(dataJob, { tasks: [{ op: "value", value: 0 }] }, { backend });
    await go([{ op: "value", value: 0 }]);
  });
  afterAll(async () => {
    await backend?.dispose();
    await noBucket?.dispose();
    await tb?.close();
  });

  const values = (n: number, sleepMs = 0): DataTask[] => Array.from({ length: n }, (_, i) => ({ op: "value", value: i, sleepMs }));
  const go = (tasks: DataTask[], extra: Partial<RunOptions> = {}, on: LambdaBackend = noBucket) =>
    run(dataJob, { tasks }, { backend: on, concurrency: 2, retries: 2, backoff: { baseMs: 10, maxMs: 50 }, ...extra });
  const failure = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RunError);
    return err as RunError;
  };
  const valuesOf = (output: unknown) => (output as { value: unknown }[]).map((p) => p.value);

  it("runs these invocations on the direct path (the warm-up's first call went through client.send())", async () => {
    expect(await backend.invoker.settled()).toBe("direct");
    expect(await noBucket.invoker.settled()).toBe("direct");
  });

  it("slows down on 429 TooManyRequestsException and completes", async () => {
    tb.emulator.faults.throttle(5);
    const { output, report } = await go(values(4), { concurrency: 4 });
    expect(valuesOf(output)).toEqual([0, 1, 2, 3]);
    expect(report.totals.throttled).toBe(5);
    expect(report.tasks.every((t) => t.attempts === 1)).toBe(true); // throttled attempts never ran: no retry budget used
    expect(tb.emulator.faults.pending()).toBe(0);
  });

  it("completes under a reserved concurrency lower than the run's, never running more at once", async () => {
    const env = (n: string) => (tb.emulator.getFunction(n) as { Environment: { Variables: Record<string, string> } }).Environment.Variables;
    const name = tb.emulator.functionNames().find((n) => !env(n).SUPERFAAS_S3)!;
    tb.emulator.faults.reserveConcurrency(name, 2);
    tb.emulator.stats.peakConcurrency[name] = 0;
    try {
      const { output, report } = await go(values(8, 100), { concurrency: 6 });
      expect(valuesOf(output)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(report.totals.throttled).toBeGreaterThan(0);
      expect(tb.emulator.stats.peakConcurrency[name]).toBeLessThanOrEqual(2);
    } finally {
      tb.emulator.faults.reserveConcurrency(name, undefined);
    }
  });

  it("surfaces a function error's remote message and stack and does not retry it", async () => {
    tb.emulator.faults.functionError(1, { message: "injected boom 💥", name: "RangeError" });
    const err = await failure(go(values(1)));
    expect(err.code).toBe("TASK_FAILED");
    expect(err.message).toContain("RangeError: injected boom 💥");
    const cause = err.cause as TaskError;
    expect(cause).toBeInstanceOf(TaskError);
    expect(cause).toMatchObject({ origin: "remote", retryable: false, name: "RangeError" });
    expect(cause.remoteStack).toContain("injectedFailure");
    expect(err.report.tasks[0]!.attempts, JSON.stringify(err.report.tasks[0]!.errors)).toBe(1);
  });

  it("names a job module that throws while the function loads it as the module's failure, not map's, and does not retry it", async () => {
    const err = await failure(run(loadFails, {}, { backend: noBucket, concurrency: 2, retries: 2, backoff: { baseMs: 10, maxMs: 50 } }));
    expect(err.message).toMatch(/^task \d could not load the job module: Error: native addon not available in the function/);
    expect(err.message).not.toMatch(/failed in map/);
    expect(err.report.tasks.every((t) => t.attempts <= 1)).toBe(true);
  });

  it("returns an error thrown outside map's own await with the job's message (the runtime itself installs no handler, as RIC 4)", async () => {
    const crashes = tb.emulator.stats.crashes;
    const err = await failure(go([{ op: "escape", message: "thrown from a timer" }]));
    expect(err.message).toMatch(/^task 0 failed in map: TypeError: thrown from a timer/);
    expect(err.report.tasks[0]!.attempts).toBe(1);
    expect(tb.emulator.stats.crashes).toBe(crashes); // caught by the function's own guard: the environment lived on
  });

  it("retries an invocation that hit the function's time limit (Sandbox.Timedout) and completes", async () => {
    tb.emulator.faults.timeout(1, { afterMs: 300 });
    const { output, report } = await go(values(1));
    expect(valuesOf(output)).toEqual([0]);
    expect(report.tasks[0]!.attempts).toBe(2);
    expect(report.tasks[0]!.errors![0]!.message).toMatch(/time limit of 30 s: .*Task timed out after 30\.00 seconds/);
  });

  it("retries an invocation whose environment crashed (Runtime.ExitError) and completes", async () => {
    tb.emulator.faults.crash(1, { exitCode: 9 });
    const { output, report } = await go(values(2));
    expect(valuesOf(output)).toEqual([0, 1]);
    const crashed = report.tasks.find((t) => t.attempts === 2)!;
    expect(crashed.errors![0]!.message).toMatch(/^the process exited with status 9/);
    expect(report.totals.retries).toBe(1);
  });

  it("fails at once as OUT_OF_MEMORY, with the function's memory and --memory, when the environment is killed at its memory", async () => {
    const before = tb.emulator.stats.invocations;
    tb.emulator.faults.outOfMemory(1, { afterMs: 50 });
    const err = await go(values(1, 1_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    const e = err as RunError;
    expect(e.code).toBe("OUT_OF_MEMORY");
    expect(e.message).toMatch(/^task 0 ran out of memory: function memory \d+ MB \(Runtime\.OutOfMemory: RequestId: [\w-]+ Error: Runtime exited with error: signal: killed \(Max Memory Used (\d+) MB of \1 MB\)\)/);
    expect(e.hint).toMatch(/^raise --memory above \d+ \(at most 10240\)/);
    expect(e.report.tasks[0]!.attempts).toBe(1);
    expect(tb.emulator.stats.invocations - before).toBe(1);
  });

  it("retries a 5xx from the Lambda service and completes", async () => {
    tb.emulator.faults.serverError(1, { status: 502, type: "EC2ThrottledException", message: "Lambda was throttled by Amazon EC2" });
    const { output, report } = await go(values(1));
    expect(valuesOf(output)).toEqual([0]);
    expect(report.tasks[0]!.attempts).toBe(2);
    expect(report.tasks[0]!.errors![0]!.message).toMatch(/EC2ThrottledException \(HTTP 502\)/);
  });

  it("sends a task over 6 MB through S3 and gets a partial over 6 MB back through S3", async () => {
    const data = makeText(6_400_000, 3);
    const { output } = await go(
      [
        { op: "measure", data },
        { op: "produce", bytes: 6_500_000, seed: 5 },
      ],
      {},
      backend,
    );
    const [measured, produced] = output as [{ length: number; checksum: number }, { data: string }];
    expect(measured).toEqual({ length: data.length, checksum: checksum(data) });
    expect(produced.data.length).toBe(6_500_000);
    expect(checksum(produced.data)).toBe(checksum(makeText(6_500_000, 5)));
  });

  it("without a bucket, fails a task over 6 MB at once, naming --bucket", async () => {
    const err = await failure(go([{ op: "measure", data: makeText(6_400_000, 1) }]));
    expect(err.message).toMatch(/task 0 is \d+ bytes as JSON, over Lambda's 6 MB invoke limit.*--bucket/);
    expect(err.report.tasks[0]!.attempts, JSON.stringify(err.report.tasks[0]!.errors)).toBe(1);
  });

  it("without a bucket, fails a partial over 6 MB (Function.ResponseSizeTooLarge) without retrying, naming --bucket", async () => {
    const err = await failure(go([{ op: "produce", bytes: 6_400_000, seed: 2 }]));
    expect(err.message).toMatch(/over Lambda's 6 MB response limit.*--bucket/);
    expect(err.report.tasks[0]!.attempts).toBe(1);
  });

  it("reports cold starts, billed time and a cost from the REPORT lines", async () => {
    const { report } = await go(values(3), { concurrency: 3 });
    for (const t of report.tasks) {
      expect(t.billedMs).toBeGreaterThan(0);
      expect(t.platformId).toMatch(/^[0-9a-f-]{36}$/);
      expect(t.workerId).toMatch(/^lambda:\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    }
    expect(report.totals.costUsd).toBeCloseTo(noBucket.estimateCost({ invocations: report.totals.attempts, billedMs: report.totals.billedMs }), 12);
    expect(noBucket.usage.maxMemoryUsedMb).toBeGreaterThan(0);
  });

  it("bills every attempt: when half of them time out, the report's billed time, cold starts and cost are the platform's", async () => {
    const emu = tb.emulator.stats;
    const before = { billedMs: emu.billedMs, invocations: emu.invocations, coldStarts: emu.coldStarts, timeouts: emu.timeouts };
    // 4 tasks, 4 attempts that hang until a (shortened) time limit: each timed-out environment is killed, so the
    // attempt after it is a cold start, whose init phase is billed too.
    tb.emulator.faults.timeout(4, { afterMs: 100 });
    const { report } = await go(values(4), { retries: 4 });
    expect(report.status).toBe("succeeded");
    expect(emu.timeouts - before.timeouts).toBe(4);
    expect(report.totals.attempts).toBe(8);
    expect(emu.invocations - before.invocations).toBe(8);
    const billed = emu.billedMs - before.billedMs;
    expect(report.totals.billedMs).toBe(billed);
    expect(report.totals.coldStarts).toBe(emu.coldStarts - before.coldStarts);
    expect(report.totals.coldStarts).toBeGreaterThanOrEqual(2);
    const { estimateLambdaCost } = await import("../src/cost.js");
    const c = noBucket.config;
    expect(report.totals.costUsd).toBeCloseTo(estimateLambdaCost({ invocations: 8, billedMs: billed }, c.memory, c.price), 15);
    // The timed-out attempts are most of the bill: leaving them out would have understated it.
    const succeededMs = report.tasks.reduce((s, t) => s + (t.durationMs ?? 0), 0);
    expect(billed).toBeGreaterThan(succeededMs + 4 * 100);
  });

  it("reuses a bounded pool of keep-alive sockets instead of a connection per invocation", async () => {
    const before = tb.emulator.stats.connections;
    const invocations = tb.emulator.stats.invocations;
    await go(values(40), { concurrency: 4 });
    expect(tb.emulator.stats.invocations - invocations).toBe(40);
    expect(tb.emulator.stats.connections - before).toBeLessThanOrEqual(4 + 8);
  });
});
