import * as z from "zod";
import type { RunReport } from "@superfaas/core";

/** The `format` field of every report.json, so tools can recognise the file. */
export const REPORT_FORMAT = "superfaas-report";
/** The version of the report.json layout; bumped only for changes that break readers. */
export const REPORT_FORMAT_VERSION = 1;

// Descriptions and names for the JSON Schema live in a registry of this module's own (the global one would clash
// when two copies of the package load, and `.describe()` writes there).
const docs = z.registry<{ id?: string; description: string }>();
/** Returns a copy of `schema` that the JSON Schema describes (and, with `id`, defines once under $defs). */
function doc<T extends z.ZodType>(schema: T, description: string, id?: string): T {
  const copy = schema.clone() as T;
  docs.add(copy, { description, ...(id ? { id } : {}) });
  return copy;
}

const ms = z.number().nonnegative();
const count = z.number().int().nonnegative();
const runStatus = z.enum(["succeeded", "failed", "cancelled"]);

/** One task's life in a run, as the scheduler recorded it (core's `TaskRecord`). */
export const taskRecordSchema = doc(
  z.object({
    index: doc(count, "position of the task in the partition (and of its partial in the reduce)"),
    queuedAt: doc(ms, "ms since the run started when the task was queued"),
    startedAt: doc(ms, "ms since the run started when its first attempt started").optional(),
    finishedAt: doc(ms, "ms since the run started when it succeeded or failed for good").optional(),
    attempts: doc(count, "attempts made (1 without retries; throttled attempts not counted)"),
    status: z.enum(["pending", "running", "succeeded", "failed", "cancelled"]),
    workerId: doc(z.string(), "the worker, container or environment that ran the last attempt").optional(),
    coldStart: doc(z.boolean(), "whether the last attempt paid for a new worker, container or environment").optional(),
    durationMs: doc(ms, "time the function ran, as the platform measured it").optional(),
    billedMs: doc(ms, "time the platform bills for, all attempts").optional(),
    initMs: doc(ms, "cold-start initialisation time").optional(),
    waitMs: doc(ms, "time the platform queued the request").optional(),
    platformId: doc(z.string(), "activation or request id, for tracing").optional(),
    errors: doc(z.array(z.object({ attempt: count, at: ms, message: z.string(), retryable: z.boolean() })), "failed attempts").optional(),
    backup: doc(
      z.object({ startedAt: doc(ms, "ms since the run started when the backup attempt started"), won: doc(z.boolean(), "whether the backup's result was the one reduced") }),
      "the backup attempt started beside a straggling one",
    ).optional(),
  }),
  "one task's life in a run (core's TaskRecord); times in ms since the run started",
  "TaskRecord",
);

