// An "environment" that runs the handler inside the emulator's own process: no isolation, no crash or timeout
// enforcement, but no process either. For throughput benchmarks of the client side only.
import { createRequire } from "node:module";
import { join } from "node:path";
import { Env, liveOf } from "./environment.js";
import type { Emulator, FunctionRecord, InitOutcome, InvokeMessage, Live, RunReply } from "./model.js";

type Thrown = { name?: unknown; message?: unknown; stack?: unknown } | null | undefined;

/** Runs the function's handler in this process. */
export class InlineEnv extends Env {
  readonly logStreamName: string;
  private readonly live: Live;
  private readonly emu: Emulator;

  constructor(emu: Emulator, fn: FunctionRecord) {
    super(emu, fn);
    this.live = liveOf(fn);
    this.logStreamName = `inline/[$LATEST]${this.id}`;
    this.emu = emu;
  }

  takeLog(): string {
    return "";
  }

  async init(): Promise<InitOutcome> {
    const live = this.live;
    if (!live.inline) {
      const t0 = performance.now();
      const dot = live.handler.lastIndexOf(".");
      const file = join(live.codeDir, `${live.handler.slice(0, dot)}.js`);
      try {
        const mod = createRequire(file)(file);
        live.inline = { handler: mod[live.handler.slice(dot + 1)], initMs: performance.now() - t0 };
      } catch (err) {
        return { type: "initError", errorType: "Runtime.ImportModuleError", errorMessage: String((err as Thrown)?.message ?? err) };
      }
      if (typeof live.inline.handler !== "function") {
        live.inline = undefined;
        return { type: "initError", errorType: "Runtime.HandlerNotFound", errorMessage: `${live.handler} is undefined or not exported` };
      }
    }
    return { type: "ready", initMs: live.inline.initMs };
  }

  async run(msg: InvokeMessage): Promise<RunReply> {
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
      const result = await this.live.inline!.handler(JSON.parse(msg.event), context);
      return { type: "result", payload: JSON.stringify(result === undefined ? null : result), durationMs: performance.now() - t0, maxMemoryMb: 0 };
    } catch (caught) {
      const err = caught as Thrown;
      return {
        type: "error",
        errorType: (err?.name ?? "Error") as string,
        errorMessage: (err?.message ?? String(err)) as string,
        trace: String(err?.stack ?? "").split("\n"),
        durationMs: performance.now() - t0,
        maxMemoryMb: 0,
      };
    }
  }

  kill(): void {
    this.dead = true;
    this.emu.forget(this);
  }
}
