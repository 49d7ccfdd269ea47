import { fileURLToPath } from "node:url";
import * as z from "zod/mini";
import { SuperfaasError } from "../errors.js";
import { checkParamSpecs, type InputOf, type ParamSpecs } from "./params.js";
import type { RunReport } from "../run/report.js";
import type { ObjectRange } from "../data/objects.js";

/** How the scheduler intends to run a job; `partition` uses it to size its tasks. */
export interface PartitionPlan {
  /** The number of tasks to aim for (resolved from `--tasks N|auto`). */
  tasks: number;
  /** How many tasks may run at once on the chosen backend. */
  concurrency: number;
  /** Aborts when the run is cancelled (Ctrl-C): pass it on to listings and reads (`listObjects`, `readBytes`). */
  signal?: AbortSignal;
}

/** What `map` learns about the attempt it runs in. */
export interface MapContext {
  taskIndex: number;
  /** 1 for the first attempt, 2 for the first retry, and so on. */
  attempt: number;
  /** Identifies the worker, container or execution environment running this attempt. */
  workerId: string;
  /**
   * Reads the records a range owns (see `partitionObjects`) from S3 or a local file, retrying transient errors. The
   * credentials are the backend's, never the task's.
   */
  read(range: ObjectRange): Promise<Uint8Array>;
}

/** The parts a job author writes. Only `map` runs remotely; `partition` and `reduce` run where `run` is called. */
export interface JobDefinition<I, T, P, O> {
  /** A short identifier, unique within its module; the remote side finds the job by it. */
  name: string;
  description?: string;
  /** Parameters that make up the input; the CLI offers each as a `--flag`. */
  params?: ParamSpecs;
  /** Default for `--tasks` when the caller gives none. */
  defaultTasks?: number | "auto";
  /** Splits the input into JSON tasks; may be async (to list objects in a store, say). */
  partition(input: I, plan: PartitionPlan): T[] | Promise<T[]>;
  /** Computes one partial result; must be a pure function of the task for results to match across backends. */
  map(task: T, ctx: MapContext): P | Promise<P>;
  /** Combines the partials, given in task order, into the output. */
  reduce(partials: P[], input: I): O;
  /** Derived figures that depend on the run, not only the input (throughput, say); kept out of the output. */
  metrics?(output: O, report: RunReport): Record<string, number | string>;
  /** Renders the output for people; the CLI prints it. */
  format?(output: O, metrics: Record<string, number | string>): string;
  /**
   * Whether two outputs of the same input agree (`superfaas compare` checks backends with it); defaults to deep
   * equality of their JSON. Override it to allow a tolerance or to ignore fields that describe the platform.
   */
  equal?(a: O, b: O): boolean;
  /** Retry errors thrown by `map` too, not just platform failures (default false: a bug fails fast). */
  retryUserErrors?: boolean;
  /**
   * `map` gives the same partial for the same task on every attempt (randomness from the task's seed, no clock, no
   * side effects), so a slow task may get a backup attempt beside the first and either result serves: backup tasks
   * are then on by default (`run`'s `backupTasks` option and `--no-backup-tasks` decide otherwise). Default false.
   */
  deterministic?: boolean;
  /** The file that defines the job, as a path or file URL; captured from the call site when omitted. */
  module?: string;
}

const JOB = Symbol.for("superfaas.job");

/** A job made by `defineJob`. */
export interface Job<I = unknown, T = unknown, P = unknown, O = unknown> extends Readonly<JobDefinition<I, T, P, O>> {
  readonly [JOB]: true;
  /** Absolute path of the module that defines the job, when known. */
  readonly modulePath: string | undefined;
}

/** Input type of a job. */
export type JobInput<J> = J extends Job<infer I, unknown, unknown, unknown> ? I : never;
/** Output type of a job. */
export type JobOutput<J> = J extends Job<unknown, unknown, unknown, infer O> ? O : never;

function callerFile(): string | undefined {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, defineJob);
  for (const line of (holder.stack ?? "").split("\n").slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+(?::[^():]+)*?):\d+:\d+\)?\s*$/.exec(line.trim());
    if (m?.[1]) return m[1].startsWith("file://") ? fileURLToPath(m[1]) : m[1];
  }
  return undefined;
}

/** Defines a job; with `params`, the input type is inferred from them. */
export function defineJob<const PS extends ParamSpecs, T, P, O>(
  def: JobDefinition<InputOf<PS>, T, P, O> & { params: PS },
): Job<InputOf<PS>, T, P, O>;
export function defineJob<I, T, P, O>(def: JobDefinition<I, T, P, O>): Job<I, T, P, O>;
export function defineJob<I, T, P, O>(def: JobDefinition<I, T, P, O>): Job<I, T, P, O> {
  const parsed = jobShape.safeParse(def);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SuperfaasError(
      "BAD_INPUT",
      `defineJob: ${issue ? `${issue.path.join(".") || "definition"}: ${issue.message}` : "invalid job definition"}`,
      "a job needs a name and the functions partition, map and reduce",
    );
  }
  if (def.params) checkParamSpecs(def.params);
  const modulePath = def.module ? (def.module.startsWith("file:") ? fileURLToPath(def.module) : def.module) : callerFile();
  return Object.freeze({ ...def, [JOB]: true as const, modulePath });
}

// zod/mini keeps the remote bundles small: defineJob also runs inside every function.
const fn = z.custom<(...args: unknown[]) => unknown>((v) => typeof v === "function", { error: "expected a function" });
const jobShape = z.object({
  name: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' or '-'")),
  partition: fn,
  map: fn,
  reduce: fn,
  metrics: z.optional(fn),
  format: z.optional(fn),
  equal: z.optional(fn),
  deterministic: z.optional(z.boolean()),
  module: z.optional(z.string()),
});

/** True for values made by `defineJob`, even by another copy of this library. */
export function isJob(value: unknown): value is Job {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[JOB] === true;
}

/** Finds a job among a module's exports: by name when given, else the only one. */
export function findJob(mod: Record<string, unknown>, name?: string, where = "the module"): Job {
  const jobs = Object.values(mod).filter(isJob);
  const unique = [...new Set(jobs)];
  if (name !== undefined) {
    const hit = unique.find((j) => j.name === name);
    if (hit) return hit;
    throw new SuperfaasError(
      "NO_JOB_EXPORT",
      `${where} exports no job named ${JSON.stringify(name)}`,
      unique.length ? `it exports: ${unique.map((j) => j.name).join(", ")}` : "export a job made with defineJob()",
    );
  }
  if (unique.length === 1) return unique[0]!;
  throw new SuperfaasError(
    "NO_JOB_EXPORT",
    unique.length ? `${where} exports several jobs (${unique.map((j) => j.name).join(", ")})` : `${where} exports no job`,
    unique.length ? "pick one with --job NAME" : "export a job made with defineJob() from @superfaas/core, e.g. `export const job = defineJob({...})`",
  );
}