/** Core's `RunReport` (schemaVersion 1): the machine-readable account of one run. */
export const runReportSchema = doc(
  z.object({
    schemaVersion: z.literal(1),
    runId: z.string(),
    job: z.string(),
    backend: z.string(),
    status: runStatus,
    startedAt: doc(z.string(), "ISO 8601 time the run started"),
    prepareMs: doc(ms, "time spent in prepare (bundling, deploying, warming workers)"),
    executeMs: doc(ms, "time from the first invocation to the last result"),
    wallMs: doc(ms, "the whole run, prepare and reduce included"),
    concurrency: doc(count, "most tasks allowed in flight at once"),
    input: doc(z.unknown(), "the resolved input of the job"),
    totals: z.object({
      tasks: count,
      succeeded: count,
      failed: count,
      attempts: count,
      retries: count,
      throttled: count,
      coldStarts: count,
      billedMs: ms,
      costUsd: doc(z.number().nonnegative(), "estimated cost in US dollars, for backends that price runs").optional(),
      estimatedAttempts: doc(
        count,
        "attempts the run gave up on (lost backup, deadline, cancel, failure) whose billed time the platform did not report; each is estimated at the attempt's time limit, the most the platform bills for one; absent when none",
      ).optional(),
      estimatedBilledMs: doc(ms, "the part of billedMs that is estimated (see estimatedAttempts), not reported by the platform").optional(),
      estimatedCostUsd: doc(z.number().nonnegative(), "the part of costUsd that is estimated (see estimatedAttempts)").optional(),
      peakConcurrency: doc(count, "highest number of attempts in flight at once"),
      bytesRead: doc(count, "bytes the tasks read through ctx.read (S3 GETs, file reads) in their used attempts, read-ahead past their ranges included; absent when none did").optional(),
      backups: doc(
        z.object({
          launched: doc(count, "backup attempts started"),
          won: doc(count, "tasks whose result came from their backup"),
          wasted: doc(count, "attempts whose work was thrown away: the loser of each race, and backups that failed"),
          wastedMs: doc(ms, "time the wasted attempts ran: their billed time when the platform answered, else until they were cancelled"),
          costUsd: doc(z.number().nonnegative(), "estimated cost in US dollars of the wasted attempts").optional(),
        }),
        "backup attempts of stragglers; present when backups were on for the run",
      ).optional(),
    }),
    throughput: z.object({ tasksPerSec: z.number().nonnegative() }),
    latencyMs: doc(z.object({ p50: ms, p95: ms, p99: ms, max: ms }), "task latency (first start to result) percentiles, nearest rank"),
    metrics: doc(z.record(z.string(), z.union([z.number(), z.string()])), "the job's own figures (points per second, say)"),
    autoTasks: doc(
      z.object({
        tasks: doc(count, "the task count chosen"),
        waves: doc(z.number().nonnegative(), "tasks per slot of concurrency"),
        overheadMs: doc(ms, "measured cost of one invocation beyond its work (latency minus the function's own time)"),
        workMs: doc(ms, "measured work of the whole job, in ms of function time"),
        spread: doc(z.number().nonnegative(), "coefficient of variation of the probe tasks' durations"),
        straggler: doc(z.number().nonnegative(), "expected extra time of a wave's slowest task, as a share of a task's time"),
        estimatedMs: doc(ms, "the model's wall time for the chosen count"),
        fineTasks: doc(count, "tasks of the fine partition the probe drew from"),
        probeTasks: doc(count, "probe tasks that ran (their partials are not reused)"),
        probeMs: doc(ms, "wall time of the probe"),
        probeBilledMs: doc(ms, "time the platform billed for the probe"),
        probeAttempts: doc(count, "attempts the probe made"),
        reason: doc(z.string(), "the choice in one sentence"),
      }),
      'how `--tasks auto` chose the count from a probe\'s measurements',
    ).optional(),
    error: doc(z.object({ code: z.string(), message: z.string() }), "why the run failed or stopped").optional(),
    tasks: z.array(taskRecordSchema),
  }),
  "core's RunReport (schemaVersion 1): the machine-readable account of one run",
  "RunReport",
);

/** The figures of one run that tables and bar charts show side by side (all times in ms). */
export const runSummarySchema = doc(
  z.object({
    wallMs: doc(ms, "the whole run: prepare, execute and reduce"),
    prepareMs: ms,
    executeMs: ms,
    firstResultMs: doc(ms.nullable(), "from the start of the run (prepare included) to the first task that succeeded; null when none did"),
    latencyMs: z.object({ p50: ms, p95: ms, p99: ms, max: ms }),
    tasks: count,
    succeeded: count,
    failed: count,
    concurrency: count,
    peakConcurrency: count,
    attempts: count,
    retries: count,
    throttled: count,
    coldStarts: count,
    workers: doc(count, "workers, containers or environments that ran at least one task (distinct worker ids; 0 when the backend reports none)"),
    tasksPerSec: doc(z.number().nonnegative(), "tasks that succeeded per second of execute time"),
    billedMs: ms,
    costUsd: doc(z.number().nonnegative(), "estimated cost in US dollars, for backends that price their runs").optional(),
  }),
  "the figures of one run that tables and bar charts show side by side; times in ms",
  "RunSummary",
);

/** One run in a report: a backend (compare), a worker level (scale) or the only run (run). */
export const runEntrySchema = doc(
  z.object({
    label: doc(z.string().min(1), "unique within the report: the backend name, name#2 for a repeated backend, or 'name ×level' in a scale report"),
    backend: z.string(),
    level: doc(z.number().int().positive(), "the worker/concurrency level of a scaling run").optional(),
    status: runStatus,
    output: doc(z.unknown(), "the job's output; absent when the run did not succeed").optional(),
    summary: runSummarySchema,
    report: runReportSchema,
  }),
  "one run: a backend (compare), a worker level (scale) or the only run (run)",
  "RunEntry",
);

