import { mkdtemp, open, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { MAX_CONCURRENCY_POINTS, MAX_TIMELINE_BARS, reportCharts } from "../src/charts.js";
import { compareDocument, runDocument, scaleDocument } from "../src/document.js";
import { jsonChunks } from "../src/json.js";
import { assignLanes, concurrencyBins, concurrencySeries, runEndMs, summarizeRun, timeline, timelineCells } from "../src/model.js";
import { compareOutputs } from "../src/outputs.js";
import { renderSvg } from "../src/svg.js";
import { writeReport } from "../src/write.js";
import { fakeReport, manyTasksReport } from "./fixtures.js";

const chartData = (doc: Parameters<typeof reportCharts>[0], id: string) =>
  ((reportCharts(doc).find((c) => c.id === id)!.spec as { data: { values: Record<string, unknown>[] } }).data.values);

describe("reports of many tasks", () => {
  it("writes a report of a million tasks: summarised charts, a page of bounded size, report.json one task per line", async () => {
    const dir = await mkdtemp(join(tmpdir(), "superfaas-report-1m-"));
    try {
      const report = manyTasksReport(1_000_000, 4);
      const written = await writeReport(dir, runDocument({ report, output: 1 }));
      // The page holds charts of a few thousand marks, not a million: about a megabyte of which most is Vega itself.
      expect((await stat(written.html)).size).toBeLessThan(3_000_000);
      for (const svg of written.svg) expect((await stat(svg)).size).toBeLessThan(2_000_000);
      const html = await readFile(written.html, "utf8");
      expect(html).toContain("1,000,000 tasks are too many to draw one by one");
      // report.json keeps every record, one per line, and ends as a whole document.
      const file = await open(written.json);
      try {
        const size = (await file.stat()).size;
        const tail = Buffer.alloc(400);
        await file.read(tail, 0, 400, size - 400);
        expect(tail.toString()).toMatch(/\n {10}\{"index":999999,[^\n]*\}\n {8}\]\n {6}\}\n {4}\}\n {2}\],\n {2}"skipped": \[\]\n\}\n$/);
      } finally {
        await file.close();
      }
      expect(summarizeRun(report).firstResultMs).toBeCloseTo(26.1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("summarises a comparison of 200,000 tasks a backend without overflowing the stack, in charts Vega can draw", async () => {
    const a = manyTasksReport(200_000, 8);
    const b = manyTasksReport(200_000, 8, { backend: "lambda", workerIds: false });
    const doc = compareDocument({
      job: "many",
      input: a.input,
      runs: [
        { label: "local", report: a, output: 1 },
        { label: "lambda", report: b, output: 1 },
      ],
      comparison: compareOutputs([
        { label: "local", output: 1, hasOutput: true },
        { label: "lambda", output: 1, hasOutput: true },
      ]),
    });
    expect(doc.runs.map((r) => r.summary.workers)).toEqual([8, 0]);
    const cells = chartData(doc, "timeline");
    expect(cells.length).toBeLessThanOrEqual(12_000);
    expect(new Set(cells.map((c) => c.run))).toEqual(new Set(["local", "lambda"]));
    expect(chartData(doc, "concurrency").length).toBe(2 * 2 * 400);
    // Vega logs expression errors instead of throwing them.
    const logged = vi.spyOn(console, "error");
    try {
      for (const chart of reportCharts(doc)) expect(await renderSvg(chart.spec)).toMatch(/^<svg/);
      expect(logged).not.toHaveBeenCalled();
    } finally {
      logged.mockRestore();
    }
  });

  it("draws a bar per task up to the limit and summarises above it, for scaling reports too", () => {
    const small = scaleDocument({ job: "many", input: {}, runs: [{ level: 1, report: manyTasksReport(MAX_TIMELINE_BARS, 1), output: 1 }] });
    expect(chartData(small, "timeline")).toHaveLength(MAX_TIMELINE_BARS);
    expect(chartData(small, "timeline")[0]).toHaveProperty("task");
    const big = scaleDocument({ job: "many", input: {}, runs: [{ level: 1, report: manyTasksReport(MAX_TIMELINE_BARS + 1, 1), output: 1 }] });
    expect(chartData(big, "timeline")[0]).toHaveProperty("busy");
    expect(chartData(runDocument({ report: manyTasksReport(MAX_CONCURRENCY_POINTS / 2, 2) }), "concurrency")[0]).toHaveProperty("inFlight");
    expect(chartData(runDocument({ report: manyTasksReport(MAX_CONCURRENCY_POINTS / 2 + 1, 2) }), "concurrency")[0]).toHaveProperty("measure");
  });
});

