import { describe, expect, it } from "vitest";
import { chooseTaskCount, coarseTaskCount, defineJob, fineTaskCount, MIN_WAVES, run, splitRange, STRAGGLER_FLOOR, type Backend } from "../src/index.js";

const base = { concurrency: 8, overheadMs: 50, workMs: 8 * 4_000, spread: 0, maxTasks: 1_000_000 };

describe("chooseTaskCount (the rule, a pure function of the measurements)", () => {
  it("gives whole waves: a multiple of the concurrency, at least one task per slot", () => {
    for (const overheadMs of [0.1, 5, 50, 500, 5_000]) {
      for (const workMs of [10, 1_000, 100_000, 10_000_000]) {
        const d = chooseTaskCount({ ...base, overheadMs, workMs });
        expect(d.tasks % base.concurrency).toBe(0);
        expect(d.tasks).toBeGreaterThanOrEqual(base.concurrency);
        expect(d.waves).toBe(d.tasks / base.concurrency);
      }
    }
  });

  it("makes fewer tasks as the per-invocation overhead grows, and more as the work grows (the square-root law)", () => {
    const byOverhead = [1, 10, 100, 1_000].map((overheadMs) => chooseTaskCount({ ...base, overheadMs, workMs: 8 * 400_000 }).tasks);
    expect(byOverhead).toEqual([...byOverhead].sort((a, b) => b - a));
    expect(byOverhead[0]).toBeGreaterThan(byOverhead[3]!);
    const byWork = [1_000, 100_000, 10_000_000].map((workMs) => chooseTaskCount({ ...base, overheadMs: 10, workMs: 8 * workMs }).tasks);
    expect(byWork).toEqual([...byWork].sort((a, b) => a - b));
    // m* = sqrt(s·W/(c·o)): 100× the work per slot is about 10× the waves.
    const [a, b] = [chooseTaskCount({ ...base, overheadMs: 1, workMs: 8 * 40_000 }), chooseTaskCount({ ...base, overheadMs: 1, workMs: 8 * 4_000_000 })];
    expect(b.waves / a.waves).toBeGreaterThan(8);
    expect(b.waves / a.waves).toBeLessThan(12);
  });

  it("keeps at least three waves to absorb stragglers while their overhead stays within 10% of the work, and one wave when it would not", () => {
    // 4 s of work per slot and 50 ms overhead: the optimum is ~4 waves, and 3 are affordable.
    const d = chooseTaskCount(base);
    expect(d.waves).toBeGreaterThanOrEqual(MIN_WAVES);
    expect(d.waves * base.overheadMs).toBeLessThanOrEqual(0.1 * 4_000);
    // 200 ms of work per slot and 50 ms overhead: one wave.
    expect(chooseTaskCount({ ...base, workMs: 8 * 200 }).waves).toBe(1);
  });

  it("raises the straggler share with the measured spread of task times, and with it the task count", () => {
    const even = chooseTaskCount({ ...base, overheadMs: 5 });
    const uneven = chooseTaskCount({ ...base, overheadMs: 5, spread: 0.5 });
    expect(even.straggler).toBe(STRAGGLER_FLOOR);
    expect(uneven.straggler).toBeCloseTo(0.5 * Math.sqrt(2 * Math.log(8)), 6);
    expect(uneven.tasks).toBeGreaterThan(even.tasks);
  });

  it("stays within the bounds: the most tasks the run may have, and one task at least", () => {
    expect(chooseTaskCount({ ...base, overheadMs: 0, maxTasks: 100 }).tasks).toBe(100);
    expect(chooseTaskCount({ ...base, concurrency: 1, workMs: 0, maxTasks: 1 }).tasks).toBe(1);
    expect(chooseTaskCount({ ...base, spread: Number.NaN }).spread).toBe(0);
  });

  it("picks the count whose modelled wall time is least among whole-wave counts", () => {
    for (const overheadMs of [2, 20, 200]) {
      const m = { ...base, overheadMs, workMs: 8 * 10_000, spread: 0.2 };
      const d = chooseTaskCount(m);
      const s = d.straggler;
      const model = (waves: number) => waves * overheadMs + m.workMs / 8 + (s * m.workMs) / (waves * 8);
      const best = Math.min(...Array.from({ length: 200 }, (_, i) => model(i + 1)));
      // Rounding to whole waves (and the straggler floor of 3 waves) costs at most a few percent.
      expect(model(d.waves)).toBeLessThanOrEqual(best * 1.05);
    }
  });

  it("explains itself in one sentence", () => {
    expect(chooseTaskCount(base).reason).toMatch(/^32 tasks \(4 per slot, 8 slots\): 50 ms overhead per invocation and 4\.00 s of work per slot; /);
  });

  it("cuts the probe's fine partition at 256 tasks per slot and the coarse one 8 times coarser, within the bounds", () => {
    expect(fineTaskCount(4, 1e6)).toBe(1024);
    expect(fineTaskCount(4, 300)).toBe(300);
    expect(fineTaskCount(10_000, 1e9)).toBe(65_536);
    expect(coarseTaskCount(1024)).toBe(128);
  });
});

