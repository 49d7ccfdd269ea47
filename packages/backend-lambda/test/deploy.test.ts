// What LambdaBackend does to the function across runs: create once, reuse unchanged, a new function for changed settings,
// delete only what it created.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetFunctionCommand, LambdaClient, UpdateFunctionConfigurationCommand, waitUntilFunctionUpdatedV2 } from "@aws-sdk/client-lambda";
import { ListObjectsCommand, S3Client } from "@aws-sdk/client-s3";
import { run, SuperfaasError } from "@superfaas/core";
import { dataJob } from "./fixtures/jobs.js";
import { startTestbed, TEST_BUCKET, type LambdaTestbed } from "./helpers.js";

describe("lambda deployment lifecycle (emulator + s3rver)", () => {
  let tb: LambdaTestbed;
  beforeAll(async () => {
    tb = await startTestbed({ s3: true, emulator: { maxEnvironments: 6 } });
  });
  afterAll(async () => {
    await tb?.close();
  });

  // Without a bucket the bundle leaves the S3 client out: smaller, faster to build and to cold-start.
  const plain = (o: Parameters<LambdaTestbed["backend"]>[0] = {}) => tb.backend({ bucket: undefined, s3Endpoint: undefined, ...o });
  const once = (backend = plain(), tasks = [{ op: "value" as const, value: 1 }]) => run(dataJob, { tasks }, { backend, concurrency: 2, retries: 1 });
  const calls = () => ({ ...tb.emulator.stats.calls });
  const delta = (before: Record<string, number>, op: string) => (tb.emulator.stats.calls[op] ?? 0) - (before[op] ?? 0);

  it("creates superfaas-<job>-<hash> from the job's bundle and waits until it is Active before invoking", async () => {
    const backend = plain({ keep: true });
    const before = calls();
    const logs: string[] = [];
    const { output, report } = await run(dataJob, { tasks: [{ op: "value", value: "hi" }] }, { backend, log: (m) => logs.push(m) });
    expect((output as { value: string }[])[0]!.value).toBe("hi");
    expect(delta(before, "CreateFunction")).toBe(1);
    // The waiter polled GetFunction while the function was Pending.
    expect(delta(before, "GetFunction")).toBeGreaterThanOrEqual(2);
    const names = tb.emulator.functionNames();
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^superfaas-data-plane-[0-9a-f]{12}$/);
    expect(tb.emulator.getFunction(names[0]!)).toMatchObject({ State: "Active", Handler: "index.handler", Runtime: "nodejs22.x", MemorySize: 256, Timeout: 30 });
    expect(logs.join("\n")).toMatch(/creating function superfaas-data-plane-/);
    expect(report.tasks[0]!.coldStart).toBe(true);
    expect(report.tasks[0]!.billedMs).toBeGreaterThan(0);
    expect(report.totals.costUsd).toBeGreaterThan(0);
    await backend.dispose();
    expect(tb.emulator.functionNames()).toEqual(names); // --keep
  });

  it("reuses the function another run left, and does not delete what it did not create", async () => {
    const before = calls();
    const backend = plain();
    await once(backend);
    await once(backend); // a second run on the same backend does not even look the function up again
    expect(delta(before, "CreateFunction")).toBe(0);
    expect(delta(before, "UpdateFunctionCode")).toBe(0);
    expect(delta(before, "UpdateFunctionConfiguration")).toBe(0);
    expect(delta(before, "GetFunction")).toBe(1);
    const names = tb.emulator.functionNames();
    await backend.dispose();
    expect(tb.emulator.functionNames()).toEqual(names); // found, not created: the kept function stays
  });

  it("wakes a function it finds Inactive (a DryRun invoke fails with 409 and wakes it), waits for Active, and runs", async () => {
    const name = tb.emulator.functionNames()[0]!;
    tb.emulator.faults.deactivate(name);
    const wakeups = tb.emulator.stats.wakeups;
    const backend = plain();
    const { report } = await once(backend);
    expect(report.status).toBe("succeeded");
    expect(report.totals.attempts).toBe(1); // no invocation was spent on the Inactive function
    expect(tb.emulator.stats.wakeups - wakeups).toBe(1);
    expect(tb.emulator.getFunction(name)).toMatchObject({ State: "Active" });
    await backend.dispose();
  });

  it("waits out an update in progress on a function it finds (the next update would get 409), and parses a JSON-format REPORT", async () => {
    const name = tb.emulator.functionNames()[0]!;
    const s = new LambdaClient({ endpoint: tb.emulator.endpoint, region: tb.emulator.region, credentials: tb.emulator.credentials });
    try {
      // Someone switches the function to JSON logs: LastUpdateStatus stays InProgress while the run deploys.
      const release = tb.emulator.faults.holdUpdates(name);
      await s.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, LoggingConfig: { LogFormat: "JSON" } }));
      await expect(s.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: "x" }))).rejects.toMatchObject({ name: "ResourceConflictException", $metadata: { httpStatusCode: 409 } });
      const billed = tb.emulator.stats.billedMs;
      const invocations = tb.emulator.stats.invocations;
      const before = calls();
      const backend = plain({ waiter: { minDelay: 0.05, maxDelay: 0.1 } });
      const running = once(backend, [
        { op: "value", value: 1 },
        { op: "value", value: 2 },
      ]);
      // The backend polls the update (GetFunction, by waitUntilFunctionUpdatedV2) and invokes nothing meanwhile.
      await expect.poll(() => delta(before, "GetFunction"), { timeout: 30_000, interval: 20 }).toBeGreaterThanOrEqual(3);
      expect(tb.emulator.stats.invocations).toBe(invocations);
      release();
      const { report } = await running;
      expect(report.status).toBe("succeeded");
      expect(report.tasks.every((t) => t.billedMs! > 0)).toBe(true);
      expect(report.totals.billedMs).toBe(tb.emulator.stats.billedMs - billed);
      expect(report.totals.coldStarts).toBeGreaterThanOrEqual(1); // new code generation: new environments
      await backend.dispose();
      await s.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, LoggingConfig: { LogFormat: "Text" } }));
      await waitUntilFunctionUpdatedV2({ client: s, minDelay: 0.05, maxDelay: 0.1, maxWaitTime: 10 }, { FunctionName: name });
    } finally {
      s.destroy();
    }
  });

  it("marks the function with its owner: superfaas, the run id and the creation time", async () => {
    const name = tb.emulator.functionNames()[0]!;
    const s = new LambdaClient({ endpoint: tb.emulator.endpoint, region: tb.emulator.region, credentials: tb.emulator.credentials });
    try {
      const { Tags } = await s.send(new GetFunctionCommand({ FunctionName: name }));
      expect(Tags).toMatchObject({ superfaas: "superfaas", "superfaas-job": "data-plane", "superfaas-run": expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(Date.parse(Tags!["superfaas-created"]!)).toBeGreaterThan(Date.now() - 600_000);
    } finally {
      s.destroy();
    }
  });

  it("deploys a function of its own when a setting changed (never the stale one), and deletes only that one", async () => {
    const kept = tb.emulator.functionNames();
    expect(kept).toHaveLength(1);
    for (const [o, expected] of [
      [{ memory: 512, functionTimeout: 20 }, { MemorySize: 512, Timeout: 20 }],
      [{ arch: "arm64" as const }, { Architectures: ["arm64"] }],
    ] as const) {
      const before = calls();
      const backend = plain(o);
      const { report } = await once(backend);
      expect(report.status).toBe("succeeded");
      expect(delta(before, "CreateFunction")).toBe(1);
      expect(delta(before, "UpdateFunctionCode") + delta(before, "UpdateFunctionConfiguration")).toBe(0);
      const mine = tb.emulator.functionNames().filter((n) => !kept.includes(n));
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatch(/^superfaas-data-plane-[0-9a-f]{12}$/);
      expect(tb.emulator.getFunction(mine[0]!)).toMatchObject(expected);
      expect(tb.emulator.getFunction(kept[0]!)).toMatchObject({ MemorySize: 256, Timeout: 30, Architectures: ["x86_64"] });
      await backend.dispose();
      expect(tb.emulator.functionNames()).toEqual(kept);
    }
  });

  it("gives the log group of a function it creates a retention, so the logs that outlive the function expire", async () => {
    const kept = tb.emulator.functionNames();
    const backend = plain({ memory: 384, logRetention: 7 });
    const logs: string[] = [];
    const { report } = await run(dataJob, { tasks: [{ op: "log", message: "kept for a week" }] }, { backend, log: (m) => logs.push(m) });
    expect(report.status).toBe("succeeded");
    const [mine] = tb.emulator.functionNames().filter((n) => !kept.includes(n));
    await backend.dispose();
    expect(tb.emulator.functionNames()).toEqual(kept); // the function is gone...
    const group = tb.emulator.logGroups().find((g) => g.logGroupName === `/aws/lambda/${mine}`);
    expect(group).toMatchObject({ retentionInDays: 7 }); // ...its logs stay, for 7 days
    expect(group!.storedBytes).toBeGreaterThan(0);
    expect(logs.join("\n")).not.toMatch(/could not give log group/);
    // The default is 14 days; a function found (not created) is left as it is.
    expect(tb.emulator.logGroups().find((g) => g.logGroupName === `/aws/lambda/${kept[0]}`)).toMatchObject({ retentionInDays: 14 });
  });

  it("refuses to create a function without an execution role, naming the minimal policy", async () => {
    const backend = plain({ role: undefined });
    const err = await once(backend).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SuperfaasError);
    expect(err).toMatchObject({ code: "BACKEND_CONFIG", message: expect.stringMatching(/does not exist yet and no execution role is set/) });
    expect((err as SuperfaasError).hint).toMatch(/--role.*logs:CreateLogStream and logs:PutLogEvents on .*log-group:\/aws\/lambda\/superfaas-\*.*s3:GetObject, s3:PutObject and s3:DeleteObject/);
    await backend.dispose();
  });

  it("deletes a function it created when the run is cancelled while the function is still Pending", async () => {
    // A platform slow to make functions Active: Ctrl-C arrives between CreateFunction and Active.
    const slow = await startTestbed({ emulator: { pendingMs: 30_000 } });
    try {
      const backend = slow.backend({ bucket: undefined, s3Endpoint: undefined, waiter: { minDelay: 1, maxDelay: 1, maxWaitTime: 60 } });
      const ac = new AbortController();
      const poll = setInterval(() => {
        if (slow.emulator.functionNames().length > 0) ac.abort();
      }, 10);
      const err = await run(dataJob, { tasks: [{ op: "value", value: 1 }] }, { backend, signal: ac.signal }).then(
        () => undefined,
        (e: unknown) => e,
      );
      clearInterval(poll);
      expect(err).toMatchObject({ code: "CANCELLED" });
      await backend.dispose();
      expect(slow.emulator.functionNames()).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it("reports an unreachable endpoint as a configuration error", async () => {
    const backend = plain({ endpoint: "http://127.0.0.1:9" });
    await expect(once(backend)).rejects.toMatchObject({ code: "BACKEND_CONFIG", message: expect.stringMatching(/cannot reach http:\/\/127\.0\.0\.1:9/) });
    await backend.dispose();
  });

  it("removes the run's objects from the bucket on dispose", async () => {
    const backend = tb.backend();
    const big = "z".repeat(7 * 1024 * 1024);
    await run(dataJob, { tasks: [{ op: "measure", data: big }, { op: "produce", bytes: 7 * 1024 * 1024, seed: 1 }] }, { backend });
    const s3 = new S3Client({ endpoint: tb.s3!.endpoint, region: "us-east-1", forcePathStyle: true, credentials: tb.s3!.credentials });
    try {
      const list = async () => (await s3.send(new ListObjectsCommand({ Bucket: TEST_BUCKET, Prefix: "superfaas/" }))).Contents ?? [];
      expect((await list()).length).toBeGreaterThanOrEqual(2); // the task in, the partial out
      await backend.dispose();
      expect(await list()).toEqual([]);
    } finally {
      s3.destroy();
    }
  });
});
