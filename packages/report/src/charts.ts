import type { TopLevelSpec } from "vega-lite";
import { assignLanes, binEdges, concurrencyBins, concurrencySeries, histogram, taskLatencies, timeline, timelineCells } from "./model.js";
import type { ReportDocument, RunEntry } from "./schema.js";

/** A chart of a report: a Vega-Lite spec with its data inlined, and the words around it. */
export interface ChartDef {
  /** Stable id: `timeline`, `concurrency`, `latency`, `compare`, `scaling` or `cost`. */
  id: "timeline" | "concurrency" | "latency" | "compare" | "scaling" | "cost";
  title: string;
  description: string;
  spec: TopLevelSpec;
}

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const WIDTH = 720;
const s3 = (ms: number) => Math.round(ms) / 1000;
// Runs get their own palette, so a backend's colour is never mistaken for the timeline's cold-start orange.
const RUN_COLORS = { range: ["#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#666666", "#17becf", "#e6ab02"] };
const TIME_AXIS = { tickCount: 12, labelOverlap: true, labelFlush: true };

/**
 * Above this many tasks in a report, the timeline shows lanes cut into spans of time instead of a bar per task: a
 * browser draws a few thousand bars smoothly, while 100,000 of them make a 25 MB page and an 80 MB SVG.
 */
export const MAX_TIMELINE_BARS = 3_000;
/** Most cells (lanes × spans) of a summarised timeline, all runs together. */
const MAX_TIMELINE_CELLS = 12_000;
/** Above this many points, the tasks-in-flight line is drawn from equal spans of time (peak and mean of each). */
export const MAX_CONCURRENCY_POINTS = 4_000;
/** Spans of a summarised tasks-in-flight chart. */
const CONCURRENCY_BINS = 400;

const KIND_COLORS: Record<string, string> = {
  warm: "#4c78a8",
  "cold start": "#f58518",
  retried: "#b279a2",
  failed: "#e45756",
  cancelled: "#bab0ac",
};

function barKind(bar: { coldStart: boolean; attempts: number; status: string }): string {
  if (bar.status === "failed") return "failed";
  if (bar.status === "cancelled" || bar.status === "pending" || bar.status === "running") return "cancelled";
  if (bar.attempts > 1) return "retried";
  return bar.coldStart ? "cold start" : "warm";
}

/** Facets a unit or layer spec by run when the report has more than one, one row each. */
function byRun<T extends Record<string, unknown>>(runs: readonly RunEntry[], inner: T, independentY: boolean): Record<string, unknown> {
  if (runs.length <= 1) return inner;
  const { width, height, ...rest } = inner as Record<string, unknown>;
  return {
    facet: { row: { field: "run", type: "nominal", sort: runs.map((r) => r.label), title: null, header: { labelAngle: 0, labelAlign: "left", labelFontWeight: "bold" } } },
    spec: { width, height, ...rest },
    ...(independentY ? { resolve: { scale: { y: "independent" } } } : {}),
  };
}

function startedTasks(doc: ReportDocument): number {
  let n = 0;
  for (const run of doc.runs) for (const t of run.report.tasks) if (t.startedAt !== undefined) n++;
  return n;
}

