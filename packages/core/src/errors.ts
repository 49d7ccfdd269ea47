/** Stable error codes: scripts and tests match on these, never on message text. */
export type ErrorCode =
  | "BAD_INPUT"
  | "UNKNOWN_BACKEND"
  | "UNKNOWN_JOB"
  | "MODULE_NOT_FOUND"
  /** The job module exists but threw (or failed to import one of its own imports) while loading. */
  | "JOB_LOAD_FAILED"
  | "NO_JOB_EXPORT"
  | "NOT_JSON"
  | "BUNDLE_FAILED"
  | "BACKEND_CONFIG"
  | "TASK_FAILED"
  /** The job's own code failed where it runs on the caller's side: partition, reduce or metrics. */
  | "JOB_FAILED"
  | "TASK_TIMEOUT"
  /** A task ran out of the memory its worker, container or function had; another attempt with the same memory would too. */
  | "OUT_OF_MEMORY"
  | "CANCELLED"
  /** The platform refused every attempt for load (HTTP 429, or a queue that throttles) for longer than the run's throttle timeout. */
  | "THROTTLED"
  /** Runs of the same job and input on different backends gave different outputs. */
  | "OUTPUTS_DIFFER"
  | "PAYLOAD_TOO_LARGE"
  /** The run journal cannot be written or read. */
  | "JOURNAL"
  /** No run (journal) has the given id. */
  | "UNKNOWN_RUN"
  /** A resume was refused: the run is still alive, or its job module or tasks changed since. */
  | "RESUME_REFUSED"
  | "INTERNAL";

/** The options of `run()` that errors name: the CLI shows each as its flag, in the flag's unit. */
export type RunOptionName = "tasks" | "concurrency" | "timeoutMs" | "retries" | "throttleTimeoutMs";

/** How an error shows options and their values: by name in the library (`timeoutMs 500`), as flags in the CLI (`--timeout 0.5`). */
export interface OptionNames {
  name(option: RunOptionName): string;
  value(option: RunOptionName, value: number): string;
}

/** The library's wording: options by their `run()` names, values as given. */
export const OPTION_NAMES: OptionNames = {
  name: (option) => option,
  value: (_option, value) => String(value),
};

/** Words an error that names options, given how to show them. */
export type OptionWording = (names: OptionNames) => { message: string; hint: string };

/** The one error family of superfaas: a stable `code`, a message saying what went wrong, a `hint` saying how to fix it. */
export class SuperfaasError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  /** Set when the message or hint names options of `run()`, so a front end can word them as its own flags. */
  readonly wording: OptionWording | undefined;
  constructor(code: ErrorCode, message: string, hint = "", options?: { cause?: unknown; wording?: OptionWording }) {
    super(message, options);
    this.name = "SuperfaasError";
    this.code = code;
    this.hint = hint;
    this.wording = options?.wording;
  }

  /** The same error with the options it names shown by `names` (the CLI's flags); itself when it names none. */
  reworded(names: OptionNames): SuperfaasError {
    if (!this.wording) return this;
    const { message, hint } = this.wording(names);
    return new SuperfaasError(this.code, message, hint, { cause: this.cause, wording: this.wording });
  }
}

/** An error whose message and hint name options of `run()`, worded for the library until a front end rewords it. */
export function optionError(code: ErrorCode, wording: OptionWording, options?: { cause?: unknown }): SuperfaasError {
  const { message, hint } = wording(OPTION_NAMES);
  return new SuperfaasError(code, message, hint, { ...options, wording });
}

