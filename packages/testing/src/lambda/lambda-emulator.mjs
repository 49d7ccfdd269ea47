// A loopback server that speaks enough of the AWS Lambda REST-JSON API (2015-03-31) for the real
// @aws-sdk/client-lambda to drive it: create/get/update/delete functions with their state machine (Pending ->
// Active, LastUpdateStatus InProgress -> Successful), and synchronous invocations run in execution environments
// that are separate Node.js processes holding the unzipped code, one invocation at a time each, reused while warm.
// It answers the way Lambda does (function errors as HTTP 200 + X-Amz-Function-Error, the base64 log tail with its
// REPORT line, 413/429 error shapes) and injects faults on demand. Plain ESM so vitest and bench/ can both use it.
import { createServer } from "node:http";
import { fork, spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, normalize, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { unzipSync } from "fflate";
import { SignatureError, sigV4Verifier } from "./sigv4.mjs";
import { readBody } from "../http-body.mjs";
import { checkStraggle, straggles } from "../straggle.mjs";

/** Largest synchronous request payload Lambda accepts (6 MiB). */
export const REQUEST_LIMIT = 6 * 1024 * 1024;
/** Largest synchronous response payload, as Lambda enforces it (6,291,556 bytes, 100 more than 6 MiB). */
export const RESPONSE_LIMIT = 6_291_556;
const ZIP_LIMIT = 50 * 1024 * 1024;
const UNZIPPED_LIMIT = 262_144_000;
const CONTROL_BODY_LIMIT = Math.ceil((ZIP_LIMIT * 4) / 3) + 1024 * 1024;
const LOG_TAIL_BYTES = 4096;
const RUNTIMES = new Set(["nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x"]);
const DEPRECATED_RUNTIMES = /^nodejs(4\.3|6\.10|8\.10|10\.x|12\.x|14\.x|16\.x)$/;
const RESERVED_ENV = new Set([
  "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
  "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
  "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
]);
/** What the emulator hands its callers; requests signed with these (or with the environments' credentials) are accepted. */
const CLIENT_CREDENTIALS = Object.freeze({ accessKeyId: "AKIDEMULATORCLIENT", secretAccessKey: "emulator-client-secret" });
const RUNTIME_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "runtime.mjs");
// Node.js 22 and AWS's runtime interface client (aws-lambda-ric 4.x, as nodejs22.x runs it), installed and built by
// scripts/setup.mjs into packages/testing/lambda-ric. Without them the emulator's own runtime loop (runtime.mjs) runs.
const RIC_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "lambda-ric", "node_modules");
const RIC_NODE = join(RIC_DIR, "node", "bin", "node");
const RIC_INDEX = join(RIC_DIR, "aws-lambda-ric", "index.mjs");
const RIC_PRELOAD = join(dirname(fileURLToPath(import.meta.url)), "ric-preload.mjs");
/** Whether the real runtime interface client is here: its Node.js 22 binary, its code and its built native part. */
export const RIC_AVAILABLE = existsSync(RIC_NODE) && existsSync(RIC_INDEX) && existsSync(join(RIC_DIR, "aws-lambda-ric", "rapid-client.node"));

// Children are killed when this process exits, however it exits, so a failed test never leaks environments.
const liveChildren = new Set();
let exitHook = false;
function track(child) {
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once("exit", () => {
      for (const c of liveChildren) {
        try {
          c.kill("SIGKILL");
        } catch {
          /* already gone */
        }
      }
    });
  }
}

/** Lambda's timestamp format: 2026-11-25T16:54:20.123+0000. */
const lambdaDate = (d = new Date()) => d.toISOString().replace("Z", "+0000");

class ApiError extends Error {
  constructor(status, type, message, extra = {}, headers = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.extra = extra;
    this.headers = headers;
  }
}
const validation = (field, value, constraint) =>
  new ApiError(400, "ValidationException", `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${constraint}`);

/** What every execution environment has: an id, its function and code generation, and whether it is busy or dead. */
class Env {
  constructor(emu, fn) {
    this.id = ++emu.envSeq;
    this.fnName = fn.name;
    this.generation = fn.live.generation;
    this.memoryMb = fn.live.memorySize;
    this.busy = false;
    this.dead = false;
  }
}

/** The environment variables Lambda sets in an execution environment. */
function environment(emu, fn, logStreamName) {
  const live = fn.live;
  return {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        LANG: "en_US.UTF-8",
        TZ: ":UTC",
        ...live.variables,
        _HANDLER: live.handler,
        LAMBDA_TASK_ROOT: live.codeDir,
        LAMBDA_RUNTIME_DIR: dirname(RUNTIME_SCRIPT),
        AWS_REGION: emu.region,
        AWS_DEFAULT_REGION: emu.region,
        AWS_EXECUTION_ENV: `AWS_Lambda_${live.runtime}`,
        AWS_LAMBDA_FUNCTION_NAME: fn.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(live.memorySize),
        AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
        AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
        AWS_LAMBDA_LOG_STREAM_NAME: logStreamName,
        AWS_LAMBDA_LOG_FORMAT: live.logFormat,
        // Lambda hands every environment the execution role's temporary credentials.
        AWS_ACCESS_KEY_ID: emu.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: emu.credentials.secretAccessKey,
        ...(emu.credentials.sessionToken ? { AWS_SESSION_TOKEN: emu.credentials.sessionToken } : {}),
  };
}

/** An execution environment in its own Node.js process. */
class ProcessEnv extends Env {
  /** `external`: a subclass starts the process and speaks to it itself. */
  constructor(emu, fn, external = false) {
    super(emu, fn);
    this.kind = "emulator-loop";
    this.log = [];
    this.logStreamName = `${new Date().toISOString().slice(0, 10).replaceAll("-", "/")}/[$LATEST]${randomUUID().replaceAll("-", "")}`;
    if (external) return;
    const live = fn.live;
    const heapMb = Math.max(48, Math.floor(live.memorySize * 0.9));
    this.child = fork(RUNTIME_SCRIPT, [], {
      cwd: live.codeDir,
      execArgv: [`--max-old-space-size=${heapMb}`],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: environment(emu, fn, this.logStreamName),
    });
    this.wire(emu);
  }

  wire(emu) {
    track(this.child);
    const onOutput = (chunk) => this.append(chunk.toString("utf8"));
    this.child.stdout?.on("data", onOutput);
    this.child.stderr?.on("data", onOutput);
    this.child.on("message", (msg) => {
      if (msg.type === "log") this.append(msg.text);
      else if (msg.type === "ready" || msg.type === "initError") this.onInit?.(msg);
      else if (msg.type === "result" || msg.type === "error") this.onReply?.(msg);
    });
    this.child.on("error", () => {});
    this.watchMemory();
    this.child.once("exit", (code, signal) => {
      this.dead = true;
      clearInterval(this.memoryTimer);
      const status = signal ? `signal: ${signal === "SIGKILL" ? "killed" : signal}` : `exit status ${code}`;
      const errorType = this.memoryKilled ? "Runtime.OutOfMemory" : "Runtime.ExitError";
      this.onInit?.({ type: "initError", errorType, errorMessage: `Runtime exited with error: ${status}`, exited: true });
      this.onReply?.({ type: "exit", status, ...(this.memoryKilled ? { outOfMemory: true } : {}) });
      emu.forget(this);
    });
  }

