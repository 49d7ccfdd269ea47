import type { ReportDocument, RunEntry } from "./schema.js";

/** Milliseconds for people: `850 ms`, `4.2 ms`, `12.34 s`. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

/** US dollars with enough digits to see sub-cent costs. */
export function formatUsd(usd: number): string {
  return usd >= 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toPrecision(3)}`;
}

/** Lays out rows as columns separated by two spaces; `right` lists the columns to align right. */
export function textTable(rows: readonly (readonly string[])[], right: ReadonlySet<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const pad = " ".repeat((widths[i] ?? 0) - [...cell].length);
        return right.has(i) ? pad + cell : i === row.length - 1 ? cell : cell + pad;
      })
      .join("  ")
      .trimEnd(),
  );
}

const dash = "—";

/** The cells of the side-by-side table: a header row of run labels, then one row per figure. */
export function compareRows(doc: ReportDocument): string[][] {
  const runs = doc.runs;
  const verdict = new Map((doc.kind === "compare" ? doc.comparison.outputs : []).map((o) => [o.label, o]));
  const reference = doc.kind === "compare" ? doc.comparison.reference : null;
  const row = (name: string, f: (r: RunEntry) => string) => [name, ...runs.map(f)];
  const ok = (r: RunEntry) => r.status === "succeeded";
  const rows: string[][] = [
    ["", ...runs.map((r) => r.label)],
    row("status", (r) => r.status),
    row("tasks", (r) => String(r.summary.tasks)),
    row("concurrency", (r) => String(r.summary.concurrency)),
    row("wall time", (r) => formatMs(r.summary.wallMs)),
    row("  prepare", (r) => formatMs(r.summary.prepareMs)),
    row("  execute", (r) => formatMs(r.summary.executeMs)),
    row("time to first result", (r) => (r.summary.firstResultMs === null ? dash : formatMs(r.summary.firstResultMs))),
    row("task latency p50", (r) => (ok(r) ? formatMs(r.summary.latencyMs.p50) : dash)),
    row("task latency p95", (r) => (ok(r) ? formatMs(r.summary.latencyMs.p95) : dash)),
    row("task latency p99", (r) => (ok(r) ? formatMs(r.summary.latencyMs.p99) : dash)),
    row("workers used", (r) => (r.summary.workers ? String(r.summary.workers) : dash)),
    row("cold starts", (r) => String(r.summary.coldStarts)),
    row("retries", (r) => String(r.summary.retries)),
    // Only when a run started backups of stragglers: launched, and how many of them won their race.
    ...(runs.some((r) => r.report.totals.backups?.launched)
      ? [row("backup tasks", (r) => (r.report.totals.backups ? `${r.report.totals.backups.launched} (${r.report.totals.backups.won} won)` : dash))]
      : []),
    row("throughput", (r) => `${r.summary.tasksPerSec.toFixed(1)} tasks/s`),
    row("est. cost", (r) =>
      r.summary.costUsd === undefined
        ? dash
        : formatUsd(r.summary.costUsd) + (r.report.totals.estimatedCostUsd ? ` (${formatUsd(r.report.totals.estimatedCostUsd)} estimated)` : ""),
    ),
    row("output", (r) => {
      const v = verdict.get(r.label);
      if (!v || v.agrees === null) return dash;
      if (r.label === reference) return "reference";
      return v.agrees ? "same" : "DIFFERENT";
    }),
  ];
  return rows;
}

/** The side-by-side table of a comparison: one column per run, one row per figure, then skipped backends. */
export function compareTable(doc: ReportDocument): string[] {
  const lines = textTable(compareRows(doc), new Set(doc.runs.map((_, i) => i + 1)));
  for (const s of doc.skipped) lines.push(`skipped ${s.backend}: ${s.reason}`);
  return lines;
}

/** The cells of the scaling table: a header row, then one row per level (failed levels last). */
export function scaleRows(doc: ReportDocument): string[][] {
  if (doc.kind !== "scale") return [];
  const { points } = doc.scaling;
  const byLabel = new Map(doc.runs.map((r) => [r.label, r]));
  const rows: string[][] = [["workers", "tasks", "wall time", "execute", "speedup", "efficiency", "throughput"]];
  for (const p of points) {
    const r = byLabel.get(p.label);
    rows.push([
      String(p.level),
      String(r?.summary.tasks ?? ""),
      formatMs(p.wallMs),
      formatMs(p.executeMs),
      `${p.speedup.toFixed(2)}×`,
      `${(p.efficiency * 100).toFixed(0)}%`,
      r ? `${r.summary.tasksPerSec.toFixed(1)} tasks/s` : "",
    ]);
  }
  for (const r of doc.runs) if (r.status !== "succeeded") rows.push([String(r.level ?? "?"), String(r.summary.tasks), formatMs(r.summary.wallMs), r.status, dash, dash, dash]);
  return rows;
}

/** The table of a scaling series: one row per level with wall and execute time, speedup and efficiency. */
export function scaleTable(doc: ReportDocument): string[] {
  if (doc.kind !== "scale") return [];
  const { baselineLevel, basis } = doc.scaling;
  const lines = textTable(scaleRows(doc), new Set([0, 1, 2, 3, 4, 5, 6]));
  lines.push(`speedup and efficiency against ${baselineLevel} worker${baselineLevel === 1 ? "" : "s"}, by ${basis} time`);
  for (const s of doc.skipped) lines.push(`skipped ${s.backend}: ${s.reason}`);
  return lines;
}

/** Cost in the sweep's basis: dollars, or GB-seconds where a configuration has no price. */
function costCell(usd: number | undefined, gbs: number): string {
  return usd === undefined ? `${gbs.toPrecision(3)} GB-s` : formatUsd(usd);
}

/** The cells of a cost sweep's table: a header row, then one row per configuration in the order they ran. */
export function costRows(doc: ReportDocument): string[][] {
  if (doc.kind !== "cost") return [];
  const rec = doc.cost.recommendation;
  const rows: string[][] = [["configuration", "status", "tasks", "p50 / task", "p95 / task", "cold starts", "billed / task", "cost / task", "whole job", "output", "pick"]];
  const runs = new Map(doc.runs.map((r) => [r.label, r]));
  for (const c of doc.cost.configurations) {
    const m = c.measure;
    const picks = [rec.cheapest === c.label ? "cheapest" : "", rec.fastest === c.label ? "fastest" : "", rec.balanced === c.label ? "balanced" : ""].filter(Boolean);
    if (picks.length === 0 && c.pareto) picks.push("pareto");
    const output = c.agrees === null ? dash : c.label === doc.comparison.reference ? "reference" : c.agrees ? "same" : "DIFFERENT";
    if (!m || c.status === "refused") {
      rows.push([c.label, c.status, dash, dash, dash, dash, dash, dash, dash, dash, ""]);
      continue;
    }
    rows.push([
      c.label,
      c.status,
      String(m.tasks),
      formatMs(m.taskMs.p50),
      formatMs(m.taskMs.p95),
      String(runs.get(c.label)?.summary.coldStarts ?? dash),
      formatMs(m.billedMsPerTask),
      costCell(m.costPerTaskUsd, m.gbSecondsPerTask),
      costCell(m.jobCostUsd, m.jobGbSeconds),
      output,
      picks.join(", "),
    ]);
  }
  return rows;
}

/** The recommendation of a cost sweep, in words. */
export function costVerdict(doc: ReportDocument): string[] {
  if (doc.kind !== "cost") return [];
  const r = doc.cost.recommendation;
  const c = doc.cost;
  const lines: string[] = [];
  const of = c.sampled ? `a sample of ${c.sampled.length} of the job's ${c.totalTasks} tasks (the same at every configuration; the whole job's cost scaled up from it)` : `all ${c.totalTasks} tasks`;
  lines.push(
    `measured ${of}; cost ${r.basis === "usd" ? "in US dollars from the price table" : "in billed GB-seconds (no price given)"}, time per task as the platform measured it; ` +
      "billed time includes the init phase of cold starts where the platform bills it",
  );
  if (!r.cheapest) lines.push("no configuration ran to the end: nothing to recommend");
  else {
    lines.push(`cheapest: ${r.cheapest}; fastest: ${r.fastest}; cheapest within ${r.maxSlowdown}× of the fastest: ${r.balanced}`);
  }
  return lines;
}

/** The table of a cost sweep, the recommendation, and the configurations the platform refused. */
export function costTable(doc: ReportDocument): string[] {
  if (doc.kind !== "cost") return [];
  const lines = textTable(costRows(doc), new Set([2, 3, 4, 5, 6, 7, 8]));
  lines.push(...costVerdict(doc));
  for (const c of doc.cost.configurations) if (c.status !== "succeeded" && c.error) lines.push(`${c.status} ${c.label}: ${c.error.message}`);
  return lines;
}