function timelineChart(doc: ReportDocument): ChartDef | undefined {
  if (startedTasks(doc) > MAX_TIMELINE_BARS) return timelineSummaryChart(doc);
  const rows: Record<string, unknown>[] = [];
  let maxLanes = 1;
  const laneOrder: string[] = [];
  for (const run of doc.runs) {
    const tl = timeline(run.report);
    maxLanes = Math.max(maxLanes, tl.lanes.length);
    for (const lane of tl.lanes) if (!laneOrder.includes(lane)) laneOrder.push(lane);
    const prepareEnd = s3(run.report.prepareMs);
    for (const b of tl.bars) {
      rows.push({
        run: run.label,
        task: b.task,
        lane: b.lane,
        worker: b.workerId ?? b.lane,
        start: s3(b.startMs),
        end: s3(b.endMs),
        ms: Math.round((b.endMs - b.startMs) * 10) / 10,
        attempts: b.attempts,
        status: b.status,
        kind: barKind(b),
        cold: b.coldStart,
        prepareEnd,
      });
    }
  }
  if (rows.length === 0) return undefined;
  // Workers (w1, w2... in order of first use), then unnamed slots.
  const laneSort = laneOrder.sort((a, b) => Number(a.startsWith("slot")) - Number(b.startsWith("slot")) || Number(a.replace(/\D/g, "")) - Number(b.replace(/\D/g, "")));
  const kinds = Object.keys(KIND_COLORS).filter((k) => rows.some((r) => r.kind === k));
  const step = Math.max(3, Math.min(18, Math.floor(420 / maxLanes)));
  const inner = {
    width: WIDTH,
    height: { step },
    layer: [
      {
        mark: { type: "bar", cornerRadius: 1 },
        encoding: {
          y: { field: "lane", type: "nominal", sort: laneSort, title: "worker", axis: maxLanes > 40 ? { labels: false, ticks: false } : {} },
          x: { field: "start", type: "quantitative", title: "seconds since the run started", axis: TIME_AXIS },
          x2: { field: "end" },
          color: { field: "kind", type: "nominal", title: "task", scale: { domain: kinds, range: kinds.map((k) => KIND_COLORS[k]) } },
          // Cold starts are outlined in black as well as coloured, so they stand out on retried and failed tasks too
          // (a marker layer would need its own data fork, which faceted independent scales cannot size reliably);
          // other bars get a thin white edge so back-to-back tasks on one worker stay apart.
          stroke: { condition: { test: "datum.cold", value: "#222" }, value: "#fff" },
          strokeWidth: { condition: { test: "datum.cold", value: 1.2 }, value: 0.6 },
          tooltip: [
            { field: "task", type: "quantitative" },
            { field: "worker", type: "nominal" },
            { field: "start", type: "quantitative", title: "start (s)" },
            { field: "end", type: "quantitative", title: "end (s)" },
            { field: "ms", type: "quantitative", title: "latency (ms)" },
            { field: "attempts", type: "quantitative" },
            { field: "kind", type: "nominal" },
          ],
        },
      },
      {
        transform: [{ aggregate: [{ op: "max", field: "prepareEnd", as: "prepareEnd" }], groupby: ["run"] }],
        mark: { type: "rule", strokeDash: [4, 3], color: "#888" },
        encoding: { x: { field: "prepareEnd", type: "quantitative" }, tooltip: [{ field: "prepareEnd", type: "quantitative", title: "tasks start after prepare (s)" }] },
      },
    ],
  };
  const cold = doc.runs.reduce((n, r) => n + r.summary.coldStarts, 0);
  return {
    id: "timeline",
    title: "Task timeline",
    description:
      "One row per worker, container or environment that ran tasks (in order of first use); a bar spans a task from its first start to its result. " +
      `Cold starts are orange and outlined${cold ? "" : " (none in this report)"}; the dashed line marks the end of preparation (bundling, deploying, warming).`,
    spec: { $schema: SCHEMA, data: { values: rows }, ...byRun(doc.runs, inner, true) } as TopLevelSpec,
  };
}

