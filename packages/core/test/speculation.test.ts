import { describe, expect, it } from "vitest";
import { schedule, type ProgressEvent } from "../src/schedule/scheduler.js";
import { DEFAULT_BACKUP_POLICY, resolveBackupPolicy, StragglerThreshold, type BackupPolicy } from "../src/schedule/speculation.js";
import { parseStraggle, straggles } from "../src/schedule/straggle.js";
import { TaskError } from "../src/errors.js";
import { summarizeReport, type RunReport } from "../src/run/report.js";
import { defineJob } from "../src/job/job.js";
import { run } from "../src/run/run.js";
import type { Backend, InvokeRequest, InvokeResult } from "../src/backend.js";

const tick = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });

interface Call {
  req: InvokeRequest;
  aborted: boolean;
  settled: boolean;
}

// A backend whose attempts take `ms(req)`; every call is kept so a test can see what was cancelled.
function timed(ms: (req: InvokeRequest) => number, result: (req: InvokeRequest) => Partial<InvokeResult> = () => ({})) {
  const calls: Call[] = [];
  let inFlight = 0;
  const backend: Backend & { calls: Call[]; peak: number } = {
    name: "timed",
    facts: { defaultConcurrency: 4 },
    calls,
    peak: 0,
    prepare: async () => {},
    dispose: async () => {},
    async invoke(req, signal) {
      const call: Call = { req, aborted: false, settled: false };
      calls.push(call);
      inFlight++;
      backend.peak = Math.max(backend.peak, inFlight);
      signal.addEventListener("abort", () => (call.aborted = true));
      try {
        await tick(ms(req), signal);
        return { partial: { task: req.taskIndex, attempt: req.attempt }, ...result(req) };
      } finally {
        inFlight--;
        call.settled = true;
      }
    },
  };
  return backend;
}

const policy: BackupPolicy = { ...DEFAULT_BACKUP_POLICY, after: 0.5, multiple: 3 };
const base = { concurrency: 4, timeoutMs: 10_000, retries: 2, backoff: { baseMs: 1, maxMs: 5 }, backup: policy };