  /**
   * Enforces the function's memory as Lambda's cgroup does: an environment whose process's resident memory reaches the
   * memory size is killed (SIGKILL), and the invocation ends with Runtime.OutOfMemory. Linux only (it reads /proc);
   * elsewhere the heap limit the runtime's Node.js gets is the only bound.
   */
  watchMemory() {
    if (process.platform !== "linux" || !this.child?.pid) return;
    const limitMb = this.memoryMb;
    const pid = this.child.pid;
    this.memoryTimer = setInterval(() => {
      // Only a process still running: once it has exited, its pid may belong to another process.
      if (this.dead || this.child.exitCode !== null || this.child.signalCode !== null) return clearInterval(this.memoryTimer);
      let kb;
      try {
        kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
      } catch {
        return clearInterval(this.memoryTimer);
      }
      if (kb / 1024 >= limitMb) this.killForMemory();
    }, 20);
    this.memoryTimer.unref?.();
  }

  /** Kills the environment as at its memory limit (the watcher's verdict, or an injected one). */
  killForMemory() {
    if (this.dead) return;
    this.memoryKilled = true;
    this.kill();
  }

  append(text) {
    this.log.push(text);
    if (this.log.length > 256) this.log.splice(0, this.log.length - 256);
  }

  takeLog() {
    const s = this.log.join("");
    this.log = [];
    return s;
  }

  /** Loads the handler; resolves with `{initMs}` or `{initError...}`. An init that outlasts the timeout is killed. */
  init(delayMs, timeoutSeconds, external = false) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.kill();
        this.onInit?.({ type: "initError", errorType: "Sandbox.Timedout", errorMessage: `Task timed out after ${timeoutSeconds.toFixed(2)} seconds` });
      }, timeoutSeconds * 1000);
      this.onInit = (msg) => {
        clearTimeout(timer);
        this.onInit = undefined;
        resolve(msg);
      };
      if (external) return;
      try {
        this.child.send({ type: "init", delayMs });
      } catch {
        /* the exit handler answers */
      }
    });
  }

  /** Runs one invocation; resolves with the runtime's reply, `{type:"exit"}` or `{type:"timeout"}`. */
  run(msg, timeoutMs, external = false) {
    return new Promise((resolve) => {
      const t0 = performance.now();
      const timer = setTimeout(() => {
        const done = this.onReply;
        this.onReply = undefined;
        this.kill();
        done?.({ type: "timeout", durationMs: performance.now() - t0 });
      }, timeoutMs);
      this.onReply = (reply) => {
        clearTimeout(timer);
        this.onReply = undefined;
        resolve({ durationMs: performance.now() - t0, ...reply });
      };
      if (external) return;
      try {
        this.child.send({ type: "invoke", ...msg });
      } catch {
        /* the exit handler answers */
      }
    });
  }

  kill() {
    this.dead = true;
    try {
      this.child?.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  }
}

/**
 * An execution environment as nodejs22.x runs it: Node.js 22 running AWS's runtime interface client
 * (`aws-lambda-ric index.handler`) against a Runtime API (2018-06-01) this environment serves on loopback. The
 * client loads the handler (init ends at its first GET .../invocation/next, or with POST .../init/error), then
 * takes one invocation at a time and answers on .../response or .../error.
 */
class RicEnv extends ProcessEnv {
  constructor(emu, fn) {
    super(emu, fn, true);
    this.kind = "aws-lambda-ric";
    this.pendingNext = undefined;
    this.queued = undefined;
    this.current = undefined;
    this.initDone = false;
    this.started = this.start(emu, fn);
  }

