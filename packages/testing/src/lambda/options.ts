// What startLambdaEmulator takes and the handle it gives: the public types of the loopback Lambda.

/** How to start the loopback Lambda emulator. */
export interface LambdaEmulatorOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  region?: string;
  accountId?: string;
  /** Credentials handed to every execution environment, as Lambda hands them the execution role's. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** How long a new function stays Pending before it becomes Active (default 150 ms). */
  pendingMs?: number;
  /** How long LastUpdateStatus stays InProgress after an update (default 150 ms). */
  updateMs?: number;
  /** Cap on live execution environments across all functions: the account's concurrency (default 32). */
  maxEnvironments?: number;
  /** Idle environments are shut down after this long (default 60 s). */
  idleTimeoutMs?: number;
  /** Extra time every cold start takes before the handler loads (default 0). */
  initDelayMs?: number;
  /** Most memory the account may give a function, in MB (default 3,008, where new AWS accounts are held; 10,240 once raised). */
  maxMemoryMb?: number;
  /** Scaling rate per function: new environments per window (default 1,000 per 10 s, as Lambda). */
  scaling?: { environments?: number; perMs?: number };
  /**
   * "process" (default): each environment is a child process. "inline": handlers run inside the emulator's own
   * process, without isolation, crash or timeout enforcement; for client-side throughput benchmarks only.
   */
  runner?: "process" | "inline";
  /**
   * What the process environments run. "aws-lambda-ric" (the default when scripts/setup.mjs could build it): Node.js 22
   * running AWS's runtime interface client against a Runtime API the environment serves, as nodejs22.x does.
   * "emulator-loop" (the fallback, or with SUPERFAAS_LAMBDA_RIC=0): the emulator's own runtime loop over IPC.
   */
  runtimeClient?: LambdaRuntimeClient;
  /** Parent of the emulator's temporary directory (default the OS temp dir). */
  workDir?: string;
  /**
   * Stragglers on demand: this fraction of invocations (picked from the seed by the order they run in, so a run is
   * reproducible) is slowed by `factor` on the platform side. The handler runs as usual, then its environment holds the
   * answer back (factor − 1) times the run time, busy meanwhile; the REPORT line's Duration and Billed Duration include
   * the wait, and an invocation slowed past the function's timeout times out. Default: none.
   */
  straggle?: { fraction: number; factor: number; seed?: number };
}

/** Counters the tests assert on. */
export interface LambdaEmulatorStats {
  /** API calls by operation name (CreateFunction, UpdateFunctionCode, Invoke, ...). */
  calls: Record<string, number>;
  invocations: number;
  coldStarts: number;
  throttled: number;
  functionErrors: number;
  timeouts: number;
  crashes: number;
  /** Environments killed for reaching the function's memory (Runtime.OutOfMemory). */
  outOfMemory: number;
  environmentsStarted: number;
  /** Most invocations of each function that ran at once. */
  peakConcurrency: Record<string, number>;
  /** TCP connections accepted: with keep-alive clients, about their socket pool's size. */
  connections: number;
  /** Requests refused for their SigV4 signature (missing, malformed, unknown key, mismatch, expired). */
  refusedSignatures: number;
  /** Inactive functions an invocation set Pending again. */
  wakeups: number;
  /** Sum of the Billed Duration of every invocation that ran, failed and timed-out ones and init phases included. */
  billedMs: number;
  /** Invocations the `straggle` option slowed. */
  straggled: number;
}

/** Faults injected into the next invocations (of any function, or of `functionName`). */
export interface LambdaEmulatorFaults {
  /** Answers the next `count` invokes with 429 TooManyRequestsException. */
  throttle(count?: number, opts?: { functionName?: string; reason?: string; retryAfterSeconds?: number }): void;
  /** The handler of the next `count` invocations throws (HTTP 200 + X-Amz-Function-Error: Unhandled). */
  functionError(count?: number, opts?: { functionName?: string; message?: string; name?: string }): void;
  /** The next `count` invocations hang until the function's timeout (or `afterMs`): Sandbox.Timedout, environment killed. */
  timeout(count?: number, opts?: { functionName?: string; afterMs?: number }): void;
  /** The environment of the next `count` invocations exits mid-invocation: Runtime.ExitError. */
  crash(count?: number, opts?: { functionName?: string; exitCode?: number }): void;
  /** The next invocations' environments are killed as at their memory limit `afterMs` into the run (Runtime.OutOfMemory). */
  outOfMemory(count?: number, opts?: { functionName?: string; afterMs?: number }): void;
  /** Answers the next `count` invokes with a 5xx error (default 500 ServiceException). */
  serverError(count?: number, opts?: { functionName?: string; status?: number; type?: string; message?: string }): void;
  /** Keeps the function's updates InProgress (LastUpdateStatus) until the returned function is called. */
  holdUpdates(functionName: string): () => void;
  /** Makes a function Inactive, as Lambda does after a long idle time: the next invocation fails (409) and wakes it. */
  deactivate(functionName: string): void;
  /** Reserved concurrency of a function (as PutFunctionConcurrency); undefined removes it. */
  reserveConcurrency(functionName: string, n: number | undefined): void;
  /** Injected faults not yet consumed. */
  pending(): number;
  clear(): void;
}

/** A running emulator. */
export interface LambdaEmulator {
  /** Base URL to give the SDK as `endpoint`. */
  endpoint: string;
  port: number;
  region: string;
  /** Which runtime the process environments run (see `LambdaEmulatorOptions.runtimeClient`), so tests can say which ran. */
  runtimeClient: LambdaRuntimeClient;
  /**
   * Credentials for clients. Every request's SigV4 signature is verified with the AWS SDK's signer: signed with these
   * or with `options.credentials` (the environments') it is accepted; otherwise refused with 403.
   */
  credentials: { accessKeyId: string; secretAccessKey: string };
  stats: LambdaEmulatorStats;
  faults: LambdaEmulatorFaults;
  functionNames(): string[];
  /**
   * CloudWatch Logs groups (the emulator also serves CreateLogGroup, PutRetentionPolicy, DeleteRetentionPolicy,
   * DeleteLogGroup and DescribeLogGroups at its endpoint). A function's first invocation creates its group, as its role
   * does on Lambda; groups outlive their functions and keep their logs unless they have a retention.
   */
  logGroups(): { logGroupName: string; creationTime: number; storedBytes: number; retentionInDays?: number }[];
  /** The function's configuration as GetFunctionConfiguration returns it. */
  getFunction(name: string): Record<string, unknown> | undefined;
  environments(): { id: number; functionName: string; busy: boolean; pid: number | undefined; logStreamName: string }[];
  /** Stops the server, kills every environment and removes the temporary files. */
  close(): Promise<void>;
}

/** Which runtime the process environments run: AWS's runtime interface client, or the emulator's own loop. */
export type LambdaRuntimeClient = "aws-lambda-ric" | "emulator-loop";