const tasksArb = fc.array(
  fc.record({ start: fc.integer({ min: 0, max: 1000 }), len: fc.integer({ min: 0, max: 300 }), worker: fc.option(fc.constantFrom("a", "b", "c"), { nil: undefined }) }),
  { minLength: 1, maxLength: 40 },
);
const fake = (ts: { start: number; len: number; worker: string | undefined }[]) =>
  fakeReport(ts.map((t) => ({ start: t.start, end: t.start + t.len, ...(t.worker ? { worker: t.worker } : {}) })));

describe("summarised timeline and tasks in flight", () => {
  it("puts every task in the lane the per-task timeline gives it", () => {
    fc.assert(
      fc.property(tasksArb, (ts) => {
        const r = fake(ts);
        const { lanes, laneOf } = assignLanes(r);
        const tl = timeline(r);
        expect(lanes).toEqual(tl.lanes);
        for (const bar of tl.bars) expect(lanes[laneOf[bar.task]!]).toBe(bar.lane);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps each lane's busy time and every task start when cutting lanes into spans", () => {
    fc.assert(
      fc.property(tasksArb, fc.integer({ min: 1, max: 30 }), (ts, bins) => {
        const r = fake(ts);
        const { cells, binMs } = timelineCells(r, bins);
        const tl = timeline(r);
        expect(cells.reduce((n, c) => n + c.tasks, 0)).toBe(tl.bars.length);
        for (const lane of tl.lanes) {
          const busy = tl.bars.filter((b) => b.lane === lane).reduce((s, b) => s + b.endMs - b.startMs, 0);
          const summed = cells.filter((c) => c.lane === lane).reduce((s, c) => s + c.busy * binMs, 0);
          expect(summed).toBeCloseTo(busy, 6);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("gives each span the peak and the time-weighted mean of the exact step function", () => {
    fc.assert(
      fc.property(tasksArb, fc.integer({ min: 1, max: 30 }), (ts, n) => {
        const r = fake(ts);
        const series = concurrencySeries(r);
        const end = runEndMs(r);
        const bins = concurrencyBins(r, n);
        const binMs = end / n;
        // The level at time t is the last point at or before t; integrate it over each bin.
        for (const [b, bin] of bins.entries()) {
          const lo = b * binMs;
          const hi = (b + 1) * binMs;
          let area = 0;
          let peak = 0;
          for (const [i, p] of series.entries()) {
            const next = series[i + 1]?.tMs ?? end;
            const overlap = Math.min(hi, next) - Math.max(lo, p.tMs);
            if (overlap > 0) area += overlap * p.inFlight;
            if (overlap > 0 || (p.tMs >= lo && p.tMs < hi)) peak = Math.max(peak, p.inFlight);
          }
          expect(bin.mean).toBeCloseTo(area / binMs, 6);
          expect(bin.max).toBeGreaterThanOrEqual(peak);
          expect(bin.max).toBeLessThanOrEqual(Math.max(...series.map((p) => p.inFlight)));
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe("jsonChunks", () => {
  it("writes the same JSON as JSON.stringify, with tasks arrays one element per line", () => {
    const task = fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 2 }), fc.array(fc.array(task, { maxLength: 5 }), { maxLength: 3 }), (other, lists) => {
        const value = { other, runs: lists.map((tasks) => ({ report: { tasks } })), tasks: lists[0] ?? [] };
        const text = [...jsonChunks(value)].join("");
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(text.endsWith("\n")).toBe(true);
        for (const tasks of lists) for (const t of tasks) expect(text).toContain(`${JSON.stringify(t)}`);
      }),
      { numRuns: 200 },
    );
  });
});
