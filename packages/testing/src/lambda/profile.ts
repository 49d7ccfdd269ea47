// The stock Lambda the emulator stands in for, as data in one place: the runtimes it takes, the limits of its API and
// of an invocation, and the account's defaults. Every default is the platform's own (or stricter); an option of
// startLambdaEmulator may loosen or tighten a quota, never a wire limit.

/** The runtimes CreateFunction and UpdateFunctionConfiguration accept. */
export const RUNTIMES: ReadonlySet<string> = new Set(["nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x"]);
/** Runtimes Lambda no longer accepts for creating or updating a function (its own words answer them). */
export const DEPRECATED_RUNTIMES = /^nodejs(4\.3|6\.10|8\.10|10\.x|12\.x|14\.x|16\.x)$/;
/** Environment variables Lambda sets itself and refuses in a function's configuration. */
export const RESERVED_ENV: ReadonlySet<string> = new Set([
  "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
  "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
  "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
]);
/** The retention periods CloudWatch Logs' PutRetentionPolicy accepts, in days. */
export const RETENTION_DAYS: readonly number[] = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** Largest synchronous request payload Lambda accepts (6 MiB). */
export const REQUEST_LIMIT = 6 * 1024 * 1024;
/** Largest synchronous response payload, as Lambda enforces it (6,291,556 bytes, 100 more than 6 MiB). */
export const RESPONSE_LIMIT = 6_291_556;
/** Largest zip a CreateFunction or UpdateFunctionCode takes inline (50 MB). */
export const ZIP_LIMIT = 50 * 1024 * 1024;
/** Largest unzipped deployment package (250 MB). */
export const UNZIPPED_LIMIT = 262_144_000;
/** Largest body of any other request: a zip's worth of base64 in JSON, with room for the configuration around it. */
export const CONTROL_BODY_LIMIT = Math.ceil((ZIP_LIMIT * 4) / 3) + 1024 * 1024;
/** The log tail an invocation with X-Amz-Log-Type: Tail gets (its last 4 KB). */
export const LOG_TAIL_BYTES = 4096;

/** A function's memory (MB): the API's bounds and its default. */
export const MEMORY = { min: 128, max: 10240, default: 128 } as const;
/** A function's timeout (s): the API's bounds and its default. */
export const TIMEOUT = { min: 1, max: 900, default: 3 } as const;
/** ListFunctions' page size: MaxItems 1..50, 50 when not asked. */
export const LIST_PAGE = { max: 50 } as const;

/** The account and the emulator's timing when startLambdaEmulator is not told otherwise. */
export const DEFAULTS = {
  region: "us-east-1",
  accountId: "123456789012",
  /** The execution role's credentials, as every execution environment gets them. */
  credentials: { accessKeyId: "AKIAEMULATOR", secretAccessKey: "emulator-secret" },
  /** How long a new (or woken) function stays Pending, ms. */
  pendingMs: 150,
  /** How long an update stays InProgress, ms. */
  updateMs: 150,
  /** Live execution environments across all functions: the account's concurrency. */
  maxEnvironments: 32,
  /** An idle environment is shut down after this long, ms. */
  idleTimeoutMs: 60_000,
  initDelayMs: 0,
  /**
   * Most memory a function of the account may have, MB: 3,008, where new accounts are held until their quota is raised
   * (PLATFORMS.md), the strictest an account is; pass maxMemoryMb: 10240 for one whose quota was raised.
   */
  maxMemoryMb: 3008,
  /** Lambda's scaling rate: at most this many new environments of one function per window. */
  scaling: { environments: 1000, perMs: 10_000 },
} as const;
