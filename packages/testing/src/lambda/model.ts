// The emulator's inner shapes: the state every part works on (functions, execution environments, faults, log groups,
// counters) and the messages between the emulator and its execution environments. Types only.
import type { ChildProcess } from "node:child_process";
import type { LambdaEmulatorStats, LambdaRuntimeClient } from "./options.js";

/** LoggingConfig as Lambda keeps it: Text or JSON; JSON adds the log levels. */
export interface LoggingConfig {
  LogFormat?: string;
  LogGroup?: string;
  ApplicationLogLevel?: string;
  SystemLogLevel?: string;
}

/** A function's configuration, as GetFunctionConfiguration answers it (its keys in Lambda's order). */
export interface FunctionConfig {
  FunctionName: string;
  FunctionArn: string;
  Runtime: string;
  Role: string;
  Handler: string;
  CodeSize: number;
  Description: string;
  Timeout: number;
  MemorySize: number;
  LastModified: string;
  CodeSha256: string;
  Version: string;
  Environment: { Variables: Record<string, string> };
  TracingConfig: { Mode: string };
  RevisionId: string;
  State: string;
  StateReason?: string;
  StateReasonCode?: string;
  PackageType: string;
  Architectures: string[];
  EphemeralStorage: { Size: number };
  LoggingConfig: LoggingConfig;
  LastUpdateStatus?: string;
  LastUpdateStatusReason?: string;
  LastUpdateStatusReasonCode?: string;
}

/** A deployment package, checked and unzipped. */
export interface Code {
  zip: Buffer;
  files: Record<string, Uint8Array>;
  sha: string;
  architectures: string[];
}

/** What new execution environments of a function run: the code generation and configuration of its last completed update. */
export interface Live {
  generation: number;
  codeDir: string;
  memorySize: number;
  timeout: number;
  handler: string;
  runtime: string;
  variables: Record<string, string>;
  logFormat: string;
  /** The loaded handler, for the inline runner. */
  inline?: { handler: (event: unknown, context: unknown) => unknown; initMs: number } | undefined;
}

/** One function of the emulator. */
export interface FunctionRecord {
  name: string;
  /** Reserved concurrency (PutFunctionConcurrency), if any. */
  reserved: number | undefined;
  inFlight: number;
  tags: Record<string, string>;
  generation: number;
  deleted: boolean;
  /** When its recent environments started (performance.now()), for the scaling rate. */
  spawns: number[];
  code: Code;
  config: FunctionConfig;
  live?: Live;
  /** Set by faults.holdUpdates: the update that completes when the test lets it. */
  hold?: { pending: (() => Promise<void>) | undefined } | undefined;
}

/** A CloudWatch Logs group. */
export interface LogGroup {
  logGroupName: string;
  creationTime: number;
  storedBytes: number;
  createdBy: "api" | "function";
  retentionInDays?: number;
}

/** A fault the emulator injects into the next invocations. */
export type FaultKind = "throttle" | "error" | "timeout" | "crash" | "oom" | "server";
export interface Fault {
  kind: FaultKind;
  remaining: number;
  functionName?: string;
  reason?: string;
  retryAfterSeconds?: number;
  message?: string;
  name?: string;
  afterMs?: number;
  exitCode?: number;
  status?: number;
  type?: string;
}

/** What an invocation's environment is told to do instead of (or on top of) running the handler. */
export type Inject =
  | { kind: "throw"; message?: string | undefined; name?: string | undefined }
  | { kind: "hang"; afterMs?: number | undefined }
  | { kind: "oom"; afterMs?: number | undefined }
  | { kind: "exit"; code: number };

/** One invocation, as an execution environment gets it. */
export interface InvokeMessage {
  requestId: string;
  event: string;
  arn: string;
  timeoutMs: number;
  inject?: Inject | undefined;
}

/** How an environment's init phase ended. */
export interface InitOutcome {
  type: "ready" | "initError";
  initMs?: number;
  errorType?: string;
  errorMessage?: string;
  trace?: string[];
  exited?: boolean;
}

/** How an invocation ended in its environment: an answer, a function error, the process's exit, or the time limit. */
export interface RunReply {
  type: "result" | "error" | "exit" | "timeout";
  payload?: string;
  errorType?: string;
  errorMessage?: string;
  trace?: string[];
  durationMs?: number;
  maxMemoryMb?: number;
  /** "exit": how the process ended (`exit status 1`, `signal: killed`). */
  status?: string;
  outOfMemory?: boolean;
  fatal?: boolean;
  /** The error is the init phase's. */
  init?: boolean;
}

/** An execution environment, whatever runs it. */
export interface Environment {
  readonly id: number;
  readonly fnName: string;
  readonly generation: number;
  readonly memoryMb: number;
  readonly logStreamName: string;
  busy: boolean;
  dead: boolean;
  lastUsed: number;
  idleTimer?: NodeJS.Timeout | undefined;
  child?: ChildProcess | undefined;
  /** Loads the handler; an init that outlasts the timeout is killed. */
  init(delayMs: number, timeoutSeconds: number): Promise<InitOutcome>;
  /** Runs one invocation; resolves with the runtime's reply, `{type:"exit"}` or `{type:"timeout"}`. */
  run(msg: InvokeMessage, timeoutMs: number): Promise<RunReply>;
  /** What the function printed since the last call. */
  takeLog(): string;
  kill(): void;
  /** Kills the environment as at its memory limit. */
  killForMemory?(): void;
}

/** The emulator's settings and state, shared by its parts. */
export interface Emulator {
  region: string;
  accountId: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  pendingMs: number;
  updateMs: number;
  maxEnvironments: number;
  idleTimeoutMs: number;
  initDelayMs: number;
  maxMemoryMb: number;
  straggle: { fraction: number; factor: number; seed?: number } | undefined;
  runner: "process" | "inline";
  runtimeClient: LambdaRuntimeClient;
  scaling: { environments: number; perMs: number };
  envSeq: number;
  workDir: string;
  functions: Map<string, FunctionRecord>;
  envs: Set<Environment>;
  faultQueue: Fault[];
  /** CloudWatch Logs groups: created on a function's first log write (by its role) or through the API; they outlive functions. */
  logGroups: Map<string, LogGroup>;
  /** Code being unzipped for a function's new environments: close() waits for it. */
  extracting: Set<Promise<Live>>;
  stats: LambdaEmulatorStats;
  /** Drops an environment from the set, with its idle timer. */
  forget(env: Environment): void;
}
