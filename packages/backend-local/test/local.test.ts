import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { RunError, run, type TaskError } from "@superfaas/core";
import { localBackend, localBackendDescriptor, type LocalBackend } from "../src/index.js";
import { hostile } from "./fixtures/hostile-job.mjs";
import { conformanceJob } from "@superfaas/core/conformance";

describe("local backend", () => {
  it("defaults to one worker per available core and two attempts in flight per worker", () => {
    expect(localBackend().facts.defaultConcurrency).toBe(2 * availableParallelism());
    expect(localBackend({ workers: 3 }).facts.defaultConcurrency).toBe(6);
    expect(localBackend({ workers: 3, tasksPerWorker: 2 }).facts.defaultConcurrency).toBe(12);
  });

  it("declares its numeric flags so the CLI converts and checks them", async () => {
    const typed = Object.fromEntries(localBackendDescriptor.flags!.map((f) => [f.name, f.type]));
    expect(typed).toEqual({ workers: "integer", "tasks-per-worker": "integer", "max-heap-mb": "integer", straggle: undefined, "straggle-seed": "integer" });
    const b = (await localBackendDescriptor.create({ workers: 3, tasksPerWorker: 2 })) as LocalBackend;
    expect(b.facts.defaultConcurrency).toBe(12);
    await b.dispose();
  });

  it("slows the chosen invocations on the platform side: the answer is held, the worker is free, a cancel ends the wait", async () => {
    // Seed 10 at one half slows the first invocation and not the second: both run on the one worker, the second while
    // the first's answer is held back 4 x its run time.
    const backend = localBackend({ workers: 1, straggle: { fraction: 0.5, factor: 5, seed: 10 } });
    try {
      const tasks = [0, 1].map((value) => ({ op: "echo" as const, value, sleepMs: 200 }));
      const { output, report } = await run(conformanceJob, { tasks }, { backend, concurrency: 2, retries: 0 });
      const [slow, fast] = output as { startedAt: number; finishedAt: number }[];
      expect(backend.straggled).toBe(1);
      expect(report.tasks[0]!.durationMs).toBeGreaterThanOrEqual(4 * 200);
      expect(report.tasks[1]!.finishedAt).toBeLessThan(report.tasks[0]!.finishedAt!);
      expect(fast!.startedAt).toBeGreaterThanOrEqual(slow!.finishedAt);
      // A cancelled run does not wait for a held answer.
      const controller = new AbortController();
      const slowed = localBackend({ workers: 1, straggle: { fraction: 1, factor: 100 } });
      try {
        setTimeout(() => controller.abort(), 600);
        const t0 = performance.now();
        const err = await run(conformanceJob, { tasks: [tasks[0]!] }, { backend: slowed, signal: controller.signal }).catch((e: unknown) => e);
        expect((err as RunError).code).toBe("CANCELLED");
        expect(performance.now() - t0).toBeLessThan(10_000);
      } finally {
        await slowed.dispose();
      }
    } finally {
      await backend.dispose();
    }
  });

  it("refuses a straggle rule out of range, and --straggle-seed without --straggle", () => {
    expect(() => localBackend({ straggle: { fraction: 2, factor: 10 } })).toThrow(/invalid value .* for local backend straggle/);
    expect(() => localBackendDescriptor.create({ straggleSeed: 3 })).toThrow(/--straggle-seed without --straggle/);
    expect(() => localBackendDescriptor.create({ straggle: "0.05x0" })).toThrow(/invalid value "0.05x0" for --straggle/);
  });

  it("rejects a worker count below one", () => {
    expect(() => localBackend({ workers: 0 })).toThrow(/workers must be a whole number >= 1/);
    expect(() => localBackend({ tasksPerWorker: 0 })).toThrow(/tasks per worker must be a whole number >= 1/);
  });

  it("survives workers that exit, retrying their attempts, and never hangs", async () => {
    const backend = localBackend({ workers: 2, maxHeapMb: 32 });
    try {
      const { output, report } = await run(hostile, { tasks: ["exit", "fine"] }, { backend, retries: 2, backoff: { baseMs: 10, maxMs: 50 } });
      expect((output as { task: string; attempt: number }[]).map((p) => [p.task, p.attempt])).toEqual([
        ["exit", 2],
        ["fine", 1],
      ]);
      expect(report.totals.retries).toBe(1);
    } finally {
      await backend.dispose();
    }
  });

  it("fails a task whose worker runs out of heap as OUT_OF_MEMORY, naming the heap and --max-heap-mb, without a retry", async () => {
    const backend = localBackend({ workers: 2, maxHeapMb: 32 });
    try {
      const failed = await run(hostile, { tasks: ["fine", "oom"] }, { backend, retries: 2, backoff: { baseMs: 10, maxMs: 50 } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(RunError);
      const e = failed as RunError;
      expect(e.code).toBe("OUT_OF_MEMORY");
      expect(e.message).toMatch(/^task 1 ran out of memory: worker heap 32 MB \(.*ERR_WORKER_OUT_OF_MEMORY\)/);
      expect(e.hint).toMatch(/^raise --max-heap-mb above 32, or split the work/);
      expect(e.report.tasks[1]).toMatchObject({ attempts: 1, status: "failed" });
      expect(e.report.totals.retries).toBe(0);
    } finally {
      await backend.dispose();
    }
  });

  it("fails the task with the job's own error when map throws outside its promise, instead of losing the worker", async () => {
    const backend = localBackend({ workers: 2 });
    try {
      const failed = await run(hostile, { tasks: ["fine", "uncaught"] }, { backend, retries: 2, backoff: { baseMs: 10, maxMs: 50 } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(RunError);
      const e = failed as RunError;
      expect(e.message).toMatch(/^task 1 failed in map: Error: thrown from a timer, outside the task's promise/);
      expect((e.cause as TaskError).remoteStack).toMatch(/hostile-job|Timeout/);
      // The job's own bug: not retried.
      expect(e.report.totals.attempts).toBe(2);
    } finally {
      await backend.dispose();
    }
  });

  it("stops a worker stuck in a busy loop when its attempt times out", async () => {
    const backend = localBackend({ workers: 1 });
    try {
      // The retry runs in a new worker, which loads the job first: 1.5 s leaves room for that on a loaded machine.
      const { output } = await run(hostile, { tasks: ["busy"] }, { backend, timeoutMs: 1_500, retries: 1, backoff: { baseMs: 10, maxMs: 10 } });
      expect(output).toMatchObject([{ task: "busy", attempt: 2 }]);
    } finally {
      await backend.dispose();
    }
  });

  it("runs map off the main thread, on the pool's workers", async () => {
    const backend = localBackend({ workers: 2 });
    try {
      const { output } = await run(hostile, { tasks: ["fine", "fine", "fine", "fine"] }, { backend });
      for (const p of output as { workerId: string }[]) expect(p.workerId).toMatch(new RegExp(`^local:${process.pid}:[1-9]\\d*$`));
    } finally {
      await backend.dispose();
    }
  });
});

describe("local backend through the library, when the job module cannot load in a worker", () => {
  it("run() rejects with the module's error and dispose() completes", async () => {
    const { loadFails } = await import("./fixtures/load-fails.mjs");
    const backend = localBackend({ workers: 2 });
    const failed = await run(loadFails, {}, { backend }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(RunError);
    expect((failed as RunError).message).toMatch(/could not load the job module: Error: native addon not available in this worker/);
    await expect(backend.dispose()).resolves.toBeUndefined();
  });
});