/** The timeline of a large report: each lane in spans of time, shaded by how busy it was. */
function timelineSummaryChart(doc: ReportDocument): ChartDef | undefined {
  const assigned = doc.runs.map((r) => assignLanes(r.report));
  const lanesAll = Math.max(1, assigned.reduce((n, a) => n + a.lanes.length, 0));
  const bins = Math.max(10, Math.min(200, Math.floor(MAX_TIMELINE_CELLS / lanesAll)));
  const rows: Record<string, unknown>[] = [];
  let maxLanes = 1;
  let binSeconds = 0;
  const laneOrder: string[] = [];
  for (const [i, run] of doc.runs.entries()) {
    const { lanes, cells, binMs } = timelineCells(run.report, bins, assigned[i]);
    maxLanes = Math.max(maxLanes, lanes.length);
    binSeconds = Math.max(binSeconds, binMs / 1000);
    for (const lane of lanes) if (!laneOrder.includes(lane)) laneOrder.push(lane);
    for (const c of cells) {
      rows.push({
        run: run.label,
        lane: c.lane,
        start: s3(c.startMs),
        end: s3(c.endMs),
        busy: Math.round(c.busy * 1000) / 1000,
        tasks: c.tasks,
        cold: c.coldStarts,
        retried: c.retried,
        unfinished: c.unfinished,
        edge: c.coldStarts || c.retried || c.unfinished ? "#f58518" : "transparent",
      });
    }
  }
  if (rows.length === 0) return undefined;
  let busiest = 1;
  for (const r of rows) if ((r.busy as number) > busiest) busiest = r.busy as number;
  const laneSort = laneOrder.sort((a, b) => Number(a.startsWith("slot")) - Number(b.startsWith("slot")) || Number(a.replace(/\D/g, "")) - Number(b.replace(/\D/g, "")));
  const step = Math.max(2, Math.min(18, Math.floor(420 / maxLanes)));
  const inner = {
    width: WIDTH,
    // A fixed height, not { step }: vega-lite 6 fails on a step height with independent y scales and a continuous
    // colour scale in one facet ("datum is not defined").
    height: step * maxLanes,
    mark: { type: "rect" },
    encoding: {
      y: { field: "lane", type: "nominal", sort: laneSort, title: "worker", axis: maxLanes > 40 ? { labels: false, ticks: false } : {} },
      x: { field: "start", type: "quantitative", title: "seconds since the run started", axis: TIME_AXIS },
      x2: { field: "end" },
      color: { field: "busy", type: "quantitative", title: "tasks running", scale: { domain: [0, busiest], scheme: "blues" } },
      // Spans where a cold start, a retry or a failure began are outlined, as the per-task timeline colours them.
      // (A colour per row rather than a condition: vega-lite copies conditions into the gradient legend, where there is no datum.)
      stroke: { field: "edge", type: "nominal", scale: null },
      tooltip: [
        { field: "lane", type: "nominal", title: "worker" },
        { field: "start", type: "quantitative", title: "from (s)" },
        { field: "end", type: "quantitative", title: "to (s)" },
        { field: "busy", type: "quantitative", title: "tasks running (mean)", format: ".2f" },
        { field: "tasks", type: "quantitative", title: "tasks started" },
        { field: "cold", type: "quantitative", title: "cold starts" },
        { field: "retried", type: "quantitative" },
        { field: "unfinished", type: "quantitative", title: "failed or cancelled" },
      ],
    },
  };
  const tasks = startedTasks(doc);
  return {
    id: "timeline",
    title: "Task timeline",
    description:
      `${tasks.toLocaleString("en-US")} tasks are too many to draw one by one, so each row (a worker, container or environment, in order of first use) ` +
      `is cut into spans of about ${binSeconds >= 1 ? `${binSeconds.toFixed(1)} s` : `${Math.round(binSeconds * 1000)} ms`}, shaded by the mean number of tasks it was running (1: busy throughout). ` +
      "Spans where a cold start, a retry or a failure began are outlined in orange; the tooltip counts the tasks that started in each.",
    spec: { $schema: SCHEMA, data: { values: rows }, ...byRun(doc.runs, inner, true) } as TopLevelSpec,
  };
}

function concurrencyChart(doc: ReportDocument): ChartDef | undefined {
  // Two points a task at most; summarise when that is more than a line can show.
  if (2 * startedTasks(doc) > MAX_CONCURRENCY_POINTS) return concurrencySummaryChart(doc);
  const rows = doc.runs.flatMap((run) => concurrencySeries(run.report).map((p) => ({ run: run.label, t: s3(p.tMs), inFlight: p.inFlight })));
  if (!doc.runs.some((r) => r.report.tasks.some((t) => t.startedAt !== undefined))) return undefined;
  const several = doc.runs.length > 1;
  return {
    id: "concurrency",
    title: "Tasks in flight",
    description: "How many tasks were running at each moment (a task counts from its first start to its result, retries included).",
    spec: {
      $schema: SCHEMA,
      data: { values: rows },
      width: WIDTH,
      height: 200,
      mark: { type: "line", interpolate: "step-after", strokeWidth: 2 },
      encoding: {
        x: { field: "t", type: "quantitative", title: "seconds since the run started", axis: TIME_AXIS },
        y: { field: "inFlight", type: "quantitative", title: "tasks in flight", axis: { tickMinStep: 1 } },
        ...(several ? { color: { field: "run", type: "nominal", title: "run", sort: doc.runs.map((r) => r.label), scale: RUN_COLORS } } : {}),
        tooltip: [
          ...(several ? [{ field: "run", type: "nominal" }] : []),
          { field: "t", type: "quantitative", title: "time (s)" },
          { field: "inFlight", type: "quantitative", title: "in flight" },
        ],
      },
    } as TopLevelSpec,
  };
}

