// Functions: CreateFunction, UpdateFunctionCode, UpdateFunctionConfiguration and DeleteFunction with Lambda's checks
// and words, and the state machine behind them (State Pending -> Active, LastUpdateStatus InProgress -> Successful,
// Inactive after a long idle time until an invocation wakes it).
import { randomUUID } from "node:crypto";
import { ApiError, validation } from "./api-error.js";
import { checkZip, makeLive } from "./code.js";
import type { Code, Emulator, FunctionConfig, FunctionRecord, LoggingConfig } from "./model.js";
import { DEPRECATED_RUNTIMES, MEMORY, RESERVED_ENV, RUNTIMES, TIMEOUT } from "./profile.js";

/** The fields of CreateFunction and UpdateFunctionConfiguration the emulator reads, as a client may send them. */
export interface FunctionRequest {
  FunctionName?: unknown;
  PackageType?: unknown;
  MemorySize?: unknown;
  Timeout?: unknown;
  Role?: unknown;
  Runtime?: unknown;
  Handler?: unknown;
  Description?: string;
  Environment?: { Variables?: Record<string, string> };
  LoggingConfig?: LoggingConfig;
  Code?: { ZipFile?: unknown };
  Architectures?: unknown;
  Tags?: Record<string, string>;
}

/** The fields of UpdateFunctionCode the emulator reads. */
export interface CodeRequest {
  ZipFile?: unknown;
  Architectures?: unknown;
  DryRun?: boolean;
}

/** Lambda's timestamp format: 2026-11-25T16:54:20.123+0000. */
const lambdaDate = (d = new Date()): string => d.toISOString().replace("Z", "+0000");

/** Runs `f` after `ms` without keeping the process alive for it. */
export const later = (ms: number, f: () => unknown): void => {
  const t = setTimeout(f, ms);
  t.unref?.();
};

export const arnOf = (emu: Emulator, name: string): string => `arn:aws:lambda:${emu.region}:${emu.accountId}:function:${name}`;

/** The function a path names: a name, a partial ARN (ACCOUNT:function:NAME) or a full ARN, with an optional :$LATEST qualifier. */
export function lookup(emu: Emulator, raw: string): FunctionRecord {
  const s = decodeURIComponent(raw);
  const i = s.indexOf("function:");
  const name = (i >= 0 ? s.slice(i + "function:".length) : s).split(":")[0] ?? "";
  const fn = emu.functions.get(name);
  if (!fn) throw new ApiError(404, "ResourceNotFoundException", `Function not found: ${arnOf(emu, name)}`);
  return fn;
}

function checkConfig(emu: Emulator, body: FunctionRequest, current?: FunctionConfig) {
  const memory = (body.MemorySize ?? current?.MemorySize ?? MEMORY.default) as number;
  if (!Number.isInteger(memory) || memory < MEMORY.min) throw validation("memorySize", memory, `Member must have value greater than or equal to ${MEMORY.min}`);
  if (memory > MEMORY.max) throw validation("memorySize", memory, `Member must have value less than or equal to ${MEMORY.max}`);
  // An account held below the API's 10,240 MB (new accounts are held at 3,008 MB until their quota is raised): Lambda
  // answers in these words (ValidationException, HTTP 400).
  if (memory > emu.maxMemoryMb) throw new ApiError(400, "ValidationException", `'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to ${emu.maxMemoryMb}`);
  const timeout = (body.Timeout ?? current?.Timeout ?? TIMEOUT.default) as number;
  if (!Number.isInteger(timeout) || timeout < TIMEOUT.min) throw validation("timeout", timeout, `Member must have value greater than or equal to ${TIMEOUT.min}`);
  if (timeout > TIMEOUT.max) throw validation("timeout", timeout, `Member must have value less than or equal to ${TIMEOUT.max}`);
  const role = body.Role ?? current?.Role;
  if (typeof role !== "string" || !/^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/.test(role)) {
    throw validation("role", role, "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+");
  }
  const runtime = (body.Runtime ?? current?.Runtime) as string;
  if (DEPRECATED_RUNTIMES.test(runtime ?? "")) {
    throw new ApiError(400, "InvalidParameterValueException", `The runtime parameter of ${runtime} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.`);
  }
  if (!RUNTIMES.has(runtime)) throw validation("runtime", runtime, `Member must satisfy enum value set: [${[...RUNTIMES].join(", ")}]`);
  const handler = body.Handler ?? current?.Handler;
  if (typeof handler !== "string" || !/^[^\s]+$/.test(handler) || handler.length > 128) throw validation("handler", handler, "Member must satisfy regular expression pattern: [^\\s]+");
  const variables = body.Environment?.Variables ?? current?.Environment?.Variables ?? {};
  const reserved = Object.keys(variables).filter((k) => RESERVED_ENV.has(k));
  if (reserved.length) {
    throw new ApiError(
      400,
      "InvalidParameterValueException",
      `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(", ")}`,
    );
  }
  return { memory, timeout, role, runtime, handler, variables };
}