describe("run with tasks: auto", () => {
  // A backend with a fixed cost per invocation (as a platform's) and work proportional to the task's size.
  const platform = (overheadMs: number, msPerUnit: number): Backend & { invocations: number } => {
    const b = {
      name: "timed",
      facts: { defaultConcurrency: 4 },
      invocations: 0,
      prepare: async () => {},
      dispose: async () => {},
      async invoke(req: { task: unknown }) {
        b.invocations++;
        const { start, count } = req.task as { start: number; count: number };
        const work = count * msPerUnit;
        await new Promise((r) => setTimeout(r, overheadMs + work));
        let sum = 0;
        for (let i = start; i < start + count; i++) sum += i;
        return { partial: sum, durationMs: work, coldStart: false };
      },
    };
    return b;
  };
  const sum = defineJob({
    name: "sum-range",
    module: import.meta.url,
    partition: (input: { n: number }, plan) => splitRange(input.n, plan.tasks),
    map: ({ start, count }: { start: number; count: number }) => {
      let s = 0;
      for (let i = start; i < start + count; i++) s += i;
      return s;
    },
    reduce: (partials: number[]) => partials.reduce((a, b) => a + b, 0),
  });

  it("probes the backend, reports the measured overhead and work, runs the chosen count, and gets the exact output", async () => {
    const backend = platform(30, 0.05);
    const lines: string[] = [];
    const n = 40_000; // 2 s of work in all, 0.5 s per slot
    const { output, report } = await run(sum, { n }, { backend, tasks: "auto", log: (m) => lines.push(m) });
    expect(output).toBe((n * (n - 1)) / 2);
    const d = report.autoTasks!;
    expect(d).toBeDefined();
    expect(report.totals.tasks).toBe(d.tasks);
    expect(d.tasks % 4).toBe(0);
    expect(d.fineTasks).toBe(1024);
    expect(d.probeTasks).toBe(8); // warm from the start: one fine wave and one coarse wave
    expect(backend.invocations).toBe(d.probeTasks + d.tasks);
    // The work comes from the durations the platform reports (count × 0.05 ms, exact whatever the load): 2 s in all.
    expect(d.workMs).toBeGreaterThan(1_990);
    expect(d.workMs).toBeLessThan(2_010);
    // The overhead is measured through timers, which a loaded machine only delays: never under the platform's 30 ms
    // (less a timer's millisecond of rounding). How close it comes on a quiet machine is the bench's to say
    // (`node bench/run.mjs autotasks`: measured / injected overhead).
    expect(d.overheadMs).toBeGreaterThanOrEqual(29);
    // The sentence states the measured figure.
    const stated = /: ([\d.]+) (ms|s) overhead per invocation/.exec(d.reason);
    expect(stated, d.reason).not.toBeNull();
    expect(Number(stated![1]) * (stated![2] === "s" ? 1000 : 1)).toBeCloseTo(d.overheadMs, -1);
    expect(lines.filter((l) => l.startsWith("tasks auto: "))).toEqual([
      "tasks auto: probing timed with 4 fine and 4 coarse tasks (of 1024 and 128)",
      expect.stringMatching(new RegExp(`^tasks auto: ${d.tasks} tasks \\(${d.tasks / 4} per slot, 4 slots\\): .* \\(measured on 8 probe tasks of 1024\\)$`)),
    ]);
  });

  it("leaves a job whose partition ignores plan.tasks as it is, without a probe", async () => {
    const backend = platform(0, 0);
    const fixed = defineJob({ ...sum, name: "fixed", partition: () => splitRange(1000, 10) });
    const { output, report } = await run(fixed, { n: 0 }, { backend, tasks: "auto" });
    expect(output).toBe((1000 * 999) / 2);
    expect(report.autoTasks).toBeUndefined();
    expect(backend.invocations).toBe(10);
  });
});
