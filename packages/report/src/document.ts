import type { CostSweepResult, RunReport } from "@superfaas/core";
import { scalingPoints, summarizeRun } from "./model.js";
import { REPORT_FORMAT, REPORT_FORMAT_VERSION, type Comparison, type CostConfiguration, type ReportDocument, type RunEntry, type SkippedBackend } from "./schema.js";

/** A finished (or failed) run to put in a report. */
export interface RunInput {
  report: RunReport;
  /** The job's output; leave it out when the run did not succeed. */
  output?: unknown;
  label?: string;
  level?: number;
}

/** Gives repeated names a suffix (`local`, `local#2`) so every run in a report has its own label. */
export function uniqueLabels(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n}#${k}`;
  });
}

/** A report entry for one run, with its summary figures. */
export function runEntry(run: RunInput): RunEntry {
  // A job's metric can be Infinity or NaN (a rate over a zero-length run); JSON cannot hold those, so keep them as text.
  const metrics = Object.fromEntries(Object.entries(run.report.metrics).map(([k, v]) => [k, typeof v === "number" && !Number.isFinite(v) ? String(v) : v]));
  const r = { ...run.report, metrics };
  return {
    label: run.label ?? r.backend,
    backend: r.backend,
    ...(run.level !== undefined ? { level: run.level } : {}),
    status: r.status,
    ...(r.status === "succeeded" && "output" in run ? { output: run.output } : {}),
    summary: summarizeRun(r),
    report: r,
  };
}

interface Common {
  job: string;
  input: unknown;
  createdAt?: Date;
  skipped?: SkippedBackend[];
}

function base(common: Common, runs: RunEntry[]) {
  return {
    format: REPORT_FORMAT,
    formatVersion: REPORT_FORMAT_VERSION,
    createdAt: (common.createdAt ?? new Date()).toISOString(),
    job: common.job,
    input: common.input ?? null,
    runs,
    skipped: common.skipped ?? [],
  } as const;
}

/** The report of a single run (`superfaas run --report DIR`). */
export function runDocument(run: RunInput, opts: { createdAt?: Date } = {}): ReportDocument {
  return { kind: "run", ...base({ job: run.report.job, input: run.report.input, ...opts }, [runEntry(run)]) };
}

/** The report of the same job on several backends (`superfaas compare`). */
export function compareDocument(common: Common & { runs: RunInput[]; comparison: Comparison }): ReportDocument {
  const labels = uniqueLabels(common.runs.map((r) => r.label ?? r.report.backend));
  const runs = common.runs.map((r, i) => runEntry({ ...r, label: labels[i]! }));
  return { kind: "compare", ...base(common, runs), comparison: common.comparison };
}

/** The report of one job at several worker levels (`superfaas scale`), with speedup and efficiency. */
export function scaleDocument(common: Common & { runs: (RunInput & { level: number })[]; basis?: "execute" | "wall" }): ReportDocument {
  const runs = common.runs.map((r) => runEntry({ ...r, label: r.label ?? `${r.report.backend} ×${r.level}` }));
  const basis = common.basis ?? "execute";
  const ok = runs.filter((r) => r.status === "succeeded");
  const { baselineLevel, points } = scalingPoints(
    ok.map((r) => ({ label: r.label, level: r.level!, wallMs: r.summary.wallMs, executeMs: r.summary.executeMs })),
    basis,
  );
  return { kind: "scale", ...base(common, runs), scaling: { basis, baselineLevel, points } };
}

/**
 * The report of a cost sweep (`superfaas cost`): each configuration that ran is a run (labelled with its memory and
 * architecture), each one the platform refused is listed under `skipped` with the platform's message, and `cost` holds
 * the figures, the Pareto front and the recommendation.
 */
export function costDocument(common: { backend: string; result: CostSweepResult; createdAt?: Date }): ReportDocument {
  const r = common.result;
  const ran = r.configurations.filter((c) => c.report);
  const runs = ran.map((c) => runEntry({ report: c.report!, label: c.label, ...(c.status === "succeeded" ? { output: c.output } : {}) }));
  const skipped: SkippedBackend[] = r.configurations
    .filter((c) => c.status === "refused")
    .map((c) => ({ backend: c.label, code: c.error?.code ?? "BACKEND_CONFIG", reason: `${c.error?.message ?? "refused"}${c.error?.hint ? ` (${c.error.hint})` : ""}` }));
  const comparison: Comparison = {
    reference: r.reference,
    agree: r.agree,
    outputs: ran.map((c) => ({ label: c.label, agrees: c.agrees, ...(c.difference ? { difference: c.difference } : {}) })),
  };
  const configurations: CostConfiguration[] = r.configurations.map(({ report: _report, output: _output, ...rest }) => rest);
  return {
    kind: "cost",
    ...base({ job: r.job, input: r.input, skipped, ...(common.createdAt ? { createdAt: common.createdAt } : {}) }, runs),
    comparison,
    cost: { backend: common.backend, totalTasks: r.totalTasks, ...(r.sampled ? { sampled: r.sampled } : {}), configurations, recommendation: r.recommendation },
  };
}
