import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { binEdges, concurrencySeries, histogram, niceStep, scalingPoints, summarizeRun, taskLatencies, timeline } from "../src/model.js";
import { fakeReport, type FakeTask } from "./fixtures.js";

describe("timeline", () => {
  it("gives each reported worker a row, numbered by first use, and keeps tasks in their worker's row", () => {
    const r = fakeReport([
      { start: 30, end: 50, worker: "container-b" },
      { start: 10, end: 40, worker: "container-a", cold: true },
      { start: 12, end: 30, worker: "container-b", cold: true },
      { start: 40, end: 60, worker: "container-a" },
    ]);
    const tl = timeline(r);
    expect(tl.lanes).toEqual(["w1", "w2"]);
    expect(tl.bars.map((b) => [b.task, b.lane, b.workerId, b.coldStart])).toEqual([
      [1, "w1", "container-a", true],
      [2, "w2", "container-b", true],
      [0, "w2", "container-b", false],
      [3, "w1", "container-a", false],
    ]);
  });

  it("packs tasks without a worker id into the fewest slots that never overlap", () => {
    const r = fakeReport([
      { start: 0, end: 10 },
      { start: 5, end: 15 },
      { start: 10, end: 20 }, // fits after the first in slot 1: touching is not overlapping
      { start: 12, end: 14 }, // three in flight here
    ]);
    const tl = timeline(r);
    expect(tl.lanes).toEqual(["slot 1", "slot 2", "slot 3"]);
    expect(tl.bars.map((b) => b.lane)).toEqual(["slot 1", "slot 2", "slot 1", "slot 3"]);
  });

  it("never puts overlapping tasks in one slot, and uses as many slots as the peak concurrency", () => {
    const task = fc.record({ start: fc.integer({ min: 0, max: 1000 }), len: fc.integer({ min: 1, max: 300 }) });
    fc.assert(
      fc.property(fc.array(task, { minLength: 1, maxLength: 40 }), (ts) => {
        const r = fakeReport(ts.map((t) => ({ start: t.start, end: t.start + t.len })));
        const tl = timeline(r);
        const byLane = new Map<string, { startMs: number; endMs: number }[]>();
        for (const b of tl.bars) byLane.set(b.lane, [...(byLane.get(b.lane) ?? []), b]);
        for (const bars of byLane.values()) {
          bars.sort((a, b) => a.startMs - b.startMs);
          for (let i = 1; i < bars.length; i++) expect(bars[i]!.startMs).toBeGreaterThanOrEqual(bars[i - 1]!.endMs);
        }
        const peak = Math.max(...concurrencySeries(r).map((p) => p.inFlight));
        expect(tl.lanes.length).toBe(peak); // greedy interval partitioning is optimal
      }),
      { numRuns: 150 },
    );
  });

  it("draws tasks cut short by a failure up to the end of the run and leaves out tasks that never started", () => {
    const r = fakeReport([{ start: 5, end: 50, worker: "a" }, { start: 6, worker: "b", status: "cancelled" }, {}], { prepareMs: 4 });
    const tl = timeline(r);
    expect(tl.bars).toHaveLength(2);
    expect(tl.bars[1]).toMatchObject({ task: 1, startMs: 6, endMs: r.prepareMs + r.executeMs, status: "cancelled" });
  });
});

describe("concurrencySeries", () => {
  it("steps up and down as tasks start and end, from 0 back to 0", () => {
    const r = fakeReport([
      { start: 10, end: 30 },
      { start: 20, end: 40 },
      { start: 30, end: 35 }, // starts as the first ends: no spike to 3
    ]);
    expect(concurrencySeries(r)).toEqual([
      { tMs: 0, inFlight: 0 },
      { tMs: 10, inFlight: 1 },
      { tMs: 20, inFlight: 2 },
      { tMs: 35, inFlight: 1 },
      { tMs: 40, inFlight: 0 },
    ]);
  });

  it("matches a brute-force count at every instant", () => {
    const task = fc.record({ start: fc.integer({ min: 0, max: 200 }), len: fc.integer({ min: 0, max: 80 }) });
    fc.assert(
      fc.property(fc.array(task, { maxLength: 30 }), (ts) => {
        const r = fakeReport(ts.map((t) => ({ start: t.start, end: t.start + t.len })));
        const series = concurrencySeries(r);
        expect(series[0]!.tMs).toBe(0);
        expect(series[series.length - 1]!.inFlight).toBe(0);
        for (let i = 1; i < series.length; i++) expect(series[i]!.tMs).toBeGreaterThan(series[i - 1]!.tMs);
        const at = (t: number) => [...series].reverse().find((p) => p.tMs <= t)!.inFlight;
        for (let t = 0; t <= 300; t += 0.5) expect(at(t)).toBe(ts.filter((x) => x.start <= t && t < x.start + x.len).length);
      }),
      { numRuns: 80 },
    );
  });
});