/** A duration for people, in seconds (the unit of the CLI's `--timeout`): `0.5 s`, `900 s`. */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toPrecision(6))} s`;
}

/** What a backend knows about a task that ran out of memory: how much it had, and how to give it more. */
export interface OutOfMemory {
  /** The memory the attempt had, in MB (the function's or container's size, or a worker's heap limit). */
  memoryMb: number;
  /** What that memory is: "function memory", "action memory", "worker heap". */
  what: string;
  /** The setting that raises it, as the user gives it (e.g. "--memory", "--max-heap-mb"). */
  setting: string;
  /** The most the platform allows, in MB, when known. */
  maxMb?: number;
  /** What the platform said (the evidence), for the message. */
  evidence: string;
}

/** A time limit of the platform's own (a function's or action's), as the user sets it. */
export interface TimeLimit {
  /** The setting that raises it, as the user gives it (e.g. "--function-timeout"). */
  setting: string;
  /** Its value for the attempt, in seconds. */
  seconds: number;
  /** The most the platform allows, in seconds, when known. */
  maxSeconds?: number;
}

/** A failure of one task attempt as reported by a backend; `retryable` tells the scheduler whether another attempt may succeed. */
export class TaskError extends Error {
  readonly retryable: boolean;
  /** Where it happened: `remote` for the job's own code, `platform` for the backend or transport, `timeout` for a deadline. */
  readonly origin: "remote" | "platform" | "timeout";
  readonly remoteStack: string | undefined;
  /** When set, the scheduler waits at least this long before the next attempt (throttling hints). */
  readonly retryAfterMs: number | undefined;
  /** The platform refused the attempt for load (HTTP 429): the scheduler slows down instead of counting a failure. */
  readonly throttled: boolean;
  /** Time the platform billed for this failed attempt (a function error or time-out is billed like a success). */
  billedMs: number | undefined;
  /** The failed attempt started a new execution environment (a cold start is paid for whether the attempt succeeds or not). */
  coldStart: boolean | undefined;
  /** Set when the attempt ran out of memory: never retried with the same memory, reported as OUT_OF_MEMORY. */
  readonly outOfMemory: OutOfMemory | undefined;
  /** Most retries a failure of this kind gets, when fewer than the run's (a process exit the job chose: one). */
  readonly maxRetries: number | undefined;
  /** Set when the platform's own time limit ended the attempt (not the run's deadline): the setting that raises it. */
  readonly timeLimit: TimeLimit | undefined;
  /** For a throttled attempt: the platform's limit that refused it and how to raise it, named when throttling ends a run. */
  readonly throttleLimit: string | undefined;
  constructor(
    message: string,
    opts: {
      retryable: boolean;
      origin: "remote" | "platform" | "timeout";
      remoteName?: string;
      remoteStack?: string;
      retryAfterMs?: number;
      throttled?: boolean;
      cause?: unknown;
      outOfMemory?: OutOfMemory;
      maxRetries?: number;
      timeLimit?: TimeLimit;
      throttleLimit?: string;
    },
  ) {
    super(message, { cause: opts.cause });
    this.name = opts.remoteName ?? "TaskError";
    this.retryable = opts.retryable;
    this.origin = opts.origin;
    this.remoteStack = opts.remoteStack;
    this.retryAfterMs = opts.retryAfterMs;
    this.throttled = opts.throttled ?? false;
    this.outOfMemory = opts.outOfMemory;
    this.maxRetries = opts.maxRetries;
    this.timeLimit = opts.timeLimit;
    this.throttleLimit = opts.throttleLimit;
    this.billedMs = undefined;
    this.coldStart = undefined;
  }
}

/** Thrown from a job's `map` to ask for another attempt (a transient failure such as a flaky download). */
export class RetryableError extends Error {
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = "RetryableError";
  }
}

/** Formats any error as the CLI's single line: `error[CODE]: message — hint`. */
export function formatErrorLine(err: unknown): string {
  if (err instanceof SuperfaasError) return `error[${err.code}]: ${err.message}${err.hint ? ` — ${err.hint}` : ""}`;
  const message = err instanceof Error ? err.message : String(err);
  return `error[INTERNAL]: ${message} — this is a bug in superfaas; rerun with --verbose and report the stack`;
}

/** A TaskError for an attempt that ran out of memory: not retryable, since the same memory would run out again. */
export function outOfMemoryError(oom: OutOfMemory, opts: { cause?: unknown } = {}): TaskError {
  return new TaskError(`ran out of memory (${oom.what} ${oom.memoryMb} MB): ${oom.evidence}`, { retryable: false, origin: "platform", outOfMemory: oom, ...opts });
}
