// Running an invocation: an execution environment taken warm or started cold (within the scaling rate and the
// account's concurrency), the run itself with its init phase, stragglers held back, and the answer Lambda gives for
// each outcome (a result, a function error, a timeout, the runtime's exit) with the log and the billed time.
import { throttle } from "./api-error.js";
import { liveOf, ProcessEnv } from "./environment.js";
import { InlineEnv } from "./inline-environment.js";
import { ensureLogGroup, invocationLog } from "./logs.js";
import type { Emulator, Environment, FunctionRecord, Inject, RunReply } from "./model.js";
import { RESPONSE_LIMIT } from "./profile.js";
import { RicEnv } from "./runtime-api.js";
import { straggles } from "../straggle.js";

/** An invocation's answer: the HTTP status and body, X-Amz-Function-Error, and its log. */
export interface Outcome {
  status: number;
  body: string;
  functionError: string | undefined;
  log: string;
  cold: boolean;
}

function acquire(emu: Emulator, fn: FunctionRecord): { env: Environment; cold: boolean } {
  for (const env of emu.envs) {
    if (env.fnName === fn.name && env.generation === fn.live?.generation && !env.busy && !env.dead) {
      clearTimeout(env.idleTimer);
      env.busy = true;
      return { env, cold: false };
    }
  }
  // Scaling rate: at most `scaling.environments` new environments per `scaling.perMs` for one function.
  const now = performance.now();
  fn.spawns = fn.spawns.filter((t) => now - t < emu.scaling.perMs);
  if (fn.spawns.length >= emu.scaling.environments) throw throttle(emu.stats, "FunctionInvocationRateLimitExceeded");
  if (emu.envs.size >= emu.maxEnvironments) {
    // Make room by retiring an idle environment of another function (or of older code), as Lambda does.
    const idle = [...emu.envs].filter((e) => !e.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0];
    if (!idle) throw throttle(emu.stats, "ConcurrentInvocationLimitExceeded");
    idle.kill();
    emu.forget(idle);
  }
  const env = emu.runner === "inline" ? new InlineEnv(emu, fn) : emu.runtimeClient === "aws-lambda-ric" ? new RicEnv(emu, fn) : new ProcessEnv(emu, fn);
  env.busy = true;
  emu.envs.add(env);
  fn.spawns.push(now);
  emu.stats.environmentsStarted++;
  return { env, cold: true };
}

function release(emu: Emulator, fn: FunctionRecord, env: Environment): void {
  env.busy = false;
  env.lastUsed = performance.now();
  if (env.dead || fn.deleted || env.generation !== fn.live?.generation) {
    if (!env.dead) env.kill();
    emu.forget(env);
    return;
  }
  env.idleTimer = setTimeout(() => {
    env.kill();
    emu.forget(env);
  }, emu.idleTimeoutMs);
  env.idleTimer.unref?.();
}

/**
 * A slow execution environment: the handler has answered, and the environment holds the answer back (factor − 1)
 * times its run time, busy meanwhile and billed for it. Past the function's timeout it times out as Lambda would.
 */
async function holdBack(emu: Emulator, env: Environment, reply: RunReply, factor: number, timeoutMs: number): Promise<RunReply> {
  emu.stats.straggled++;
  const ran = reply.durationMs ?? 0;
  const slowed = ran * factor;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(slowed, timeoutMs) - ran)).unref?.());
  if (slowed < timeoutMs) return { ...reply, durationMs: slowed };
  env.kill();
  return { type: "timeout", durationMs: timeoutMs };
}

/** Runs one invocation in an environment and builds Lambda's answer: status, headers, body. */
export async function execute(emu: Emulator, fn: FunctionRecord, eventText: string, requestId: string, inject: Inject | undefined): Promise<Outcome> {
  const { stats } = emu;
  const { env, cold } = acquire(emu, fn);
  fn.inFlight++;
  // A straggler (the `straggle` option), picked by the order invocations run in.
  const slowBy = emu.straggle && straggles(emu.straggle, stats.invocations) ? emu.straggle.factor : 1;
  stats.invocations++;
  stats.peakConcurrency[fn.name] = Math.max(stats.peakConcurrency[fn.name] ?? 0, fn.inFlight);
  const live = liveOf(fn);
  const lines: string[] = [];
  let initMs = 0;
  let reply: RunReply | undefined;
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
      if (slowBy > 1 && (reply.type === "result" || reply.type === "error")) reply = await holdBack(emu, env, reply, slowBy, live.timeout * 1000);
    }
  } finally {
    fn.inFlight--;
    release(emu, fn, env);
  }
  const logs = env.takeLog();
  const status = 200;
  let body: string;
  let functionError: string | undefined;
  let reportStatus = "";
  if (reply.type === "result") {
    body = reply.payload as string;
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
  const durationMs = reply.type === "timeout" ? live.timeout * 1000 : (reply.durationMs ?? 0);
  // The init phase is billed (since August 2025), whether the invocation then succeeded, failed or timed out.
  const billedMs = Math.ceil(durationMs + (cold ? initMs : 0));
  stats.billedMs += billedMs;
  const maxMemoryMb = reply.outOfMemory ? live.memorySize : Math.max(1, reply.maxMemoryMb ?? 0);
  const log = invocationLog(emu, live, { requestId, cold, initMs, durationMs, billedMs, maxMemoryMb, reportStatus, logs, lines });
  // The function's role writes its log to the group, creating the group if it is missing.
  ensureLogGroup(emu, fn.config.LoggingConfig?.LogGroup ?? `/aws/lambda/${fn.name}`).storedBytes += Buffer.byteLength(log);
  return { status, body, functionError, log, cold };
}