describe("histogram", () => {
  it("picks nice steps", () => {
    expect([0.7, 1, 1.2, 2.2, 3, 7, 12, 0.031, 180].map(niceStep)).toEqual([1, 1, 2, 2.5, 5, 10, 20, 0.05, 200]);
  });

  it("bins latencies into equal, nicely rounded bins", () => {
    const bins = histogram([3, 7, 12, 18, 19, 41]);
    expect(bins).toEqual([
      { start: 0, end: 10, count: 2 },
      { start: 10, end: 20, count: 3 },
      { start: 20, end: 30, count: 0 },
      { start: 30, end: 40, count: 0 },
      { start: 40, end: 50, count: 1 },
    ]);
  });

  it("bins values that differ only in their last digits (the edges' rounding never passes them)", () => {
    const values = [999999.9999995001, 999999.9999995002];
    for (const maxBins of [1, 2, 20]) {
      const bins = histogram(values, binEdges(values, maxBins));
      expect(bins.length).toBeGreaterThan(0);
      expect(bins.length).toBeLessThanOrEqual(maxBins);
      expect(bins.reduce((n, b) => n + b.count, 0)).toBe(2);
    }
  });

  it("ends the last bin above a largest value that the rounded quotient puts on an edge", () => {
    // Found by the property below (seed 42151597): 1e6 - 999999.8 is 0.1999999999534 in binary floating point.
    for (const maxBins of [1, 2, 20]) {
      const values = [999999.8, 1_000_000];
      const bins = histogram(values, binEdges(values, maxBins));
      expect(bins.length).toBeLessThanOrEqual(maxBins);
      expect(bins.reduce((n, b) => n + b.count, 0)).toBe(2);
      expect(bins.at(-1)!.end).toBeGreaterThan(1_000_000);
      for (const v of values) expect(bins.some((b) => b.start <= v && v < b.end && b.count > 0)).toBe(true);
    }
  });

  it("gives one bin to values that are all equal, and none to no values", () => {
    expect(histogram([250, 250, 250])).toEqual([{ start: 250, end: 275, count: 3 }]);
    expect(histogram([])).toEqual([]);
  });

  it("counts every value exactly once, in the bin that holds it, within the bin limit", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 40 }),
        (values, maxBins) => {
          const edges = binEdges(values, maxBins);
          expect(edges.count).toBeLessThanOrEqual(maxBins);
          const bins = histogram(values, edges);
          expect(bins.reduce((s, b) => s + b.count, 0)).toBe(values.length);
          for (let i = 1; i < bins.length; i++) expect(bins[i]!.start).toBe(bins[i - 1]!.end);
          expect(bins[0]!.start).toBeLessThanOrEqual(Math.min(...values));
          expect(bins[bins.length - 1]!.end).toBeGreaterThan(Math.max(...values));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("measures latency from first start to result, for tasks that succeeded", () => {
    const r = fakeReport([{ start: 10, end: 25 }, { start: 11, end: 12, status: "failed" }, { start: 12, end: 50 }]);
    expect(taskLatencies(r)).toEqual([15, 38]);
  });
});

describe("scalingPoints", () => {
  const sample = (level: number, executeMs: number, wallMs = executeMs + 100) => ({ label: `x${level}`, level, executeMs, wallMs });

  it("computes speedup T1/Tn and efficiency speedup/n against one worker", () => {
    const { baselineLevel, points } = scalingPoints([sample(4, 300), sample(1, 1000), sample(2, 520)]);
    expect(baselineLevel).toBe(1);
    expect(points.map((p) => p.level)).toEqual([1, 2, 4]);
    expect(points.map((p) => p.speedup)).toEqual([1, 1000 / 520, 1000 / 300]);
    expect(points[1]!.efficiency).toBeCloseTo(1000 / 520 / 2, 12);
    expect(points[2]!.efficiency).toBeCloseTo(1000 / 300 / 4, 12);
  });

  it("measures against the smallest level when it is not 1", () => {
    const { baselineLevel, points } = scalingPoints([sample(2, 800), sample(8, 250)]);
    expect(baselineLevel).toBe(2);
    expect(points[1]!.speedup).toBeCloseTo(3.2, 12);
    expect(points[1]!.efficiency).toBeCloseTo(3.2 / 4, 12); // 4 times the workers of the baseline
  });

  it("can divide wall time instead of execute time", () => {
    const { points } = scalingPoints([sample(1, 1000, 1500), sample(2, 500, 1000)], "wall");
    expect(points[1]!.speedup).toBe(1.5);
    expect(points[1]!.efficiency).toBe(0.75);
  });

  it("gives perfect scaling speedup n and efficiency 1", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 512 }), { minLength: 1, maxLength: 8 }), fc.double({ min: 1, max: 1e6, noNaN: true }), (levels, work) => {
        const { baselineLevel, points } = scalingPoints(levels.map((n) => sample(n, work / n)));
        for (const p of points) {
          expect(p.speedup).toBeCloseTo(p.level / baselineLevel, 9);
          expect(p.efficiency).toBeCloseTo(1, 9);
        }
      }),
    );
  });
});

describe("summarizeRun", () => {
  it("takes the first result, worker count and totals from the report", () => {
    const tasks: FakeTask[] = [
      { start: 100, end: 180, worker: "a", cold: true },
      { start: 101, end: 150, worker: "b", cold: true },
      { start: 181, end: 200, worker: "a", attempts: 2 },
    ];
    const s = summarizeRun(fakeReport(tasks, { prepareMs: 90, costUsd: 0.001 }));
    expect(s).toMatchObject({ firstResultMs: 150, workers: 2, coldStarts: 2, retries: 1, tasks: 3, succeeded: 3, prepareMs: 90, costUsd: 0.001 });
    expect(summarizeRun(fakeReport([{ start: 1, end: 2, status: "failed" }])).firstResultMs).toBeNull();
  });
});