/** A backend that was asked for but could not run (not configured, or it failed before its first task). */
export const skippedBackendSchema = doc(
  z.object({
    backend: doc(z.string(), "the backend's label"),
    code: doc(z.string(), "the error code, e.g. BACKEND_CONFIG"),
    reason: doc(z.string(), "what was wrong and how to fix it"),
  }),
  "a backend that was asked for but could not run (not configured, or it failed before its first task)",
  "SkippedBackend",
);

/** Whether the outputs of a comparison agree with the first successful run's. */
export const comparisonSchema = doc(
  z.object({
    reference: doc(z.string().nullable(), "label of the run the others are checked against (the first that succeeded); null when none did"),
    agree: doc(z.boolean(), "true when no output differs from the reference"),
    outputs: z.array(
      z.object({
        label: z.string(),
        agrees: doc(z.boolean().nullable(), "null when the run produced no output to check"),
        difference: doc(z.string(), "where the output first differs from the reference, for people").optional(),
      }),
    ),
  }),
  "whether the outputs agree, by the job's equal() or else JSON equality",
  "Comparison",
);

/** One level of a scaling run and its speedup and parallel efficiency against the smallest level. */
export const scalingPointSchema = doc(
  z.object({
    label: z.string(),
    level: z.number().int().positive(),
    wallMs: ms,
    executeMs: ms,
    speedup: doc(z.number().nonnegative(), "T(baseline) / T(level), T being the time named by basis"),
    efficiency: doc(z.number().nonnegative(), "speedup / (level / baselineLevel); 1 is perfect scaling"),
  }),
  "one level of a scaling series",
  "ScalingPoint",
);

/** The scaling curve of a `scale` report. */
export const scalingSchema = doc(
  z.object({
    basis: doc(z.enum(["execute", "wall"]), "which time the speedup divides: execute (first invocation to last result) or wall (the whole run)"),
    baselineLevel: doc(z.number().int().positive(), "the smallest level that succeeded, which the others are measured against"),
    points: doc(z.array(scalingPointSchema), "levels that succeeded, by level"),
  }),
  "speedup and parallel efficiency of each level",
  "Scaling",
);

const usd = z.number().nonnegative();

/** What one configuration of a cost sweep cost and how fast it was (core's ConfigurationMeasure). */
export const costMeasureSchema = doc(
  z.object({
    tasks: doc(count, "tasks measured: the sample, or the whole job"),
    invocations: doc(count, "invocations the platform ran and bills a request for"),
    taskMs: doc(z.object({ p50: ms, p95: ms }), "time per task: the function's own duration where the platform reports it, else the client's latency"),
    billedMs: doc(ms, "billed duration of every attempt, init phases included, as the platform reported it"),
    billedMsPerTask: ms,
    gbSeconds: doc(z.number().nonnegative(), "billed ms / 1000 × memory MB / 1024"),
    gbSecondsPerTask: z.number().nonnegative(),
    costUsd: doc(usd, "the measured tasks' cost, when the configuration has a price").optional(),
    costPerTaskUsd: usd.optional(),
    jobCostUsd: doc(usd, "the whole job's estimated cost: cost per task × the job's tasks").optional(),
    jobGbSeconds: z.number().nonnegative(),
  }),
  "what one configuration of a cost sweep cost and how fast it was",
  "CostMeasure",
);

/** One configuration of a cost sweep (memory, architecture) and its outcome. */
export const costConfigurationSchema = doc(
  z.object({
    label: doc(z.string().min(1), "e.g. '1769 MB x86_64'; the label of its run in runs, or of its entry in skipped"),
    memoryMb: z.number().int().positive(),
    arch: z.string().optional(),
    price: doc(z.object({ gbSecondUsd: usd, requestUsd: usd }), "the price the cost was computed with; absent: GB-seconds only").optional(),
    status: doc(z.enum(["succeeded", "refused", "failed"]), "refused: the platform refused the configuration before its first task"),
    error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
    measure: costMeasureSchema.optional(),
    agrees: doc(z.boolean().nullable(), "whether its output agrees with the reference configuration's; null when it has none"),
    difference: z.string().optional(),
    pareto: doc(z.boolean(), "on the Pareto front of time per task (p50) against cost per task"),
  }),
  "one configuration of a cost sweep",
  "CostConfiguration",
);