/** Tasks in flight for a large report: the peak and the mean of each span of time. */
function concurrencySummaryChart(doc: ReportDocument): ChartDef | undefined {
  const rows = doc.runs.flatMap((run) =>
    concurrencyBins(run.report, CONCURRENCY_BINS).flatMap((b) => [
      { run: run.label, t: s3(b.startMs), end: s3(b.endMs), measure: "peak", inFlight: b.max },
      { run: run.label, t: s3(b.startMs), end: s3(b.endMs), measure: "mean", inFlight: Math.round(b.mean * 100) / 100 },
    ]),
  );
  const several = doc.runs.length > 1;
  const inner = {
    width: WIDTH,
    height: 160,
    mark: { type: "line", interpolate: "step-after", strokeWidth: 1.5 },
    encoding: {
      x: { field: "t", type: "quantitative", title: "seconds since the run started", axis: TIME_AXIS },
      y: { field: "inFlight", type: "quantitative", title: "tasks in flight", axis: { tickMinStep: 1 } },
      color: { field: "measure", type: "nominal", title: "in each span", sort: ["peak", "mean"], scale: { domain: ["peak", "mean"], range: ["#4c78a8", "#f58518"] } },
      tooltip: [
        ...(several ? [{ field: "run", type: "nominal" }] : []),
        { field: "t", type: "quantitative", title: "from (s)" },
        { field: "end", type: "quantitative", title: "to (s)" },
        { field: "measure", type: "nominal" },
        { field: "inFlight", type: "quantitative", title: "in flight" },
      ],
    },
  };
  return {
    id: "concurrency",
    title: "Tasks in flight",
    description:
      `How many tasks were running, over ${CONCURRENCY_BINS} equal spans of each run: the most at any moment of a span and the mean over it ` +
      "(too many tasks to draw every change; a task counts from its first start to its result, retries included).",
    spec: { $schema: SCHEMA, data: { values: rows }, ...byRun(doc.runs, inner, false) } as TopLevelSpec,
  };
}

function latencyChart(doc: ReportDocument): ChartDef | undefined {
  const latencies = doc.runs.map((r) => taskLatencies(r.report));
  const all = latencies.flat();
  if (all.length === 0) return undefined;
  // The same bins for every run, so the rows can be compared by eye.
  const edges = binEdges(all, 24);
  const rows = doc.runs.flatMap((run, i) => histogram(latencies[i]!, edges).map((b) => ({ run: run.label, start: b.start, end: b.end, count: b.count })));
  const inner = {
    width: WIDTH,
    height: 160,
    mark: { type: "bar", color: "#4c78a8", binSpacing: 1 },
    encoding: {
      x: { field: "start", type: "quantitative", title: "task latency (ms)", bin: { binned: true, step: edges.step } },
      x2: { field: "end" },
      y: { field: "count", type: "quantitative", title: "tasks", axis: { tickMinStep: 1 } },
      tooltip: [
        { field: "start", type: "quantitative", title: "from (ms)" },
        { field: "end", type: "quantitative", title: "to (ms)" },
        { field: "count", type: "quantitative", title: "tasks" },
      ],
    },
  };
  return {
    id: "latency",
    title: "Task latency",
    description: "How long tasks took from their first start to their result (queueing, cold starts and retries included), in bins of equal width.",
    spec: { $schema: SCHEMA, data: { values: rows }, ...byRun(doc.runs, inner, false) } as TopLevelSpec,
  };
}

function compareChart(doc: ReportDocument): ChartDef | undefined {
  if (doc.kind !== "compare") return undefined;
  const ok = doc.runs.filter((r) => r.status === "succeeded");
  if (ok.length === 0) return undefined;
  const metrics: [string, (r: RunEntry) => number | null | undefined][] = [
    ["wall time (s)", (r) => s3(r.summary.wallMs)],
    ["time to first result (s)", (r) => (r.summary.firstResultMs === null ? null : s3(r.summary.firstResultMs))],
    ["latency p50 (s)", (r) => s3(r.summary.latencyMs.p50)],
    ["latency p95 (s)", (r) => s3(r.summary.latencyMs.p95)],
    ["latency p99 (s)", (r) => s3(r.summary.latencyMs.p99)],
    ["throughput (tasks/s)", (r) => Math.round(r.summary.tasksPerSec * 100) / 100],
    ["cold starts", (r) => r.summary.coldStarts],
    ["retries", (r) => r.summary.retries],
    ["est. cost ($)", (r) => r.summary.costUsd],
  ];
  const rows: Record<string, unknown>[] = [];
  for (const [metric, get] of metrics) {
    const values = ok.map((r) => [r.label, get(r)] as const);
    // Figures that are missing or zero everywhere (no cost model, no retries) say nothing as bars; the table has them.
    if (values.every(([, v]) => v === undefined || v === null || v === 0)) continue;
    for (const [run, value] of values) if (value !== undefined && value !== null) rows.push({ metric, run, value });
  }
  const order = metrics.map(([m]) => m);
  const panels = new Set(rows.map((r) => r.metric)).size;
  // Three or four panels a row, whichever leaves fewer empty cells.
  const columns = panels <= 4 ? panels : (4 - (panels % 4)) % 4 < (3 - (panels % 3)) % 3 ? 4 : 3;
  return {
    id: "compare",
    title: "Backends side by side",
    description: "The same job and input on each backend that ran. Times in seconds from the start of each run (preparation included); each panel has its own scale.",
    spec: {
      $schema: SCHEMA,
      data: { values: rows },
      facet: { field: "metric", type: "nominal", sort: order, title: null, header: { labelFontWeight: "bold" } },
      columns,
      spec: {
        width: columns === 4 ? 160 : 200,
        height: 130,
        mark: { type: "bar" },
        encoding: {
          x: { field: "run", type: "nominal", sort: ok.map((r) => r.label), title: null, axis: { labelAngle: 0 } },
          y: { field: "value", type: "quantitative", title: null },
          color: { field: "run", type: "nominal", sort: ok.map((r) => r.label), legend: null, scale: RUN_COLORS },
          tooltip: [
            { field: "run", type: "nominal" },
            { field: "metric", type: "nominal" },
            { field: "value", type: "quantitative" },
          ],
        },
      },
      resolve: { scale: { y: "independent" } },
    } as TopLevelSpec,
  };
}

