// What run() takes and gives: its options, its result, and the error that ends a run with its report.
import { SuperfaasError } from "../errors.js";
import type { ProgressEvent } from "../schedule/scheduler.js";
import type { BackupTasksOption } from "../schedule/speculation.js";
import type { Backend } from "../backend.js";
import type { RunReport } from "./report.js";

/** Options of one run. */
export interface RunOptions {
  backend: Backend;
  /** Most tasks in flight at once; defaults to the backend's own default. */
  concurrency?: number;
  /**
   * Number of tasks, or "auto" (chosen from a short probe's measurements of the backend's per-invocation overhead and
   * the job's work: see auto-tasks.ts); defaults to the job's `defaultTasks` or "auto".
   */
  tasks?: number | "auto";
  /** Deadline of one attempt in ms (default 15 minutes). */
  timeoutMs?: number;
  /** Extra attempts for retryable failures (default 3). */
  retries?: number;
  /**
   * Fail the run (THROTTLED) after this long in ms of nothing but throttling: every attempt refused for load by the
   * platform (default 180 s).
   */
  throttleTimeoutMs?: number;
  /** Base and cap of the exponential retry backoff. */
  backoff?: { baseMs: number; maxMs: number };
  /**
   * Backup attempts for stragglers (see `BackupPolicy`): true, false, or a policy with some fields changed. Default:
   * on for jobs marked `deterministic`, off for the others (a second attempt of a job that is not might differ).
   */
  backupTasks?: BackupTasksOption;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /** Called with messages about preparation (bundling, deploying). */
  log?: (message: string) => void;
  /** Keep a run journal so the run can be resumed after its process dies (default true). */
  journal?: boolean;
  /** Where run journals live (default `defaultStateDir()`: `$XDG_STATE_HOME/superfaas` or `~/.local/state/superfaas`). */
  stateDir?: string;
  /**
   * Continue the run with this id (or a unique prefix of it) from its journal: the journal's input, task count and
   * settings are used (`input` is ignored), finished tasks are not run again, the output is that of one whole run.
   */
  resume?: string;
  /** Resume even when the job's code changed since the run started (its bundle hash differs). */
  force?: boolean;
  /** The backend's settings as given, without secrets: recorded so `superfaas resume` can make the same backend. */
  backendOptions?: Record<string, unknown>;
  /**
   * Called with the run's id, journal path and concurrency as soon as the run has them, before anything is deployed.
   * `concurrencyAsked` is there when the platform's own limit lowered the concurrency asked for (or the default).
   */
  onStart?: (info: { runId: string; journal?: string; concurrency: number; concurrencyAsked?: number }) => void;
}

/** The output of a run and its report. */
export interface RunResult<O> {
  output: O;
  report: RunReport;
}

/** An error that ends a run, with the report of what happened up to then. */
export class RunError extends SuperfaasError {
  constructor(
    cause: SuperfaasError,
    readonly report: RunReport,
  ) {
    super(cause.code, cause.message, cause.hint, { cause: cause.cause ?? cause, ...(cause.wording ? { wording: cause.wording } : {}) });
    this.name = "RunError";
  }
}
