// One execution environment of the loopback Lambda emulator: a Node.js process that holds one unzipped function,
// loads its handler once (the "init" phase) and then runs one invocation at a time, as Lambda's Node.js runtime
// does. It talks to the emulator over the IPC channel; everything the function prints is forwarded in order, so
// the log tail the emulator builds has the function's lines between START and END. It runs as the built
// dist/lambda/runtime.js (environment.ts forks it).
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { format } from "node:util";
import type { Inject } from "./model.js";

/** What the emulator sends: load the handler, or run one invocation. */
type Order = { type: "init"; delayMs?: number } | { type: "invoke"; requestId: string; event: string; arn: string; timeoutMs: number; id?: unknown; inject?: Inject };
type Handler = (event: unknown, context: unknown, callback?: (err: unknown, value?: unknown) => void) => unknown;

const send = (msg: Record<string, unknown>): void => {
  if (process.connected) process.send?.(msg);
};

let requestId = "";
const emit = (text: string) => send({ type: "log", text });
for (const stream of [process.stdout, process.stderr]) {
  stream.write = ((chunk: string | Uint8Array, encoding?: unknown, cb?: unknown) => {
    emit(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    if (typeof encoding === "function") encoding();
    else if (typeof cb === "function") cb();
    return true;
  }) as typeof stream.write;
}
// The Node.js runtime prefixes every console line with the time, the request id and the level; with
// LoggingConfig.LogFormat = JSON each line is a JSON object of those fields instead.
const json = process.env.AWS_LAMBDA_LOG_FORMAT === "JSON";
const levels = [["log", "INFO"], ["info", "INFO"], ["warn", "WARN"], ["error", "ERROR"], ["debug", "DEBUG"], ["trace", "TRACE"]] as const;
for (const [method, level] of levels) {
  console[method] = json
    ? (...args: unknown[]) => emit(`${JSON.stringify({ timestamp: new Date().toISOString(), level, requestId: requestId || undefined, message: format(...args) })}\n`)
    : (...args: unknown[]) => emit(`${new Date().toISOString()}\t${requestId || "undefined"}\t${level}\t${format(...args)}\n`);
}

// The emulator owns this process: when it goes away, so do we.
process.on("disconnect", () => process.exit(0));

const errorShape = (err: unknown): { errorType: string; errorMessage: string; trace: string[] } => {
  if (err instanceof Error) return { errorType: err.name || "Error", errorMessage: err.message, trace: String(err.stack ?? "").split("\n") };
  return { errorType: typeof err, errorMessage: typeof err === "string" ? err : JSON.stringify(err) ?? String(err), trace: [] };
};

let handler: Handler;
let peakRss = process.memoryUsage.rss();

// Like aws-lambda-ric 4.x (nodejs22.x): no uncaughtException/unhandledRejection handler of the runtime's own. An error
// thrown outside the handler's await ends the process as Node.js does (its stack on stderr, exit status 1), and the
// invocation in flight ends as Runtime.ExitError with the message only in the log. (3.x posted the error first.)

async function init(msg: Extract<Order, { type: "init" }>): Promise<void> {
  const t0 = performance.now();
  const root = process.env.LAMBDA_TASK_ROOT ?? "";
  const spec = process.env._HANDLER ?? "index.handler";
  const dot = spec.lastIndexOf(".");
  if (dot <= 0) return send({ type: "initError", errorType: "Runtime.MalformedHandlerName", errorMessage: `Bad handler ${spec}: missing module or function name` });
  const moduleName = spec.slice(0, dot);
  const fnName = spec.slice(dot + 1);
  const candidates = [".js", ".mjs", ".cjs"].map((ext) => join(root, moduleName + ext));
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    return send({ type: "initError", errorType: "Runtime.ImportModuleError", errorMessage: `Error: Cannot find module '${moduleName}'\nRequire stack:\n- /var/runtime/index.mjs` });
  }
  if (msg.delayMs) await new Promise((r) => setTimeout(r, msg.delayMs));
  let mod: Record<string, unknown> | undefined;
  try {
    mod = file.endsWith(".mjs") ? await import(pathToFileURL(file).href) : createRequire(file)(file);
  } catch (err) {
    const e = errorShape(err);
    const type = err instanceof SyntaxError ? "Runtime.UserCodeSyntaxError" : e.errorType;
    return send({ type: "initError", errorType: type, errorMessage: `${e.errorType}: ${e.errorMessage}`, trace: e.trace });
  }
  const found = mod?.[fnName] ?? (mod?.default as Record<string, unknown> | undefined)?.[fnName];
  if (typeof found !== "function") {
    return send({ type: "initError", errorType: "Runtime.HandlerNotFound", errorMessage: `${spec} is undefined or not exported` });
  }
  handler = found as Handler;
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  send({ type: "ready", initMs: performance.now() - t0 });
}

async function invoke(msg: Extract<Order, { type: "invoke" }>): Promise<void> {
  requestId = msg.requestId;
  const t0 = performance.now();
  const deadline = Date.now() + msg.timeoutMs;
  const context = {
    awsRequestId: msg.requestId,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: "$LATEST",
    invokedFunctionArn: msg.arn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  let reply: Record<string, unknown>;
  try {
    const inject = msg.inject;
    if (inject?.kind === "exit") {
      // A crash in the middle of the invocation: the handler has started, then the process dies.
      setTimeout(() => process.exit(inject.code ?? 1), 5);
      await new Promise(() => {});
    }
    if (inject?.kind === "hang") await new Promise(() => {});
    if (inject?.kind === "throw") injectedFailure(inject.message, inject.name);
    const event = JSON.parse(msg.event);
    const result =
      handler.length >= 3
        ? await new Promise((resolve, reject) => {
            const r = handler(event, context, (err, value) => (err ? reject(err) : resolve(value))) as PromiseLike<unknown> | undefined;
            if (r && typeof r.then === "function") r.then(resolve, reject);
          })
        : await handler(event, context);
    const payload = JSON.stringify(result === undefined ? null : result);
    reply = { type: "result", id: msg.id, payload };
  } catch (err) {
    reply = { type: "error", id: msg.id, ...errorShape(err) };
  }
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  send({ ...reply, durationMs: performance.now() - t0, maxMemoryMb: Math.ceil(peakRss / (1024 * 1024)) });
}

function injectedFailure(message: string | undefined, name: string | undefined): never {
  const err = new Error(message ?? "injected function error");
  if (name) err.name = name;
  throw err;
}

process.on("message", (msg: Order | null) => {
  if (msg?.type === "init") void init(msg);
  else if (msg?.type === "invoke") void invoke(msg);
});
send({ type: "spawned" });