  async start(emu, fn) {
    const live = fn.live;
    this.server = createServer((req, res) => this.serve(req, res));
    await new Promise((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    if (this.dead) return void this.server.close();
    const heapMb = Math.max(48, Math.floor(live.memorySize * 0.9));
    this.child = spawn(RIC_NODE, [`--max-old-space-size=${heapMb}`, "--import", pathToFileURL(RIC_PRELOAD).href, RIC_INDEX, live.handler], {
      cwd: live.codeDir,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: { ...environment(emu, fn, this.logStreamName), AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${this.server.address().port}` },
    });
    this.child.once("exit", (code, signal) => {
      this.server.close();
      const status = signal ? `signal: ${signal === "SIGKILL" ? "killed" : signal}` : `exit status ${code}`;
      this.initEnded({ type: "initError", errorType: this.memoryKilled ? "Runtime.OutOfMemory" : "Runtime.ExitError", errorMessage: `Runtime exited with error: ${status}`, exited: true });
    });
    this.wire(emu);
  }

  serve(req, res) {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const path = req.url ?? "";
      if (req.method === "GET" && path === "/2018-06-01/runtime/invocation/next") {
        this.pendingNext = res;
        if (!this.initDone) this.initEnded({ type: "ready" });
        return this.deliver();
      }
      const done = (status = 202) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(status === 202 ? '{"status":"OK"}' : "{}");
      };
      if (req.method === "POST" && path === "/2018-06-01/runtime/init/error") {
        done();
        return this.initEnded({ type: "initError", ...parseError(body) });
      }
      const m = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path);
      if (req.method === "POST" && m && this.current === decodeURIComponent(m[1])) {
        this.current = undefined;
        done();
        const maxMemoryMb = this.peakMemoryMb();
        return this.onReply?.(m[2] === "response" ? { type: "result", payload: body, maxMemoryMb } : { type: "error", ...parseError(body), maxMemoryMb });
      }
      done(400);
    });
  }

  /** The init phase's outcome, kept for init() when it comes before init() asks. */
  initEnded(msg) {
    if (this.initDone) return;
    this.initDone = true;
    this.initResult = msg;
    this.onInit?.(msg);
  }

  /** Hands the queued invocation to the client's waiting GET .../next. */
  deliver() {
    if (!this.pendingNext || !this.queued) return;
    const { msg } = this.queued;
    this.queued = undefined;
    const res = this.pendingNext;
    this.pendingNext = undefined;
    this.current = msg.requestId;
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Lambda-Runtime-Aws-Request-Id": msg.requestId,
      "Lambda-Runtime-Deadline-Ms": String(Date.now() + msg.timeoutMs),
      "Lambda-Runtime-Invoked-Function-Arn": msg.arn,
    });
    res.end(msg.event);
  }

  /** Peak resident memory of the environment's process (VmHWM), as Lambda's REPORT line has it. */
  peakMemoryMb() {
    try {
      const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${this.child.pid}/status`, "utf8"))?.[1] ?? 0);
      return Math.ceil(kb / 1024);
    } catch {
      return 0;
    }
  }

  async init(delayMs, timeoutSeconds) {
    await this.started;
    const t0 = performance.now();
    const msg = this.initResult ?? (await super.init(0, timeoutSeconds, true));
    if (msg.type === "ready" && delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return { ...msg, initMs: performance.now() - t0 };
  }

  run(msg, timeoutMs) {
    if (msg.inject?.kind === "throw") {
      // A platform-injected function error: answered here, the environment lives on, as after a handled throw.
      const err = { errorType: msg.inject.name || "Error", errorMessage: msg.inject.message ?? "injected function error" };
      const trace = [`${err.errorType}: ${err.errorMessage}`, "    at injectedFailure (file:///var/runtime/emulator-fault.mjs:1:1)"];
      return Promise.resolve({ type: "error", ...err, trace, durationMs: 0, maxMemoryMb: this.peakMemoryMb() });
    }
    const reply = super.run(msg, timeoutMs, true);
    if (msg.inject?.kind === "exit") {
      // A crash in the middle of the invocation: the client blocks the event loop in its native GET .../next, so
      // the exit order goes over IPC first and the event after it; once the handler has run, before the client
      // posts its response (it waits a setImmediate), ric-preload.mjs reads the order and exits with that status.
      try {
        this.child.send({ type: "exit", code: msg.inject.code ?? 1 }, () => {
          this.queued = { msg };
          this.deliver();
        });
      } catch {
        this.kill();
      }
    } else if (msg.inject?.kind !== "hang") {
      // A hang holds the event back; the timer kills the environment as Lambda does at the time limit.
      this.queued = { msg };
      this.deliver();
    }
    return reply;
  }

  kill() {
    super.kill();
    this.server?.close();
    this.server?.closeAllConnections?.();
  }
}

function parseError(body) {
  try {
    const e = JSON.parse(body);
    return { errorType: String(e.errorType ?? "Error"), errorMessage: String(e.errorMessage ?? ""), trace: Array.isArray(e.trace) ? e.trace : [] };
  } catch {
    return { errorType: "Runtime.Unknown", errorMessage: body, trace: [] };
  }
}

/**
 * An "environment" that runs the handler inside the emulator's own process: no isolation, no crash or timeout
 * enforcement, but no process either. For throughput benchmarks of the client side only.
 */
class InlineEnv extends Env {
  constructor(emu, fn) {
    super(emu, fn);
    this.live = fn.live;
    this.logStreamName = `inline/[$LATEST]${this.id}`;
    this.emu = emu;
  }

  takeLog() {
    return "";
  }

  async init() {
    const live = this.live;
    if (!live.inline) {
      const t0 = performance.now();
      const dot = live.handler.lastIndexOf(".");
      const file = join(live.codeDir, `${live.handler.slice(0, dot)}.js`);
      try {
        const mod = createRequire(file)(file);
        live.inline = { handler: mod[live.handler.slice(dot + 1)], initMs: performance.now() - t0 };
      } catch (err) {
        return { type: "initError", errorType: "Runtime.ImportModuleError", errorMessage: String(err?.message ?? err) };
      }
      if (typeof live.inline.handler !== "function") {
        live.inline = undefined;
        return { type: "initError", errorType: "Runtime.HandlerNotFound", errorMessage: `${live.handler} is undefined or not exported` };
      }
    }
    return { type: "ready", initMs: live.inline.initMs };
  }

  async run(msg) {
    const t0 = performance.now();
    const context = {
      awsRequestId: msg.requestId,
      functionName: this.fnName,
      functionVersion: "$LATEST",
      invokedFunctionArn: msg.arn,
      memoryLimitInMB: String(this.live.memorySize),
      logStreamName: this.logStreamName,
      getRemainingTimeInMillis: () => msg.timeoutMs,
    };
    try {
      const result = await this.live.inline.handler(JSON.parse(msg.event), context);
      return { type: "result", payload: JSON.stringify(result === undefined ? null : result), durationMs: performance.now() - t0, maxMemoryMb: 0 };
    } catch (err) {
      return { type: "error", errorType: err?.name ?? "Error", errorMessage: err?.message ?? String(err), trace: String(err?.stack ?? "").split("\n"), durationMs: performance.now() - t0, maxMemoryMb: 0 };
    }
  }

  kill() {
    this.dead = true;
    this.emu.forget(this);
  }
}

/**
 * Starts the emulator on loopback. See lambda-emulator.d.mts for the options and the handle it returns.
 * @param {import("./lambda-emulator.d.mts").LambdaEmulatorOptions} [options]
 * @returns {Promise<import("./lambda-emulator.d.mts").LambdaEmulator>}
 */
export async function startLambdaEmulator(options = {}) {
  const emu = {
    region: options.region ?? "us-east-1",
    accountId: options.accountId ?? "123456789012",
    credentials: options.credentials ?? { accessKeyId: "AKIAEMULATOR", secretAccessKey: "emulator-secret" },
    pendingMs: options.pendingMs ?? 150,
    updateMs: options.updateMs ?? 150,
    maxEnvironments: options.maxEnvironments ?? 32,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    initDelayMs: options.initDelayMs ?? 0,
    maxMemoryMb: options.maxMemoryMb ?? 10240,
    straggle: checkStraggle(options.straggle, "Lambda emulator"),
    runner: options.runner ?? "process",
    // Which runtime the process environments run: AWS's runtime interface client when it was built (see RIC_AVAILABLE),
    // else the emulator's own loop. SUPERFAAS_LAMBDA_RIC=0 (or the option) forces the loop.
    runtimeClient: options.runtimeClient ?? (RIC_AVAILABLE && process.env.SUPERFAAS_LAMBDA_RIC !== "0" ? "aws-lambda-ric" : "emulator-loop"),
    scaling: { environments: options.scaling?.environments ?? 1000, perMs: options.scaling?.perMs ?? 10_000 },
    envSeq: 0,
    forget: (env) => forget(env),
  };
  const workDir = await mkdtemp(join(options.workDir ?? tmpdir(), "lambda-emulator-"));
  /** Code being unzipped for a function's new environments (see makeLive). */
  const extracting = new Set();
  /** @type {Map<string, any>} */
  const functions = new Map();
  /** @type {Set<ProcessEnv | InlineEnv>} */
  const envs = new Set();
  const faultQueue = [];
  /** CloudWatch Logs groups: created on a function's first log write (by its role) or through the API; they outlive functions. */
  const logGroups = new Map();
  const ensureLogGroup = (name) => {
    if (!logGroups.has(name)) logGroups.set(name, { logGroupName: name, creationTime: Date.now(), storedBytes: 0, createdBy: "function" });
    return logGroups.get(name);
  };
  const stats = {
    calls: {},
    invocations: 0,
    coldStarts: 0,
    throttled: 0,
    functionErrors: 0,
    timeouts: 0,
    crashes: 0,
    outOfMemory: 0,
    environmentsStarted: 0,
    peakConcurrency: {},
    connections: 0,
    refusedSignatures: 0,
    wakeups: 0,
    billedMs: 0,
    straggled: 0,
  };
  let closed = false;

  function forget(env) {
    envs.delete(env);
    clearTimeout(env.idleTimer);
  }

  const arnOf = (name) => `arn:aws:lambda:${emu.region}:${emu.accountId}:function:${name}`;
  // Accepts a name, a partial ARN (ACCOUNT:function:NAME) or a full ARN, with an optional :$LATEST qualifier.
  const nameOf = (raw) => {
    const s = decodeURIComponent(raw);
    const i = s.indexOf("function:");
    return (i >= 0 ? s.slice(i + "function:".length) : s).split(":")[0];
  };
  const lookup = (raw) => {
    const name = nameOf(raw);
    const fn = functions.get(name);
    if (!fn) throw new ApiError(404, "ResourceNotFoundException", `Function not found: ${arnOf(name)}`);
    return fn;
  };

  function checkConfig(body, current) {
    const memory = body.MemorySize ?? current?.MemorySize ?? 128;
    if (!Number.isInteger(memory) || memory < 128) throw validation("memorySize", memory, "Member must have value greater than or equal to 128");
    if (memory > 10240) throw validation("memorySize", memory, "Member must have value less than or equal to 10240");
    // An account held below the API's 10,240 MB (new accounts are held at 3,008 MB until their quota is raised): Lambda
    // answers in these words (ValidationException, HTTP 400).
    if (memory > emu.maxMemoryMb) throw new ApiError(400, "ValidationException", `'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to ${emu.maxMemoryMb}`);
    const timeout = body.Timeout ?? current?.Timeout ?? 3;
    if (!Number.isInteger(timeout) || timeout < 1) throw validation("timeout", timeout, "Member must have value greater than or equal to 1");
    if (timeout > 900) throw validation("timeout", timeout, "Member must have value less than or equal to 900");
    const role = body.Role ?? current?.Role;
    if (typeof role !== "string" || !/^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/.test(role)) {
      throw validation("role", role, "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+");
    }
    const runtime = body.Runtime ?? current?.Runtime;
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
  function loggingConfig(asked, current) {
    if (asked === undefined) return current;
    const format = asked.LogFormat ?? current.LogFormat;
    if (!["Text", "JSON"].includes(format)) throw validation("loggingConfig.logFormat", format, "Member must satisfy enum value set: [JSON, Text]");
    const out = { LogFormat: format, LogGroup: asked.LogGroup ?? current.LogGroup };
    if (format === "JSON") Object.assign(out, { ApplicationLogLevel: asked.ApplicationLogLevel ?? current.ApplicationLogLevel ?? "INFO", SystemLogLevel: asked.SystemLogLevel ?? current.SystemLogLevel ?? "INFO" });
    return out;
  }

  function checkZip(b64, arch) {
    if (typeof b64 !== "string" || !b64) throw new ApiError(400, "InvalidParameterValueException", "Please provide a source for function code.");
    const zip = Buffer.from(b64, "base64");
    if (zip.length > ZIP_LIMIT) throw new ApiError(413, "RequestEntityTooLargeException", `Request must be smaller than ${CONTROL_BODY_LIMIT} bytes for the CreateFunction operation`);
    let files;
    try {
      files = unzipSync(zip);
    } catch {
      throw new ApiError(400, "InvalidParameterValueException", "Could not unzip uploaded file. Please check your file, then try to upload again.");
    }
    const unzipped = Object.values(files).reduce((s, f) => s + f.length, 0);
    if (unzipped > UNZIPPED_LIMIT) throw new ApiError(400, "InvalidParameterValueException", `Unzipped size must be smaller than ${UNZIPPED_LIMIT} bytes`);
    const architectures = arch ?? ["x86_64"];
    if (!Array.isArray(architectures) || architectures.length !== 1 || !["x86_64", "arm64"].includes(architectures[0])) {
      throw validation("architectures", JSON.stringify(architectures), "Member must have length less than or equal to 1, Member must satisfy enum value set: [x86_64, arm64]");
    }
    return { zip, files, sha: createHash("sha256").update(zip).digest("base64"), architectures };
  }

  async function extract(name, generation, files) {
    const dir = join(workDir, `${name}-${generation}`);
    await mkdir(dir, { recursive: true });
    for (const [path, data] of Object.entries(files)) {
      if (path.endsWith("/")) continue;
      const target = normalize(join(dir, path));
      if (!target.startsWith(dir + sep)) continue; // zip-slip
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, data);
    }
    return dir;
  }

  // What new environments of a function run: applied when a create or an update completes.
  function makeLive(fn, generation, code, cfg) {
    const made = makeLiveNow(fn, generation, code, cfg);
    // close() waits for these: removing the work directory while code is still being written there fails.
    extracting.add(made);
    void made.then(
      () => extracting.delete(made),
      () => extracting.delete(made),
    );
    return made;
  }

  async function makeLiveNow(fn, generation, code, cfg) {
    return {
      generation,
      codeDir: await extract(fn.name, generation, code.files),
      memorySize: cfg.MemorySize,
      timeout: cfg.Timeout,
      handler: cfg.Handler,
      runtime: cfg.Runtime,
      variables: { ...(cfg.Environment?.Variables ?? {}) },
      logFormat: cfg.LoggingConfig?.LogFormat ?? "Text",
    };
  }

  function retire(fn) {
    for (const env of [...envs]) if (env.fnName === fn.name && env.generation !== fn.live?.generation && !env.busy) env.kill();
  }

  const later = (ms, f) => {
    const t = setTimeout(f, ms);
    t.unref?.();
  };

  async function createFunction(body) {
    const name = body.FunctionName;
    if (typeof name !== "string" || !/^[a-zA-Z0-9-_]{1,64}$/.test(name)) throw validation("functionName", name, "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and length 1-64");
    if (body.PackageType && body.PackageType !== "Zip") throw new ApiError(400, "InvalidParameterValueException", "The emulator runs Zip packages only.");
    const cfg = checkConfig(body);
    const code = checkZip(body.Code?.ZipFile, body.Architectures);
    if (functions.has(name)) throw new ApiError(409, "ResourceConflictException", `Function already exist: ${name}`);
    const fn = {
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
        FunctionArn: arnOf(name),
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
    functions.set(name, fn);
    const live = makeLive(fn, 1, code, fn.config);
    later(emu.pendingMs, async () => {
      fn.live = await live;
      if (functions.get(name) !== fn) return;
      delete fn.config.StateReason;
      delete fn.config.StateReasonCode;
      Object.assign(fn.config, { State: "Active", LastUpdateStatus: "Successful" });
    });
    return fn.config;
  }

  /** Lambda reclaimed an idle function: Inactive, no environments, until an invocation wakes it. */
  function deactivate(fn) {
    Object.assign(fn.config, { State: "Inactive", StateReason: "The function is inactive because it has not been invoked for a long time.", StateReasonCode: "Idle" });
    for (const env of [...envs]) if (env.fnName === fn.name && !env.busy) env.kill();
  }

  function wake(fn) {
    stats.wakeups++;
    Object.assign(fn.config, { State: "Pending", StateReason: "The function is being restored.", StateReasonCode: "Restoring" });
    later(emu.pendingMs, () => {
      if (functions.get(fn.name) !== fn || fn.config.State !== "Pending") return;
      delete fn.config.StateReason;
      delete fn.config.StateReasonCode;
      fn.config.State = "Active";
    });
  }

  function assertUpdatable(fn) {
    if (fn.config.State === "Pending" || fn.config.LastUpdateStatus === "InProgress") {
      throw new ApiError(409, "ResourceConflictException", `The operation cannot be performed at this time. An update is in progress for resource: ${fn.config.FunctionArn}`);
    }
  }

  function beginUpdate(fn, code) {
    Object.assign(fn.config, {
      LastModified: lambdaDate(),
      RevisionId: randomUUID(),
      LastUpdateStatus: "InProgress",
      LastUpdateStatusReason: "The function is being created.",
      LastUpdateStatusReasonCode: "Creating",
    });
    const generation = ++fn.generation;
    const snapshot = structuredClone(fn.config);
    const live = makeLive(fn, generation, code, snapshot);
    const finish = async () => {
      const next = await live;
      if (functions.get(fn.name) !== fn) return;
      fn.live = next;
      delete fn.config.LastUpdateStatusReason;
      delete fn.config.LastUpdateStatusReasonCode;
      fn.config.LastUpdateStatus = "Successful";
      retire(fn);
    };
    // A held function keeps its update InProgress until the test releases it.
    later(emu.updateMs, () => (fn.hold ? (fn.hold.pending = finish) : void finish()));
  }

  function updateCode(fn, body) {
    assertUpdatable(fn);
    const code = checkZip(body.ZipFile, body.Architectures ?? fn.config.Architectures);
    if (body.DryRun) return { ...fn.config, CodeSha256: code.sha, CodeSize: code.zip.length };
    fn.code = code;
    Object.assign(fn.config, { CodeSha256: code.sha, CodeSize: code.zip.length, Architectures: code.architectures });
    beginUpdate(fn, code);
    return fn.config;
  }

  function updateConfiguration(fn, body) {
    assertUpdatable(fn);
    const cfg = checkConfig(body, fn.config);
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
    beginUpdate(fn, fn.code);
    return fn.config;
  }

  function deleteFunction(fn) {
    functions.delete(fn.name);
    fn.deleted = true;
    for (const env of [...envs]) if (env.fnName === fn.name && !env.busy) env.kill();
  }

  // ---- invocations ----

  function takeFault(fnName, kinds) {
    const i = faultQueue.findIndex((f) => kinds.includes(f.kind) && (!f.functionName || f.functionName === fnName));
    if (i < 0) return undefined;
    const f = faultQueue[i];
    if (--f.remaining <= 0) faultQueue.splice(i, 1);
    return f;
  }

  const throttle = (reason, retryAfterSeconds) => {
    stats.throttled++;
    return new ApiError(429, "TooManyRequestsException", "Rate Exceeded.", { Reason: reason }, retryAfterSeconds !== undefined ? { "Retry-After": String(retryAfterSeconds) } : {});
  };

  function acquire(fn) {
    for (const env of envs) {
      if (env.fnName === fn.name && env.generation === fn.live.generation && !env.busy && !env.dead) {
        clearTimeout(env.idleTimer);
        env.busy = true;
        return { env, cold: false };
      }
    }
    // Scaling rate: at most `scaling.environments` new environments per `scaling.perMs` for one function.
    const now = performance.now();
    fn.spawns = fn.spawns.filter((t) => now - t < emu.scaling.perMs);
    if (fn.spawns.length >= emu.scaling.environments) throw throttle("FunctionInvocationRateLimitExceeded");
    if (envs.size >= emu.maxEnvironments) {
      // Make room by retiring an idle environment of another function (or of older code), as Lambda does.
      const idle = [...envs].filter((e) => !e.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (!idle) throw throttle("ConcurrentInvocationLimitExceeded");
      idle.kill();
      forget(idle);
    }
    const env = emu.runner === "inline" ? new InlineEnv(emu, fn) : emu.runtimeClient === "aws-lambda-ric" ? new RicEnv(emu, fn) : new ProcessEnv(emu, fn);
    env.busy = true;
    envs.add(env);
    fn.spawns.push(now);
    stats.environmentsStarted++;
    return { env, cold: true };
  }

  function release(fn, env) {
    env.busy = false;
    env.lastUsed = performance.now();
    if (env.dead) return forget(env);
    if (fn.deleted || env.generation !== fn.live?.generation) {
      env.kill();
      return forget(env);
    }
    env.idleTimer = setTimeout(() => {
      env.kill();
      forget(env);
    }, emu.idleTimeoutMs);
    env.idleTimer.unref?.();
  }

  /**
   * A slow execution environment: the handler has answered, and the environment holds the answer back (factor − 1)
   * times its run time, busy meanwhile and billed for it. Past the function's timeout it times out as Lambda would.
   */
  async function holdBack(env, reply, factor, timeoutMs) {
    stats.straggled++;
    const ran = reply.durationMs ?? 0;
    const slowed = ran * factor;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(slowed, timeoutMs) - ran)).unref?.());
    if (slowed < timeoutMs) return { ...reply, durationMs: slowed };
    env.kill();
    return { type: "timeout", durationMs: timeoutMs };
  }

  /** Runs one invocation in an environment and builds Lambda's answer: status, headers, body. */
  async function execute(fn, eventText, requestId, inject) {
    const { env, cold } = acquire(fn);
    fn.inFlight++;
    // A straggler (the `straggle` option), picked by the order invocations run in.
    const slowBy = emu.straggle && straggles(emu.straggle, stats.invocations) ? emu.straggle.factor : 1;
    stats.invocations++;
    stats.peakConcurrency[fn.name] = Math.max(stats.peakConcurrency[fn.name] ?? 0, fn.inFlight);
    const live = fn.live;
    const lines = [];
    let initMs = 0;
    let reply;
    try {
      if (cold) {
        stats.coldStarts++;
        const t0 = performance.now();
        const init = await env.init(emu.initDelayMs, live.timeout);
        initMs = performance.now() - t0;
        if (init.type === "initError") {
          env.kill();
          reply = { type: "error", errorType: init.errorType, errorMessage: init.errorMessage, trace: init.trace ?? [], durationMs: 0, maxMemoryMb: 0, init: true };
          lines.push(`${new Date().toISOString()}\tundefined\tERROR\tUncaught Exception \t${JSON.stringify({ errorType: init.errorType, errorMessage: init.errorMessage })}\n`);
          lines.push(`INIT_REPORT Init Duration: ${initMs.toFixed(2)} ms\tPhase: init\tStatus: error\tError Type: ${init.errorType}\n`);
        }
      }
      if (!reply) {
        const timeoutMs = inject?.kind === "hang" && inject.afterMs !== undefined ? inject.afterMs : live.timeout * 1000;
        // An injected out-of-memory kill: the invocation runs, and its environment is killed as at its memory limit.
        const oom = inject?.kind === "oom" ? setTimeout(() => env.killForMemory?.(), inject.afterMs ?? 0) : undefined;
        reply = await env.run({ requestId, event: eventText, arn: fn.config.FunctionArn, timeoutMs: live.timeout * 1000, inject: oom ? undefined : inject }, timeoutMs);
        clearTimeout(oom);
        if (slowBy > 1 && (reply.type === "result" || reply.type === "error")) reply = await holdBack(env, reply, slowBy, live.timeout * 1000);
      }
    } finally {
      fn.inFlight--;
      release(fn, env);
    }
    const logs = env.takeLog();
    const status = 200;
    let body;
    let functionError;
    let reportStatus = "";
    if (reply.type === "result") {
      body = reply.payload;
      if (Buffer.byteLength(body) > RESPONSE_LIMIT) {
        functionError = "Unhandled";
        body = JSON.stringify({ errorType: "Function.ResponseSizeTooLarge", errorMessage: `Response payload size exceeded maximum allowed payload size (${RESPONSE_LIMIT} bytes).` });
        stats.functionErrors++;
      }
    } else if (reply.type === "error") {
      functionError = "Unhandled";
      stats.functionErrors++;
      body = JSON.stringify({ errorType: reply.errorType, errorMessage: reply.errorMessage, trace: reply.trace ?? [] });
      lines.push(`${new Date().toISOString()}\t${requestId}\tERROR\tInvoke Error \t${body}\n`);
      if (reply.fatal || reply.init) reportStatus = `Status: error\tError Type: ${reply.errorType}\t`;
    } else if (reply.type === "timeout") {
      functionError = "Unhandled";
      stats.timeouts++;
      const msg = `Task timed out after ${live.timeout.toFixed(2)} seconds`;
      lines.push(`${new Date().toISOString()} ${requestId} ${msg}\n`);
      body = JSON.stringify({ errorType: "Sandbox.Timedout", errorMessage: `RequestId: ${requestId} Error: ${msg}` });
      reportStatus = "Status: timeout\t";
    } else {
      functionError = "Unhandled";
      stats.crashes++;
      // Killed at the memory limit, Lambda names it Runtime.OutOfMemory (and Max Memory Used is the memory size).
      const errorType = reply.outOfMemory ? "Runtime.OutOfMemory" : "Runtime.ExitError";
      if (reply.outOfMemory) stats.outOfMemory++;
      const msg = `RequestId: ${requestId} Error: Runtime exited with error: ${reply.status}`;
      lines.push(`${msg}\n${errorType}\n`);
      body = JSON.stringify({ errorType, errorMessage: msg });
      reportStatus = `Status: error\tError Type: ${errorType}\t`;
    }
    const durationMs = reply.type === "timeout" ? live.timeout * 1000 : reply.durationMs ?? 0;
    // The init phase is billed (since August 2025), whether the invocation then succeeded, failed or timed out.
    const billedMs = Math.ceil(durationMs + (cold ? initMs : 0));
    stats.billedMs += billedMs;
    const maxMemoryMb = reply.outOfMemory ? live.memorySize : Math.max(1, reply.maxMemoryMb ?? 0);
    let log;
    if (live.logFormat === "JSON") {
      // LoggingConfig.LogFormat = JSON: every platform record is a JSON object of its own line.
      const rec = (type, record) => `${JSON.stringify({ time: new Date().toISOString(), type, record })}\n`;
      const status = reportStatus ? (/timeout/.test(reportStatus) ? "timeout" : "error") : "success";
      const errorType = /Error Type: ([\w.]+)/.exec(reportStatus)?.[1];
      log =
        (cold ? rec("platform.initStart", { initializationType: "on-demand", phase: "init", runtimeVersion: `${live.runtime.replace(".x", "")}.emulated` }) : "") +
        rec("platform.start", { requestId, version: "$LATEST" }) +
        logs +
        lines.map((l) => `${JSON.stringify({ timestamp: new Date().toISOString(), level: "ERROR", requestId, message: l.trimEnd() })}\n`).join("") +
        rec("platform.report", {
          requestId,
          metrics: {
            durationMs: Number(durationMs.toFixed(2)),
            billedDurationMs: billedMs,
            memorySizeMB: live.memorySize,
            maxMemoryUsedMB: maxMemoryMb,
            ...(cold ? { initDurationMs: Number(initMs.toFixed(2)) } : {}),
          },
          status,
          ...(errorType ? { errorType } : {}),
        });
    } else {
      log =
        (cold ? `INIT_START Runtime Version: ${live.runtime.replace(".x", "")}.emulated\tRuntime Version ARN: arn:aws:lambda:${emu.region}::runtime:emulated\n` : "") +
        `START RequestId: ${requestId} Version: $LATEST\n` +
        logs +
        lines.join("") +
        `END RequestId: ${requestId}\n` +
        `REPORT RequestId: ${requestId}\tDuration: ${durationMs.toFixed(2)} ms\tBilled Duration: ${billedMs} ms\tMemory Size: ${live.memorySize} MB\t` +
        `Max Memory Used: ${maxMemoryMb} MB\t${cold ? `Init Duration: ${initMs.toFixed(2)} ms\t` : ""}${reportStatus}\n`;
    }
    // The function's role writes its log to the group, creating the group if it is missing.
    ensureLogGroup(fn.config.LoggingConfig?.LogGroup ?? `/aws/lambda/${fn.name}`).storedBytes += Buffer.byteLength(log);
    return { status, body, functionError, log, cold };
  }

  async function invoke(req, res, fn, requestId, url, buf) {
    const qualifier = url.searchParams.get("Qualifier");
    if (qualifier && qualifier !== "$LATEST") throw new ApiError(404, "ResourceNotFoundException", `Function not found: ${fn.config.FunctionArn}:${qualifier}`);
    const eventText = buf.length ? buf.toString("utf8") : "{}";
    try {
      JSON.parse(eventText);
    } catch (err) {
      throw new ApiError(400, "InvalidRequestContentException", `Could not parse request body into json: ${err.message}`);
    }
    if (fn.config.State === "Inactive") {
      // An invocation of an Inactive function fails, and sets it Pending until its resources are back.
      const state = fn.config.State;
      wake(fn);
      throw new ApiError(409, "ResourceConflictException", `The operation cannot be performed at this time. The function is currently in the following state: ${state}`);
    }
    if (fn.config.State !== "Active" || !fn.live) {
      throw new ApiError(409, "ResourceConflictException", `The operation cannot be performed at this time. The function is currently in the following state: ${fn.config.State}`);
    }
    const type = req.headers["x-amz-invocation-type"] ?? "RequestResponse";
    if (type === "DryRun") return void res.writeHead(204).end();
    const broken = takeFault(fn.name, ["server"]);
    if (broken) throw new ApiError(broken.status ?? 500, broken.type ?? "ServiceException", broken.message ?? "The service encountered an internal error.");
    const throttled = takeFault(fn.name, ["throttle"]);
    if (throttled) throw throttle(throttled.reason ?? "ConcurrentInvocationLimitExceeded", throttled.retryAfterSeconds);
    if (fn.reserved !== undefined && fn.inFlight >= fn.reserved) throw throttle("ReservedFunctionConcurrentInvocationLimitExceeded");
    const fault = takeFault(fn.name, ["error", "timeout", "crash", "oom"]);
    const inject =
      fault &&
      (fault.kind === "error"
        ? { kind: "throw", message: fault.message, name: fault.name }
        : fault.kind === "timeout"
          ? { kind: "hang", afterMs: fault.afterMs }
          : fault.kind === "oom"
            ? { kind: "oom", afterMs: fault.afterMs }
            : { kind: "exit", code: fault.exitCode ?? 1 });
    if (type === "Event") {
      // Asynchronous invocation: accepted at once, run in the background, its outcome discarded.
      res.writeHead(202, { "content-length": "0" }).end();
      execute(fn, eventText, requestId, inject).catch(() => {});
      return;
    }
    const out = await execute(fn, eventText, requestId, inject);
    const headers = {
      "content-type": "application/json",
      "x-amz-executed-version": "$LATEST",
      ...(out.functionError ? { "x-amz-function-error": out.functionError } : {}),
    };
    if (req.headers["x-amz-log-type"] === "Tail") {
      const bytes = Buffer.from(out.log, "utf8");
      headers["x-amz-log-result"] = bytes.subarray(Math.max(0, bytes.length - LOG_TAIL_BYTES)).toString("base64");
    }
    res.writeHead(out.status, headers).end(out.body);
  }

  // ---- HTTP ----

  const readJson = (buf) => {
    try {
      return buf.length ? JSON.parse(buf.toString("utf8")) : {};
    } catch (err) {
      throw new ApiError(400, "SerializationException", `Could not parse request body: ${err.message}`);
    }
  };
  const json = (res, status, value) => {
    if (status === 204) return void res.writeHead(204).end();
    const body = JSON.stringify(value);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  };
  const count = (op) => (stats.calls[op] = (stats.calls[op] ?? 0) + 1);

  const verify = sigV4Verifier({ region: emu.region, service: "lambda", credentials: [emu.credentials, CLIENT_CREDENTIALS] });
  const verifyLogs = sigV4Verifier({ region: emu.region, service: "logs", credentials: [emu.credentials, CLIENT_CREDENTIALS] });
  const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

  /** The part of the CloudWatch Logs API (JSON 1.1, POST / with X-Amz-Target) that log groups of functions need. */
  async function logsApi(req, res, target) {
    const { buf, size } = await readBody(req, CONTROL_BODY_LIMIT);
    if (size >= CONTROL_BODY_LIMIT) throw new ApiError(413, "RequestEntityTooLargeException", "Request too large");
    try {
      await verifyLogs(req, buf);
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      stats.refusedSignatures++;
      throw new ApiError(err.status, err.type, err.message);
    }
    const op = target.slice("Logs_20140328.".length);
    count(op);
    const body = readJson(buf);
    const name = body.logGroupName;
    const missing = () => new ApiError(400, "ResourceNotFoundException", "The specified log group does not exist.");
    const out = (value) => {
      const text = JSON.stringify(value);
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1", "content-length": Buffer.byteLength(text) }).end(text);
    };
    if (op === "CreateLogGroup") {
      if (typeof name !== "string" || !/^[\w\-./#]{1,512}$/.test(name)) throw new ApiError(400, "InvalidParameterException", `1 validation error detected: Value '${name}' at 'logGroupName' failed to satisfy constraint`);
      if (logGroups.has(name)) throw new ApiError(400, "ResourceAlreadyExistsException", "The specified log group already exists");
      logGroups.set(name, { logGroupName: name, creationTime: Date.now(), storedBytes: 0, createdBy: "api" });
      return out({});
    }
    if (op === "PutRetentionPolicy") {
      const group = logGroups.get(name);
      if (!group) throw missing();
      if (!RETENTION_DAYS.includes(body.retentionInDays)) {
        throw new ApiError(400, "InvalidParameterException", `1 validation error detected: Value '${body.retentionInDays}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(", ")}]`);
      }
      group.retentionInDays = body.retentionInDays;
      return out({});
    }
    if (op === "DeleteRetentionPolicy") {
      const group = logGroups.get(name);
      if (!group) throw missing();
      delete group.retentionInDays;
      return out({});
    }
    if (op === "DeleteLogGroup") {
      if (!logGroups.delete(name)) throw missing();
      return out({});
    }
    if (op === "DescribeLogGroups") {
      const prefix = body.logGroupNamePrefix ?? "";
      const groups = [...logGroups.values()]
        .filter((g) => g.logGroupName.startsWith(prefix))
        .map(({ createdBy: _c, ...g }) => ({ ...g, arn: `arn:aws:logs:${emu.region}:${emu.accountId}:log-group:${g.logGroupName}:*` }));
      return out({ logGroups: groups });
    }
    throw new ApiError(400, "UnknownOperationException", `Unknown operation ${target}`);
  }

  async function route(req, res, requestId) {
    const url = new URL(req.url ?? "/", "http://emulator");
    const parts = url.pathname.split("/").filter(Boolean);
    const method = req.method;
    const target = req.headers["x-amz-target"];
    if (method === "POST" && parts.length === 0 && typeof target === "string" && target.startsWith("Logs_20140328.")) return logsApi(req, res, target);
    const [version, kind, rawName, sub] = parts;
    // The whole body first (bounded): its signature covers it. Synchronous invocations take 6 MB, the rest a zip's worth.
    const isInvoke = sub === "invocations" && method === "POST";
    const limit = isInvoke ? REQUEST_LIMIT : CONTROL_BODY_LIMIT;
    const { buf, size } = await readBody(req, limit);
    if (size >= limit) {
      const op = isInvoke ? "InvokeFunction" : sub === "code" ? "UpdateFunctionCode" : "CreateFunction";
      throw new ApiError(413, "RequestEntityTooLargeException", `Request must be smaller than ${limit} bytes for the ${op} operation`);
    }
    try {
      await verify(req, buf);
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      stats.refusedSignatures++;
      throw new ApiError(err.status, err.type, err.message);
    }
    if (kind !== "functions") throw new ApiError(404, "UnknownOperationException", `Unknown operation ${method} ${url.pathname}`);
    if (version === "2015-03-31") {
      if (!rawName) {
        if (method === "POST") return count("CreateFunction"), json(res, 201, await createFunction(readJson(buf)));
        if (method === "GET") {
          // Pages of at most 50 (MaxItems 1..50, the API model's bound), NextMarker while more remain, as Lambda does.
          count("ListFunctions");
          const max = url.searchParams.has("MaxItems") ? Number(url.searchParams.get("MaxItems")) : 50;
          if (!Number.isInteger(max) || max < 1 || max > 50) throw new ApiError(400, "InvalidParameterValueException", `1 validation error detected: Value '${url.searchParams.get("MaxItems")}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50`);
          const all = [...functions.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
          const marker = url.searchParams.get("Marker");
          const from = marker ? all.findIndex((f) => f.name > marker) : 0;
          const page = from < 0 ? [] : all.slice(from, from + max);
          const more = from >= 0 && from + max < all.length;
          return json(res, 200, { Functions: page.map((f) => f.config), ...(more ? { NextMarker: page.at(-1).name } : {}) });
        }
      } else if (!sub) {
        if (method === "GET") {
          count("GetFunction");
          const fn = lookup(rawName);
          return json(res, 200, {
            Configuration: fn.config,
            Code: { RepositoryType: "S3", Location: `http://${req.headers.host}/emulator/code/${fn.name}` },
            Tags: fn.tags,
            ...(fn.reserved !== undefined ? { Concurrency: { ReservedConcurrentExecutions: fn.reserved } } : {}),
          });
        }
        if (method === "DELETE") return count("DeleteFunction"), deleteFunction(lookup(rawName)), json(res, 204);
      } else if (sub === "configuration") {
        if (method === "GET") return count("GetFunctionConfiguration"), json(res, 200, lookup(rawName).config);
        if (method === "PUT") {
          count("UpdateFunctionConfiguration");
          const fn = lookup(rawName);
          return json(res, 200, updateConfiguration(fn, readJson(buf)));
        }
      } else if (sub === "code" && method === "PUT") {
        count("UpdateFunctionCode");
        const fn = lookup(rawName);
        return json(res, 200, updateCode(fn, readJson(buf)));
      } else if (sub === "invocations" && method === "POST") {
        count("Invoke");
        return invoke(req, res, lookup(rawName), requestId, url, buf);
      }
    } else if ((version === "2017-10-31" || version === "2019-09-30") && rawName && sub === "concurrency") {
      const fn = lookup(rawName);
      if (method === "PUT") {
        count("PutFunctionConcurrency");
        const body = readJson(buf);
        const n = body.ReservedConcurrentExecutions;
        if (!Number.isInteger(n) || n < 0) throw validation("reservedConcurrentExecutions", n, "Member must have value greater than or equal to 0");
        fn.reserved = n;
        return json(res, 200, { ReservedConcurrentExecutions: n });
      }
      if (method === "GET") return count("GetFunctionConcurrency"), json(res, 200, fn.reserved !== undefined ? { ReservedConcurrentExecutions: fn.reserved } : {});
      if (method === "DELETE") return count("DeleteFunctionConcurrency"), (fn.reserved = undefined), json(res, 204);
    }
    throw new ApiError(404, "UnknownOperationException", `Unknown operation ${method} ${url.pathname}`);
  }

  const server = createServer((req, res) => {
    const requestId = randomUUID();
    res.setHeader("x-amzn-RequestId", requestId);
    route(req, res, requestId).catch((err) => {
      // Drain what the client still sends, so it reads our answer instead of a reset connection.
      req.resume();
      if (res.headersSent) return void res.destroy();
      if (err instanceof ApiError) {
        const body = JSON.stringify({ Type: err.status >= 500 ? "Service" : "User", message: err.message, ...err.extra });
        res.writeHead(err.status, { "content-type": "application/json", "x-amzn-errortype": err.type, ...err.headers }).end(body);
      } else {
        const body = JSON.stringify({ Type: "Service", message: String(err?.stack ?? err) });
        res.writeHead(500, { "content-type": "application/json", "x-amzn-errortype": "ServiceException" }).end(body);
      }
    });
  });
  server.on("connection", () => stats.connections++);
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 35_000;
  server.requestTimeout = 0;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const address = server.address();
  const endpoint = `http://${address.address}:${address.port}`;

  const add = (kind, count, extra) => {
    faultQueue.push({ kind, remaining: Math.max(1, count ?? 1), ...extra });
  };

  return {
    endpoint,
    port: address.port,
    region: emu.region,
    runtimeClient: emu.runtimeClient,
    credentials: { ...CLIENT_CREDENTIALS },
    stats,
    faults: {
      throttle: (count = 1, opts = {}) => add("throttle", count, opts),
      functionError: (count = 1, opts = {}) => add("error", count, opts),
      timeout: (count = 1, opts = {}) => add("timeout", count, opts),
      crash: (count = 1, opts = {}) => add("crash", count, opts),
      outOfMemory: (count = 1, opts = {}) => add("oom", count, opts),
      serverError: (count = 1, opts = {}) => add("server", count, opts),
      reserveConcurrency(functionName, n) {
        const fn = functions.get(functionName);
        if (!fn) throw new Error(`no function ${functionName}`);
        fn.reserved = n;
      },
      holdUpdates(functionName) {
        const fn = functions.get(functionName);
        if (!fn) throw new Error(`no function ${functionName}`);
        const hold = (fn.hold = { pending: undefined });
        return () => {
          if (fn.hold === hold) fn.hold = undefined;
          void hold.pending?.();
        };
      },
      deactivate(functionName) {
        const fn = functions.get(functionName);
        if (!fn) throw new Error(`no function ${functionName}`);
        deactivate(fn);
      },
      pending: () => faultQueue.reduce((s, f) => s + f.remaining, 0),
      clear: () => void faultQueue.splice(0),
    },
    functionNames: () => [...functions.keys()],
    logGroups: () => [...logGroups.values()].map(({ createdBy: _c, ...g }) => ({ ...g })),
    getFunction: (name) => (functions.has(name) ? structuredClone(functions.get(name).config) : undefined),
    environments: () => [...envs].map((e) => ({ id: e.id, functionName: e.fnName, busy: e.busy, pid: e.child?.pid, logStreamName: e.logStreamName })),
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve()));
      const exits = [];
      for (const env of envs) {
        if (env.child && env.child.exitCode === null && env.child.signalCode === null) exits.push(new Promise((r) => env.child.once("exit", r)));
        env.kill();
        clearTimeout(env.idleTimer);
      }
      envs.clear();
      await Promise.all(exits);
      await Promise.allSettled([...extracting]);
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