/** LoggingConfig as Lambda keeps it: Text or JSON; JSON adds the log levels. */
function loggingConfig(asked: LoggingConfig | undefined, current: LoggingConfig): LoggingConfig {
  if (asked === undefined) return current;
  const format = asked.LogFormat ?? current.LogFormat;
  if (!["Text", "JSON"].includes(format as string)) throw validation("loggingConfig.logFormat", format, "Member must satisfy enum value set: [JSON, Text]");
  const out: LoggingConfig = { LogFormat: format, LogGroup: asked.LogGroup ?? current.LogGroup };
  if (format === "JSON") Object.assign(out, { ApplicationLogLevel: asked.ApplicationLogLevel ?? current.ApplicationLogLevel ?? "INFO", SystemLogLevel: asked.SystemLogLevel ?? current.SystemLogLevel ?? "INFO" });
  return out;
}

/** Kills the idle environments of a function's older code. */
function retire(emu: Emulator, fn: FunctionRecord): void {
  for (const env of [...emu.envs]) if (env.fnName === fn.name && env.generation !== fn.live?.generation && !env.busy) env.kill();
}

/** CreateFunction: the function is Pending until its code is unzipped and `pendingMs` has passed. */
export function createFunction(emu: Emulator, body: FunctionRequest): FunctionConfig {
  const name = body.FunctionName;
  if (typeof name !== "string" || !/^[a-zA-Z0-9-_]{1,64}$/.test(name)) throw validation("functionName", name, "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and length 1-64");
  if (body.PackageType && body.PackageType !== "Zip") throw new ApiError(400, "InvalidParameterValueException", "The emulator runs Zip packages only.");
  const cfg = checkConfig(emu, body);
  const code = checkZip(body.Code?.ZipFile, body.Architectures);
  if (emu.functions.has(name)) throw new ApiError(409, "ResourceConflictException", `Function already exist: ${name}`);
  const fn: FunctionRecord = {
    name,
    reserved: undefined,
    inFlight: 0,
    tags: body.Tags ?? {},
    generation: 1,
    deleted: false,
    spawns: [],
    code,
    config: {
      FunctionName: name,
      FunctionArn: arnOf(emu, name),
      Runtime: cfg.runtime,
      Role: cfg.role,
      Handler: cfg.handler,
      CodeSize: code.zip.length,
      Description: body.Description ?? "",
      Timeout: cfg.timeout,
      MemorySize: cfg.memory,
      LastModified: lambdaDate(),
      CodeSha256: code.sha,
      Version: "$LATEST",
      Environment: { Variables: cfg.variables },
      TracingConfig: { Mode: "PassThrough" },
      RevisionId: randomUUID(),
      State: "Pending",
      StateReason: "The function is being created.",
      StateReasonCode: "Creating",
      PackageType: "Zip",
      Architectures: code.architectures,
      EphemeralStorage: { Size: 512 },
      LoggingConfig: loggingConfig(body.LoggingConfig, { LogFormat: "Text", LogGroup: `/aws/lambda/${name}` }),
    },
  };
  emu.functions.set(name, fn);
  const live = makeLive(emu, fn, 1, code, fn.config);
  later(emu.pendingMs, async () => {
    fn.live = await live;
    if (emu.functions.get(name) !== fn) return;
    delete fn.config.StateReason;
    delete fn.config.StateReasonCode;
    Object.assign(fn.config, { State: "Active", LastUpdateStatus: "Successful" });
  });
  return fn.config;
}

