import type { RunResources } from "./run/journal/index.js";

/** Where the job lives, so a backend can bundle it or load it remotely. */
export interface JobRef {
  /** Absolute path of the module that exports the job. */
  modulePath: string;
  /** The job's name among that module's exports. */
  jobName: string;
}

/** Static facts about a backend that the scheduler and the partitioner plan with. */
export interface BackendFacts {
  /** Concurrency used when the caller sets none. */
  defaultConcurrency: number;
  /** A hard upper bound the platform imposes, if any. */
  maxConcurrency?: number;
  /**
   * The most attempts the platform runs at once for this account or namespace, when it says (OpenWhisk's
   * concurrent_actions): a run asking for more keeps this many in flight (the rest would only be throttled), and says
   * so. The scheduler's window is the one limiter: a backend keeps no queue of its own.
   */
  platformConcurrency?: number;
  /** Largest task or partial (JSON bytes) that travels inline; larger ones go through the object store. */
  inlinePayloadBytes?: number;
  /** Most tasks `tasks: "auto"` makes, when the platform bounds them (e.g. a namespace's invocations per minute). */
  maxAutoTasks?: number;
  /** The platform's cap on invocations per minute, when it has one: backup attempts never push a run over it. */
  invocationsPerMinute?: number;
}

/** Passed to `prepare` once per run, before any task is invoked. */
export interface PrepareContext {
  job: JobRef;
  runId: string;
  concurrency: number;
  signal?: AbortSignal;
  /** Progress messages for people (deploying, uploading...). */
  log?: (message: string) => void;
  /** A resumed run: what its earlier session made (see `Backend.resources`) is this run's again, to delete at the end. */
  adopt?: RunResources;
}

/** One attempt of one task. */
export interface InvokeRequest {
  task: unknown;
  taskIndex: number;
  attempt: number;
  /** The deadline the scheduler enforces for this attempt; backends may pass it to the platform. */
  timeoutMs: number;
}

/** What a successful attempt returns: the partial and what the platform said about the run. */
export interface InvokeResult {
  partial: unknown;
  workerId?: string;
  /** True when this attempt paid for a new worker, container or environment. */
  coldStart?: boolean;
  /** Time the function itself ran, as the platform measured it. */
  durationMs?: number;
  /** Time the platform bills for. */
  billedMs?: number;
  /** Cold-start initialisation time. */
  initMs?: number;
  /** Time the platform queued the request before running it. */
  waitMs?: number;
  /** Platform identifiers (activation id, request id) for tracing. */
  platformId?: string;
  /** Bytes the attempt read through `ctx.read` (S3 GETs, file reads), read-ahead included. */
  bytesRead?: number;
}

/**
 * The contract every backend implements. Backends throw `TaskError` from `invoke` so the scheduler can tell a
 * retryable platform failure from the job's own error; they must stop work promptly when `signal` aborts.
 */
export interface Backend {
  readonly name: string;
  readonly facts: BackendFacts;
  /** Makes the job runnable (bundle, deploy, warm up); idempotent for the same job. */
  prepare(ctx: PrepareContext): Promise<void>;
  /**
   * Asks the platform for what a run is planned with (its limits) and updates `facts`; `run` calls it, when present,
   * before it plans the task count and the concurrency.
   */
  discover?(ctx: { signal?: AbortSignal; log?: (message: string) => void }): Promise<void>;
  invoke(request: InvokeRequest, signal: AbortSignal): Promise<InvokeResult>;
  /**
   * What the platform recorded for the run's function since `since` (epoch ms): how many invocations and their billed
   * time, all of them, those answered included; it may wait (within `signal`) for `expected` records, since an
   * activation is recorded when it ends. Called after a run gave up on attempts before their answer (a lost
   * backup, a deadline, a cancel), within `signal`'s short deadline; absent or undefined when the platform keeps no
   * such records (the attempts are then estimated).
   */
  billedSince?(since: number, expected: number, signal: AbortSignal): Promise<{ invocations: number; billedMs: number; complete: boolean } | undefined>;
  /** Estimated cost in US dollars of the given attempts, when the platform bills for them. */
  estimateCost?(usage: { invocations: number; billedMs: number }): number;
  /** Hash of the code the last `prepare` made ready (its bundle): the run journal records it so a resume runs the same code. */
  readonly codeHash?: string;
  /** What the last `prepare` made on the platform that outlives this process if it dies (the run journal records it). */
  resources?(): RunResources;
  /**
   * What superfaas made on the platform, found by listing it (owner markers on functions, `owner.json` under run
   * prefixes), by run: `superfaas clean --orphans` removes what belongs to runs it has no journal of. `kept` names the
   * functions a run kept with `--keep`, which are never in `resources`.
   */
  findOwned?(ctx: { log?: (message: string) => void }): Promise<{ runId: string; createdAt?: string; resources: RunResources; kept?: string[] }[]>;
  /** Deletes what a run left behind (`superfaas clean`): functions, object-store prefixes, log groups; missing ones are skipped. */
  release?(resources: RunResources, ctx: { log?: (message: string) => void }): Promise<void>;
  /** Releases everything `prepare` made (pools, deployed functions, object-store prefixes). */
  dispose(): Promise<void>;
}

/** A command-line flag a backend accepts (`--<name> <value>`, or a switch when `value` is absent). */
export interface BackendFlag {
  name: string;
  description: string;
  /** Placeholder shown in help, e.g. "URL"; omit for an on/off switch. */
  value?: string;
  /**
   * What the value must be: the CLI converts it (accepting 1e3 and 1_000 for integers) and rejects anything else
   * with one error line naming the flag, so `create` gets numbers. Untyped values arrive as text.
   */
  type?: "integer" | "number";
  /** Smallest accepted value of a typed flag (default 1 for integers, above 0 for numbers). */
  min?: number;
  /** Largest accepted value of a typed flag (a limit that follows from the machine or the platform), if any. */
  max?: number;
}

/** How a backend is offered by name (CLI `--backend NAME`): a description, its flags and a factory. */
export interface BackendDescriptor<O = Record<string, unknown>> {
  name: string;
  description: string;
  flags?: BackendFlag[];
  /** Creates the backend from flag values (camelCased; typed flags as numbers); throws BACKEND_CONFIG when settings are missing. */
  create(options: O): Backend | Promise<Backend>;
}