function scalingChart(doc: ReportDocument): ChartDef | undefined {
  if (doc.kind !== "scale" || doc.scaling.points.length === 0) return undefined;
  const { points, baselineLevel, basis } = doc.scaling;
  const levels = points.map((p) => p.level);
  const rows = points.map((p) => ({
    level: p.level,
    speedup: Math.round(p.speedup * 1000) / 1000,
    ideal: p.level / baselineLevel,
    efficiency: Math.round(p.efficiency * 1000) / 1000,
    wall: s3(p.wallMs),
    execute: s3(p.executeMs),
  }));
  const x = { field: "level", type: "quantitative", title: "workers", scale: { type: "log", base: 2, nice: false }, axis: { values: levels, format: "d" } };
  const tooltip = [
    { field: "level", type: "quantitative", title: "workers" },
    { field: "speedup", type: "quantitative" },
    { field: "efficiency", type: "quantitative", format: ".0%" },
    { field: "wall", type: "quantitative", title: "wall (s)" },
    { field: "execute", type: "quantitative", title: "execute (s)" },
  ];
  return {
    id: "scaling",
    title: "Speedup and parallel efficiency",
    description:
      `Against ${baselineLevel} worker${baselineLevel === 1 ? "" : "s"}, by ${basis === "execute" ? "execute time (first invocation to last result)" : "wall time (the whole run)"}. ` +
      "The dashed line is perfect scaling.",
    spec: {
      $schema: SCHEMA,
      data: { values: rows },
      hconcat: [
        {
          title: "speedup",
          width: 230,
          height: 200,
          layer: [
            {
              mark: { type: "line", strokeDash: [5, 4], color: "#999" },
              encoding: { x, y: { field: "ideal", type: "quantitative", scale: { type: "log", base: 2, nice: false } } },
            },
            {
              mark: { type: "line", point: true, color: "#4c78a8" },
              encoding: { x, y: { field: "speedup", type: "quantitative", title: "speedup (×)" }, tooltip },
            },
          ],
        },
        {
          title: "parallel efficiency",
          width: 230,
          height: 200,
          layer: [
            { mark: { type: "rule", strokeDash: [5, 4], color: "#999" }, encoding: { y: { datum: 1, type: "quantitative" } } },
            {
              mark: { type: "line", point: true, color: "#f58518" },
              encoding: {
                x,
                y: { field: "efficiency", type: "quantitative", title: "efficiency", axis: { format: ".0%" }, scale: { domainMin: 0 } },
                tooltip,
              },
            },
          ],
        },
        {
          title: `${basis} time`,
          width: 230,
          height: 200,
          mark: { type: "bar", color: "#54a24b" },
          encoding: {
            x: { field: "level", type: "ordinal", title: "workers", sort: levels, axis: { labelAngle: 0 } },
            y: { field: basis, type: "quantitative", title: `${basis} time (s)` },
            tooltip,
          },
        },
      ],
    } as TopLevelSpec,
  };
}