/** Lambda reclaimed an idle function: Inactive, no environments, until an invocation wakes it. */
export function deactivate(emu: Emulator, fn: FunctionRecord): void {
  Object.assign(fn.config, { State: "Inactive", StateReason: "The function is inactive because it has not been invoked for a long time.", StateReasonCode: "Idle" });
  for (const env of [...emu.envs]) if (env.fnName === fn.name && !env.busy) env.kill();
}

/** An invocation of an Inactive function: Pending until its resources are back. */
export function wake(emu: Emulator, fn: FunctionRecord): void {
  emu.stats.wakeups++;
  Object.assign(fn.config, { State: "Pending", StateReason: "The function is being restored.", StateReasonCode: "Restoring" });
  later(emu.pendingMs, () => {
    if (emu.functions.get(fn.name) !== fn || fn.config.State !== "Pending") return;
    delete fn.config.StateReason;
    delete fn.config.StateReasonCode;
    fn.config.State = "Active";
  });
}

function assertUpdatable(fn: FunctionRecord): void {
  if (fn.config.State === "Pending" || fn.config.LastUpdateStatus === "InProgress") {
    throw new ApiError(409, "ResourceConflictException", `The operation cannot be performed at this time. An update is in progress for resource: ${fn.config.FunctionArn}`);
  }
}

function beginUpdate(emu: Emulator, fn: FunctionRecord, code: Code): void {
  Object.assign(fn.config, {
    LastModified: lambdaDate(),
    RevisionId: randomUUID(),
    LastUpdateStatus: "InProgress",
    LastUpdateStatusReason: "The function is being created.",
    LastUpdateStatusReasonCode: "Creating",
  });
  const generation = ++fn.generation;
  const snapshot = structuredClone(fn.config);
  const live = makeLive(emu, fn, generation, code, snapshot);
  const finish = async () => {
    const next = await live;
    if (emu.functions.get(fn.name) !== fn) return;
    fn.live = next;
    delete fn.config.LastUpdateStatusReason;
    delete fn.config.LastUpdateStatusReasonCode;
    fn.config.LastUpdateStatus = "Successful";
    retire(emu, fn);
  };
  // A held function keeps its update InProgress until the test releases it.
  later(emu.updateMs, () => (fn.hold ? (fn.hold.pending = finish) : void finish()));
}

/** UpdateFunctionCode (a DryRun only checks the zip). */
export function updateCode(emu: Emulator, fn: FunctionRecord, body: CodeRequest): FunctionConfig {
  assertUpdatable(fn);
  const code = checkZip(body.ZipFile, body.Architectures ?? fn.config.Architectures);
  if (body.DryRun) return { ...fn.config, CodeSha256: code.sha, CodeSize: code.zip.length };
  fn.code = code;
  Object.assign(fn.config, { CodeSha256: code.sha, CodeSize: code.zip.length, Architectures: code.architectures });
  beginUpdate(emu, fn, code);
  return fn.config;
}

/** UpdateFunctionConfiguration. */
export function updateConfiguration(emu: Emulator, fn: FunctionRecord, body: FunctionRequest): FunctionConfig {
  assertUpdatable(fn);
  const cfg = checkConfig(emu, body, fn.config);
  Object.assign(fn.config, {
    Role: cfg.role,
    Runtime: cfg.runtime,
    Handler: cfg.handler,
    MemorySize: cfg.memory,
    Timeout: cfg.timeout,
    Environment: { Variables: cfg.variables },
    LoggingConfig: loggingConfig(body.LoggingConfig, fn.config.LoggingConfig),
    ...(body.Description !== undefined ? { Description: body.Description } : {}),
  });
  beginUpdate(emu, fn, fn.code);
  return fn.config;
}

/** DeleteFunction: gone at once; its busy environments finish their invocation first. */
export function deleteFunction(emu: Emulator, fn: FunctionRecord): void {
  emu.functions.delete(fn.name);
  fn.deleted = true;
  for (const env of [...emu.envs]) if (env.fnName === fn.name && !env.busy) env.kill();
}
