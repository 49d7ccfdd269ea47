// The Runtime API (2018-06-01) an execution environment serves on loopback to AWS's runtime interface client, and the
// environment that runs that client as nodejs22.x does: Node.js 22 running `aws-lambda-ric index.handler`. The client
// loads the handler (init ends at its first GET .../invocation/next, or with POST .../init/error), then takes one
// invocation at a time and answers on .../response or .../error.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { environment, liveOf, ProcessEnv, RIC_DIR, RIC_PRELOAD } from "./environment.js";
import type { Emulator, FunctionRecord, InitOutcome, InvokeMessage, RunReply } from "./model.js";

// Node.js 22 and AWS's runtime interface client (aws-lambda-ric 4.x, as nodejs22.x runs it), installed and built by
// scripts/setup.mjs into packages/testing/lambda-ric. Without them the emulator's own runtime loop (runtime.ts) runs.
const RIC_NODE = join(RIC_DIR, "node", "bin", "node");
const RIC_INDEX = join(RIC_DIR, "aws-lambda-ric", "index.mjs");
/** Whether the real runtime interface client is here: its Node.js 22 binary, its code and its built native part. */
export const RIC_AVAILABLE: boolean = existsSync(RIC_NODE) && existsSync(RIC_INDEX) && existsSync(join(RIC_DIR, "aws-lambda-ric", "rapid-client.node"));

/** An error the client posts (init/error, invocation/.../error), in the shape the emulator answers with. */
function parseError(body: string): { errorType: string; errorMessage: string; trace: string[] } {
  try {
    const e = JSON.parse(body);
    return { errorType: String(e.errorType ?? "Error"), errorMessage: String(e.errorMessage ?? ""), trace: Array.isArray(e.trace) ? e.trace : [] };
  } catch {
    return { errorType: "Runtime.Unknown", errorMessage: body, trace: [] };
  }
}

/** An execution environment that runs AWS's runtime interface client against the Runtime API it serves. */
export class RicEnv extends ProcessEnv {
  override kind = "aws-lambda-ric";
  private pendingNext: ServerResponse | undefined;
  private queued: { msg: InvokeMessage } | undefined;
  private current: string | undefined;
  private initDone = false;
  private initResult: InitOutcome | undefined;
  private server: Server | undefined;
  private readonly started: Promise<void>;

  constructor(emu: Emulator, fn: FunctionRecord) {
    super(emu, fn, true);
    this.started = this.start(emu, fn);
  }

  private async start(emu: Emulator, fn: FunctionRecord): Promise<void> {
    const live = liveOf(fn);
    const server = createServer((req, res) => this.serve(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    if (this.dead) return void server.close();
    const heapMb = Math.max(48, Math.floor(live.memorySize * 0.9));
    const child = spawn(RIC_NODE, [`--max-old-space-size=${heapMb}`, "--import", pathToFileURL(RIC_PRELOAD).href, RIC_INDEX, live.handler], {
      cwd: live.codeDir,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: { ...environment(emu, fn, this.logStreamName), AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${(server.address() as AddressInfo).port}` },
    });
    this.child = child;
    child.once("exit", (code, signal) => {
      server.close();
      const status = signal ? `signal: ${signal === "SIGKILL" ? "killed" : signal}` : `exit status ${code}`;
      this.initEnded({ type: "initError", errorType: this.memoryKilled ? "Runtime.OutOfMemory" : "Runtime.ExitError", errorMessage: `Runtime exited with error: ${status}`, exited: true });
    });
    this.wire(emu, child);
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
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
      if (req.method === "POST" && m && this.current === decodeURIComponent(m[1] ?? "")) {
        this.current = undefined;
        done();
        const maxMemoryMb = this.peakMemoryMb();
        return this.onReply?.(m[2] === "response" ? { type: "result", payload: body, maxMemoryMb } : { type: "error", ...parseError(body), maxMemoryMb });
      }
      done(400);
    });
  }

  /** The init phase's outcome, kept for init() when it comes before init() asks. */
  private initEnded(msg: InitOutcome): void {
    if (this.initDone) return;
    this.initDone = true;
    this.initResult = msg;
    this.onInit?.(msg);
  }

  /** Hands the queued invocation to the client's waiting GET .../next. */
  private deliver(): void {
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
  private peakMemoryMb(): number {
    try {
      const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${this.child?.pid}/status`, "utf8"))?.[1] ?? 0);
      return Math.ceil(kb / 1024);
    } catch {
      return 0;
    }
  }

  override async init(delayMs: number, timeoutSeconds: number): Promise<InitOutcome> {
    await this.started;
    const t0 = performance.now();
    const msg = this.initResult ?? (await this.awaitInit(timeoutSeconds));
    if (msg.type === "ready" && delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return { ...msg, initMs: performance.now() - t0 };
  }

  override run(msg: InvokeMessage, timeoutMs: number): Promise<RunReply> {
    if (msg.inject?.kind === "throw") {
      // A platform-injected function error: answered here, the environment lives on, as after a handled throw.
      const err = { errorType: msg.inject.name || "Error", errorMessage: msg.inject.message ?? "injected function error" };
      const trace = [`${err.errorType}: ${err.errorMessage}`, "    at injectedFailure (file:///var/runtime/emulator-fault.mjs:1:1)"];
      return Promise.resolve({ type: "error", ...err, trace, durationMs: 0, maxMemoryMb: this.peakMemoryMb() });
    }
    const reply = this.awaitReply(timeoutMs);
    if (msg.inject?.kind === "exit") {
      // A crash in the middle of the invocation: the client blocks the event loop in its native GET .../next, so
      // the exit order goes over IPC first and the event after it; once the handler has run, before the client
      // posts its response (it waits a setImmediate), ric-preload.ts reads the order and exits with that status.
      try {
        if (!this.child) throw new Error("no process");
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

  override kill(): void {
    super.kill();
    this.server?.close();
    this.server?.closeAllConnections?.();
  }
}
