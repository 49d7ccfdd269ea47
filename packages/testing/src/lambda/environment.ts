// Execution environments: what each one has (an id, its function and code generation, busy or dead), the variables
// Lambda sets in it, and the one that runs in a Node.js process of its own on the emulator's runtime loop
// (runtime.ts, over IPC). The one that runs AWS's runtime interface client is in runtime-api.ts, the inline one in
// inline-environment.ts.
import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Emulator, Environment, FunctionRecord, InitOutcome, InvokeMessage, Live, RunReply } from "./model.js";

// Child processes run the built JS (Node.js 20 runs no TypeScript): src/lambda/ and dist/lambda/ are both two levels
// under the package, so from either this finds the package's dist/.
const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The emulator's own runtime loop, one process per environment. */
export const RUNTIME_SCRIPT = join(packageDir, "dist", "lambda", "runtime.js");
/** The preload of environments that run AWS's runtime interface client. */
export const RIC_PRELOAD = join(packageDir, "dist", "lambda", "ric-preload.js");
/** Where the runtime interface client is installed (scripts/setup.mjs builds it there). */
export const RIC_DIR = join(packageDir, "lambda-ric", "node_modules");

// Children are killed when this process exits, however it exits, so a failed test never leaks environments.
const liveChildren = new Set<ChildProcess>();
let exitHook = false;
function track(child: ChildProcess): void {
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

/** The function's live configuration: set before any environment of it starts (invocations need State Active). */
export const liveOf = (fn: FunctionRecord): Live => {
  if (!fn.live) throw new Error(`function ${fn.name} has no live code yet`);
  return fn.live;
};

/** What every execution environment has: an id, its function and code generation, and whether it is busy or dead. */
export abstract class Env implements Environment {
  readonly id: number;
  readonly fnName: string;
  readonly generation: number;
  readonly memoryMb: number;
  abstract readonly logStreamName: string;
  busy = false;
  dead = false;
  lastUsed = 0;
  idleTimer?: NodeJS.Timeout | undefined;
  child?: ChildProcess | undefined;

  constructor(emu: Emulator, fn: FunctionRecord) {
    this.id = ++emu.envSeq;
    this.fnName = fn.name;
    this.generation = liveOf(fn).generation;
    this.memoryMb = liveOf(fn).memorySize;
  }

  abstract init(delayMs: number, timeoutSeconds: number): Promise<InitOutcome>;
  abstract run(msg: InvokeMessage, timeoutMs: number): Promise<RunReply>;
  abstract takeLog(): string;
  abstract kill(): void;
}

/** The environment variables Lambda sets in an execution environment. */
export function environment(emu: Emulator, fn: FunctionRecord, logStreamName: string): NodeJS.ProcessEnv {
  const live = liveOf(fn);
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

/** A message from the runtime loop (runtime.ts) over IPC. */
type LoopMessage = (InitOutcome | RunReply | { type: "log"; text: string } | { type: "spawned" }) & { text?: string };

/** An execution environment in its own Node.js process. */
export class ProcessEnv extends Env {
  kind = "emulator-loop";
  log: string[] = [];
  readonly logStreamName = `${new Date().toISOString().slice(0, 10).replaceAll("-", "/")}/[$LATEST]${randomUUID().replaceAll("-", "")}`;
  protected onInit: ((msg: InitOutcome) => void) | undefined;
  protected onReply: ((msg: RunReply) => void) | undefined;
  protected memoryKilled = false;
  private memoryTimer: NodeJS.Timeout | undefined;

  /** `external`: a subclass starts the process and speaks to it itself. */
  constructor(emu: Emulator, fn: FunctionRecord, external = false) {
    super(emu, fn);
    if (external) return;
    const live = liveOf(fn);
    const heapMb = Math.max(48, Math.floor(live.memorySize * 0.9));
    this.child = fork(RUNTIME_SCRIPT, [], {
      cwd: live.codeDir,
      execArgv: [`--max-old-space-size=${heapMb}`],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: environment(emu, fn, this.logStreamName),
    });
    this.wire(emu, this.child);
  }

  protected wire(emu: Emulator, child: ChildProcess): void {
    track(child);
    const onOutput = (chunk: Buffer) => this.append(chunk.toString("utf8"));
    child.stdout?.on("data", onOutput);
    child.stderr?.on("data", onOutput);
    child.on("message", (msg: LoopMessage) => {
      if (msg.type === "log") this.append(msg.text ?? "");
      else if (msg.type === "ready" || msg.type === "initError") this.onInit?.(msg as InitOutcome);
      else if (msg.type === "result" || msg.type === "error") this.onReply?.(msg as RunReply);
    });
    child.on("error", () => {});
    this.watchMemory(child);
    child.once("exit", (code, signal) => {
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
  private watchMemory(child: ChildProcess): void {
    if (process.platform !== "linux" || !child.pid) return;
    const limitMb = this.memoryMb;
    const pid = child.pid;
    this.memoryTimer = setInterval(() => {
      // Only a process still running: once it has exited, its pid may belong to another process.
      if (this.dead || child.exitCode !== null || child.signalCode !== null) return clearInterval(this.memoryTimer);
      let kb: number;
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
  killForMemory(): void {
    if (this.dead) return;
    this.memoryKilled = true;
    this.kill();
  }

  append(text: string): void {
    this.log.push(text);
    if (this.log.length > 256) this.log.splice(0, this.log.length - 256);
  }

  takeLog(): string {
    const s = this.log.join("");
    this.log = [];
    return s;
  }

  /** Loads the handler; resolves with `{initMs}` or `{initError...}`. An init that outlasts the timeout is killed. */
  init(delayMs: number, timeoutSeconds: number): Promise<InitOutcome> {
    return this.awaitInit(timeoutSeconds, () => this.child?.send({ type: "init", delayMs }));
  }

  /** The init phase's outcome, as the process reports it; `start` asks for it (a failure to ask is left to the exit handler). */
  protected awaitInit(timeoutSeconds: number, start?: () => void): Promise<InitOutcome> {
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
      if (!start) return;
      try {
        start();
      } catch {
        /* the exit handler answers */
      }
    });
  }

  /** Runs one invocation; resolves with the runtime's reply, `{type:"exit"}` or `{type:"timeout"}`. */
  run(msg: InvokeMessage, timeoutMs: number): Promise<RunReply> {
    return this.awaitReply(timeoutMs, () => this.child?.send({ type: "invoke", ...msg }));
  }

  /** The invocation's outcome, or a timeout that kills the environment; `start` hands the invocation over. */
  protected awaitReply(timeoutMs: number, start?: () => void): Promise<RunReply> {
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
      if (!start) return;
      try {
        start();
      } catch {
        /* the exit handler answers */
      }
    });
  }

  kill(): void {
    this.dead = true;
    try {
      this.child?.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  }
}