/** The sweep of a `cost` report: every configuration, the job's size and the recommendation. */
export const costSweepSchema = doc(
  z.object({
    backend: z.string(),
    totalTasks: doc(count, "tasks of the whole job"),
    sampled: doc(z.array(count), "the task indices every configuration ran, when sampled").optional(),
    configurations: z.array(costConfigurationSchema),
    recommendation: z.object({
      basis: doc(z.enum(["usd", "gb-seconds"]), "what 'cheapest' compares: US dollars, or GB-seconds when some configuration has no price"),
      maxSlowdown: z.number().min(1),
      cheapest: z.string().optional(),
      fastest: z.string().optional(),
      balanced: doc(z.string(), "the cheapest configuration at most maxSlowdown times slower than the fastest").optional(),
    }),
  }),
  "a cost sweep: the configurations measured and which to pick",
  "CostSweep",
);

const documentBase = {
  format: doc(z.literal(REPORT_FORMAT), "identifies the file"),
  formatVersion: doc(z.literal(REPORT_FORMAT_VERSION), "bumped only for changes that break readers"),
  createdAt: doc(z.iso.datetime(), "when the report was written (ISO 8601, UTC)"),
  job: doc(z.string(), "the job's name"),
  input: doc(z.unknown(), "the resolved input every run was given"),
  runs: doc(z.array(runEntrySchema), "the runs in the order they ran"),
  skipped: doc(z.array(skippedBackendSchema), "backends that could not run; empty for run and scale reports"),
};

/** report.json: a run, a comparison of backends, a scaling series or a cost sweep; `kind` tells which. */
export const reportDocumentSchema = z.discriminatedUnion("kind", [
  doc(z.object({ kind: z.literal("run"), ...documentBase }), "a single run (superfaas run --report)"),
  doc(z.object({ kind: z.literal("compare"), ...documentBase, comparison: comparisonSchema }), "one job on several backends (superfaas compare)"),
  doc(z.object({ kind: z.literal("scale"), ...documentBase, scaling: scalingSchema }), "one job at several worker levels (superfaas scale)"),
  doc(z.object({ kind: z.literal("cost"), ...documentBase, comparison: comparisonSchema, cost: costSweepSchema }), "one job at several memory sizes and architectures (superfaas cost)"),
]);

/** The contents of report.json. */
export type ReportDocument = z.infer<typeof reportDocumentSchema>;
/** One run in a report. */
export type RunEntry = z.infer<typeof runEntrySchema>;
/** The side-by-side figures of one run. */
export type RunSummary = z.infer<typeof runSummarySchema>;
/** A backend that could not run. */
export type SkippedBackend = z.infer<typeof skippedBackendSchema>;
/** The output check of a comparison. */
export type Comparison = z.infer<typeof comparisonSchema>;
/** One level of a scaling series. */
export type ScalingPoint = z.infer<typeof scalingPointSchema>;
/** The scaling curve of a scale report. */
export type Scaling = z.infer<typeof scalingSchema>;
/** The sweep of a cost report. */
export type CostSweep = z.infer<typeof costSweepSchema>;
/** One configuration of a cost sweep. */
export type CostConfiguration = z.infer<typeof costConfigurationSchema>;

/** Validates a parsed report.json (throws a ZodError naming the first bad field). */
export function parseReportDocument(value: unknown): ReportDocument {
  return reportDocumentSchema.parse(value);
}

/** The JSON Schema (draft 2020-12) of report.json, generated from the zod schema (also shipped as report.schema.json). */
export function reportJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(reportDocumentSchema, { io: "output", metadata: docs });
  return { $schema, title: "superfaas report.json", description: "A run, a comparison of backends, a scaling series or a cost sweep; `kind` tells which.", ...rest };
}

// Compile-time guards, both ways: core's RunReport must fit the schema, and the schema must produce a RunReport. If
// core adds a required field, or removes or retypes one, the build stops here instead of report.json silently dropping data.
type AssertAssignable<T, U extends T> = U;
type _RunReportFitsSchema = AssertAssignable<z.input<typeof runReportSchema>, RunReport>;
type _SchemaMakesRunReport = AssertAssignable<RunReport, z.output<typeof runReportSchema>>;