/** Cost against time per task, one point per configuration that ran, the Pareto front joined by a line. */
function costChart(doc: ReportDocument): ChartDef | undefined {
  if (doc.kind !== "cost") return undefined;
  const { configurations, recommendation: rec } = doc.cost;
  const usd = rec.basis === "usd";
  const rows = configurations
    .filter((c) => c.status === "succeeded" && c.measure && c.measure.tasks > 0)
    .map((c) => {
      const m = c.measure!;
      const picks = [rec.cheapest === c.label ? "cheapest" : "", rec.fastest === c.label ? "fastest" : "", rec.balanced === c.label ? "balanced" : ""].filter(Boolean).join(", ");
      return {
        configuration: c.label,
        memory: c.memoryMb,
        arch: c.arch ?? "default",
        p50: Math.round(m.taskMs.p50 * 10) / 10,
        p95: Math.round(m.taskMs.p95 * 10) / 10,
        cost: usd ? m.costPerTaskUsd! : m.gbSecondsPerTask,
        job: usd ? m.jobCostUsd! : m.jobGbSeconds,
        front: c.pareto ? "on the Pareto front" : "dominated",
        pareto: c.pareto,
        pick: picks,
        tag: `${c.memoryMb} MB${picks ? ` (${picks})` : ""}`,
      };
    });
  if (rows.length === 0) return undefined;
  const arches = [...new Set(rows.map((r) => r.arch))];
  const costTitle = usd ? "cost per task (US$)" : "billed GB-seconds per task";
  // Memory from 128 MB to 10 GB spans times a hundredfold apart on real Lambda: a log axis keeps the fast ones apart.
  const times = rows.map((r) => r.p50).filter((t) => t > 0);
  const logTime = times.length === rows.length && Math.max(...times) / Math.min(...times) >= 8;
  const x = { field: "p50", type: "quantitative", title: `time per task, p50 (ms${logTime ? ", log scale" : ""})`, scale: logTime ? { type: "log" } : { zero: false, nice: true } };
  const y = { field: "cost", type: "quantitative", title: costTitle, scale: { zero: false, nice: true }, axis: { format: usd ? ".3~e" : ".3~g" } };
  const tooltip = [
    { field: "configuration", type: "nominal" },
    { field: "p50", type: "quantitative", title: "p50 per task (ms)" },
    { field: "p95", type: "quantitative", title: "p95 per task (ms)" },
    { field: "cost", type: "quantitative", title: costTitle, format: ".4~e" },
    { field: "job", type: "quantitative", title: usd ? "whole job (US$)" : "whole job (GB-s)", format: ".4~g" },
    { field: "front", type: "nominal", title: "Pareto" },
    { field: "pick", type: "nominal", title: "recommended as" },
  ];
  return {
    id: "cost",
    title: "Cost against time per task",
    description:
      `One point per configuration that ran (${rows.length}); diamonds are on the Pareto front (no other configuration is both faster and cheaper), joined by the line. ` +
      `Cost ${usd ? "per task in US dollars, from the billed durations and the price table" : "as billed GB-seconds per task (no price given)"}; time is the function's own duration per task, p50.`,
    spec: {
      $schema: SCHEMA,
      width: WIDTH - 120,
      height: 340,
      data: { values: rows },
      layer: [
        {
          transform: [{ filter: "datum.pareto" }],
          mark: { type: "line", color: "#999", strokeDash: [5, 4] },
          encoding: { x, y, order: { field: "p50", type: "quantitative" } },
        },
        {
          mark: { type: "point", filled: true, size: 110, opacity: 0.9 },
          encoding: {
            x,
            y,
            color: { field: "arch", type: "nominal", title: "architecture", sort: arches, scale: RUN_COLORS, ...(arches.length === 1 ? { legend: null } : {}) },
            shape: { field: "front", type: "nominal", title: null, scale: { domain: ["on the Pareto front", "dominated"], range: ["diamond", "circle"] } },
            tooltip,
          },
        },
        {
          mark: { type: "text", align: "left", dx: 9, dy: -7, fontSize: 11, color: "#333" },
          encoding: { x, y, text: { field: "tag", type: "nominal" } },
        },
      ],
    } as TopLevelSpec,
  };
}

/** The charts of a report, the main one first; charts without data are left out. */
export function reportCharts(doc: ReportDocument): ChartDef[] {
  const charts = [costChart(doc), compareChart(doc), scalingChart(doc), timelineChart(doc), concurrencyChart(doc), latencyChart(doc)];
  return charts.filter((c): c is ChartDef => c !== undefined);
}