describe("backup tasks", () => {
  it("starts a backup of a straggler, takes the first result, cancels the loser and counts the partial once", async () => {
    // Task 5's first attempt takes 3 s; every other attempt (its backup included) takes 20 ms.
    const b = timed((req) => (req.taskIndex === 5 && req.attempt === 1 ? 3_000 : 20));
    const events: ProgressEvent[] = [];
    const r = await schedule(Array.from({ length: 8 }, (_, i) => i), b, { ...base, onProgress: (e) => events.push(e) });
    expect(r.failure).toBeUndefined();
    expect(r.partials).toEqual(Array.from({ length: 8 }, (_, i) => ({ task: i, attempt: i === 5 ? 2 : 1 })));
    expect(r.backups).toMatchObject({ launched: 1, won: 1, wasted: 1 });
    expect(r.backups!.wastedMs).toBeGreaterThan(0);
    expect(r.records[5]).toMatchObject({ attempts: 2, status: "succeeded", backup: { won: true } });
    const loser = b.calls.find((c) => c.req.taskIndex === 5 && c.req.attempt === 1)!;
    expect(loser.aborted).toBe(true);
    expect(events.filter((e) => e.type === "succeeded").map((e) => e.taskIndex).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(events.filter((e) => e.backup)).toHaveLength(1);
    expect(b.peak).toBeLessThanOrEqual(4);
  });

  it("keeps the first attempt's result when it wins the race, and cancels the backup", async () => {
    // The straggler's first attempt ends before its (slower still) backup.
    const b = timed((req) => (req.taskIndex === 3 ? (req.attempt === 1 ? 400 : 5_000) : 20));
    const r = await schedule(Array.from({ length: 6 }, (_, i) => i), b, base);
    expect(r.partials[3]).toEqual({ task: 3, attempt: 1 });
    expect(r.backups).toMatchObject({ launched: 1, won: 0, wasted: 1 });
    expect(r.records[3]!.backup).toMatchObject({ won: false });
    expect(b.calls.find((c) => c.req.taskIndex === 3 && c.req.attempt === 2)!.aborted).toBe(true);
  });

  it("does not fail a task whose backup fails while the first attempt still runs", async () => {
    const b = timed((req) => (req.taskIndex === 2 && req.attempt === 1 ? 500 : 20));
    const failing: Backend = {
      ...b,
      async invoke(req, signal) {
        if (req.taskIndex === 2 && req.attempt === 2) throw new TaskError("backup crashed for good", { retryable: false, origin: "remote" });
        return b.invoke(req, signal);
      },
    };
    const r = await schedule(Array.from({ length: 6 }, (_, i) => i), failing, base);
    expect(r.failure).toBeUndefined();
    expect(r.partials[2]).toEqual({ task: 2, attempt: 1 });
    expect(r.backups).toMatchObject({ launched: 1, won: 0, wasted: 1 });
    expect(r.records[2]!.errors).toEqual([expect.objectContaining({ attempt: 2, message: "backup crashed for good" })]);
  });

  it("lets the backup carry the task when the first attempt fails, without charging the backup to the retry budget", async () => {
    const b = timed((req) => (req.taskIndex === 1 && req.attempt === 1 ? 300 : req.taskIndex === 1 ? 600 : 20));
    const failing: Backend = {
      ...b,
      async invoke(req, signal) {
        const r = await b.invoke(req, signal);
        if (req.taskIndex === 1 && req.attempt === 1) throw new TaskError("first attempt lost its container", { retryable: true, origin: "platform" });
        return r;
      },
    };
    const r = await schedule(Array.from({ length: 6 }, (_, i) => i), failing, { ...base, retries: 0 });
    expect(r.failure).toBeUndefined();
    expect(r.partials[1]).toEqual({ task: 1, attempt: 2 });
    expect(r.backups).toMatchObject({ launched: 1, won: 1 });
  });

  it("keeps within the concurrency bound, the in-flight cap and the budget", async () => {
    // A quarter of the tasks straggle, all started at once: the budget (10% of 40 = 4) caps the backups.
    const straggles = (req: InvokeRequest) => req.attempt === 1 && req.taskIndex % 4 === 1;
    const b = timed((req) => (straggles(req) ? 600 : 10));
    const r = await schedule(Array.from({ length: 40 }, (_, i) => i), b, { ...base, concurrency: 40, backup: { ...policy, after: 0.3 } });
    expect(r.failure).toBeUndefined();
    expect(r.backups).toMatchObject({ launched: 4, won: 4 });
    expect(r.records.filter((t) => t.backup).length).toBe(4);
    expect(b.peak).toBeLessThanOrEqual(40);
    // With a cap of 2 in flight and a budget of them all, backups go two at a time; with the bound at 12, never above it.
    let backupsNow = 0;
    let backupsPeak = 0;
    const c = timed((req) => (straggles(req) ? 600 : req.attempt === 2 ? 50 : 10));
    const counting: Backend = {
      ...c,
      async invoke(req, signal) {
        if (req.attempt === 2) backupsPeak = Math.max(backupsPeak, ++backupsNow);
        try {
          return await c.invoke(req, signal);
        } finally {
          if (req.attempt === 2) backupsNow--;
        }
      },
    };
    const capped = await schedule(Array.from({ length: 40 }, (_, i) => i), counting, { ...base, concurrency: 12, backup: { ...policy, after: 0.3, maxInFlight: 2, budget: 1 } });
    expect(capped.failure).toBeUndefined();
    expect(capped.backups!.launched).toBeGreaterThan(0);
    expect(backupsPeak).toBeLessThanOrEqual(2);
    expect(c.peak).toBeLessThanOrEqual(12);
    expect(capped.peakConcurrency).toBeLessThanOrEqual(12);
  });

  it("starts no backup while the platform throttles", async () => {
    let throttles = 3;
    const b = timed((req) => (req.taskIndex === 4 && req.attempt === 1 ? 400 : 20));
    const throttling: Backend = {
      ...b,
      async invoke(req, signal) {
        // The straggler's backup would be refused; the window is halved before the threshold is reached.
        if (req.taskIndex >= 5 && throttles-- > 0) throw new TaskError("429", { retryable: true, origin: "platform", throttled: true });
        return b.invoke(req, signal);
      },
    };
    const r = await schedule(Array.from({ length: 6 }, (_, i) => i), throttling, { ...base, concurrency: 8 });
    expect(r.failure).toBeUndefined();
    expect(r.throttled).toBe(3);
    expect(r.backups!.launched).toBe(0);
  });

  it("never lets a backup push the attempts of the last minute over the platform's per-minute cap", async () => {
    const slowFirst = (req: InvokeRequest) => (req.taskIndex === 5 && req.attempt === 1 ? 600 : 20);
    // Eight tasks under a cap of eight a minute: the straggler waits it out alone.
    const capped = await schedule(Array.from({ length: 8 }, (_, i) => i), timed(slowFirst), { ...base, invocationsPerMinute: 8 });
    expect(capped.failure).toBeUndefined();
    expect(capped.backups!.launched).toBe(0);
    // One more a minute, and the backup goes.
    const room = await schedule(Array.from({ length: 8 }, (_, i) => i), timed(slowFirst), { ...base, invocationsPerMinute: 9 });
    expect(room.backups).toMatchObject({ launched: 1, won: 1 });
  });

  it("counts a late answer's billed time of a loser that the platform ran to its end", async () => {
    // This backend, like a cloud function, does not stop when cancelled: the loser answers later with its billed time.
    const slow: Backend = {
      name: "unstoppable",
      facts: { defaultConcurrency: 4 },
      prepare: async () => {},
      dispose: async () => {},
      async invoke(req) {
        const ms = req.taskIndex === 0 && req.attempt === 1 ? 400 : 20;
        await tick(ms);
        return { partial: req.attempt, billedMs: ms };
      },
    };
    const r = await schedule([0, 1, 2, 3], slow, base);
    expect(r.partials[0]).toBe(2);
    await tick(500);
    expect(r.records[0]!.billedMs).toBe(420);
    expect(r.backups!.wastedMs).toBe(400);
  });

  it("is off without a policy: one attempt per task, however slow", async () => {
    const b = timed((req) => (req.taskIndex === 0 ? 300 : 10));
    const { backup: _, ...off } = base;
    const r = await schedule([0, 1, 2, 3, 4, 5], b, off);
    expect(r.backups).toBeUndefined();
    expect(b.calls).toHaveLength(6);
  });
});

describe("backup policy", () => {
  it("is on for deterministic jobs unless turned off, and on for others only when asked", () => {
    expect(resolveBackupPolicy(undefined, true)).toEqual(DEFAULT_BACKUP_POLICY);
    expect(resolveBackupPolicy(undefined, undefined)).toBeUndefined();
    expect(resolveBackupPolicy(false, true)).toBeUndefined();
    expect(resolveBackupPolicy(true, false)).toEqual(DEFAULT_BACKUP_POLICY);
    expect(resolveBackupPolicy({ multiple: 3 }, false)).toEqual({ ...DEFAULT_BACKUP_POLICY, multiple: 3 });
  });

  it("rejects a policy out of range with an error naming the field", () => {
    expect(() => resolveBackupPolicy({ after: 1.5 }, true)).toThrow(/backupTasks.after/);
    expect(() => resolveBackupPolicy({ multiple: 0.5 }, true)).toThrow(/backupTasks.multiple/);
    expect(() => resolveBackupPolicy({ maxInFlight: 0 }, true)).toThrow(/backupTasks.maxInFlight/);
  });

  it("arms once the given fraction has finished, at the multiple of the median", () => {
    const t = new StragglerThreshold({ ...DEFAULT_BACKUP_POLICY, after: 0.5, multiple: 2 }, 6);
    t.add(100);
    t.add(300);
    expect(t.armed).toBe(false);
    expect(t.thresholdMs).toBe(Infinity);
    t.add(200);
    expect(t.armed).toBe(true);
    expect(t.thresholdMs).toBe(400);
  });
});

describe("backup tasks in a run", () => {
  const job = defineJob({
    name: "slow-first",
    deterministic: true,
    partition: (input: { n: number }) => Array.from({ length: input.n }, (_, i) => i),
    map: (i: number) => ({ task: i, attempt: 0 }),
    reduce: (partials: { task: number }[]) => partials.reduce((a, p) => a + p.task, 0),
    module: import.meta.url,
  });
  const backend = () => timed((req) => (req.taskIndex === 7 && req.attempt === 1 ? 600 : 15), () => ({ billedMs: 15 }));
  const priced = (b: Backend): Backend => ({ ...b, estimateCost: ({ invocations, billedMs }) => invocations * 1e-6 + billedMs * 1e-8 });

  it("is on for a deterministic job: the report counts the backup, its cost, and the summary says so", async () => {
    const { output, report } = await run(job, { n: 8 }, { backend: priced(backend()), concurrency: 4 });
    expect(output).toBe(28);
    expect(report.totals.backups).toMatchObject({ launched: 1, won: 1, wasted: 1 });
    expect(report.totals.backups!.costUsd).toBeGreaterThan(0);
    expect(report.tasks[7]!.backup).toMatchObject({ won: true });
    expect(summarizeReport(report as RunReport).at(-1)).toMatch(/^backup tasks 1 launched, 1 won, 1 wasted/);
  });

  it("is off with backupTasks: false, and the summary has no backup line", async () => {
    const { output, report } = await run(job, { n: 8 }, { backend: backend(), concurrency: 4, backupTasks: false });
    expect(output).toBe(28);
    expect(report.totals.backups).toBeUndefined();
    expect(report.totals.attempts).toBe(8);
    expect(summarizeReport(report).join("\n")).not.toMatch(/backup/);
  });
});

describe("stragglers on demand", () => {
  it("slows about the given share of invocations, the same ones for the same seed, others for another", () => {
    const picks = (seed: number) => Array.from({ length: 4_000 }, (_, n) => straggles({ fraction: 0.05, factor: 10, seed }, n));
    const a = picks(1);
    const share = a.filter(Boolean).length / a.length;
    expect(share).toBeGreaterThan(0.04);
    expect(share).toBeLessThan(0.06);
    expect(picks(1)).toEqual(a);
    expect(picks(2)).not.toEqual(a);
    expect(Array.from({ length: 100 }, (_, n) => straggles({ fraction: 0, factor: 10 }, n)).some(Boolean)).toBe(false);
    expect(Array.from({ length: 100 }, (_, n) => straggles({ fraction: 1, factor: 10 }, n)).every(Boolean)).toBe(true);
  });

  it("parses FRACTIONxFACTOR and percentages, and refuses anything else naming the flag", () => {
    expect(parseStraggle("0.05x10")).toEqual({ fraction: 0.05, factor: 10 });
    expect(parseStraggle("5%x10")).toEqual({ fraction: 0.05, factor: 10 });
    expect(parseStraggle("1X2.5")).toEqual({ fraction: 1, factor: 2.5 });
    for (const bad of ["", "0.05", "x10", "2x10", "0.1x0.5", "0.1xabc"]) expect(() => parseStraggle(bad)).toThrow(/invalid value .* for --straggle/);
  });
});
