// A loopback server that speaks enough of the AWS Lambda REST-JSON API (2015-03-31) for the real
// @aws-sdk/client-lambda to drive it: create/get/update/delete functions with their state machine (Pending ->
// Active, LastUpdateStatus InProgress -> Successful), and synchronous invocations run in execution environments
// that are separate Node.js processes holding the unzipped code, one invocation at a time each, reused while warm.
// It answers the way Lambda does (function errors as HTTP 200 + X-Amz-Function-Error, the base64 log tail with its
// REPORT line, 413/429 error shapes) and injects faults on demand.
//
// The parts: profile.ts (the stock runtimes, limits and defaults), http.ts (routes, signatures, error answers),
// functions.ts and code.ts (the functions and their state machine), invoke.ts and execute.ts (invocations),
// environment.ts, runtime-api.ts and inline-environment.ts (execution environments), logs.ts (logs and log groups),
// faults.ts (fault injection).
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkStraggle } from "../straggle.js";
import { RUNTIME_SCRIPT } from "./environment.js";
import { faultsHandle } from "./faults.js";
import { CLIENT_CREDENTIALS, lambdaServer } from "./http.js";
import { shownGroup } from "./logs.js";
import type { Emulator, Environment } from "./model.js";
import type { LambdaEmulator, LambdaEmulatorOptions } from "./options.js";
import { DEFAULTS } from "./profile.js";
import { RIC_AVAILABLE } from "./runtime-api.js";

export type { LambdaEmulator, LambdaEmulatorFaults, LambdaEmulatorOptions, LambdaEmulatorStats, LambdaRuntimeClient } from "./options.js";
export { REQUEST_LIMIT, RESPONSE_LIMIT } from "./profile.js";
export { RIC_AVAILABLE } from "./runtime-api.js";

/** Starts the emulator on loopback. */
export async function startLambdaEmulator(options: LambdaEmulatorOptions = {}): Promise<LambdaEmulator> {
  const runner = options.runner ?? "process";
  if (runner === "process" && !existsSync(RUNTIME_SCRIPT)) {
    throw new Error(`Lambda emulator: ${RUNTIME_SCRIPT} is missing: build @superfaas/testing first (pnpm exec turbo run build)`);
  }
  const envs = new Set<Environment>();
  const emu: Emulator = {
    region: options.region ?? DEFAULTS.region,
    accountId: options.accountId ?? DEFAULTS.accountId,
    credentials: options.credentials ?? { ...DEFAULTS.credentials },
    pendingMs: options.pendingMs ?? DEFAULTS.pendingMs,
    updateMs: options.updateMs ?? DEFAULTS.updateMs,
    maxEnvironments: options.maxEnvironments ?? DEFAULTS.maxEnvironments,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    initDelayMs: options.initDelayMs ?? DEFAULTS.initDelayMs,
    maxMemoryMb: options.maxMemoryMb ?? DEFAULTS.maxMemoryMb,
    straggle: checkStraggle(options.straggle, "Lambda emulator"),
    runner,
    // Which runtime the process environments run: AWS's runtime interface client when it was built (see RIC_AVAILABLE),
    // else the emulator's own loop. SUPERFAAS_LAMBDA_RIC=0 (or the option) forces the loop.
    runtimeClient: options.runtimeClient ?? (RIC_AVAILABLE && process.env.SUPERFAAS_LAMBDA_RIC !== "0" ? "aws-lambda-ric" : "emulator-loop"),
    scaling: { environments: options.scaling?.environments ?? DEFAULTS.scaling.environments, perMs: options.scaling?.perMs ?? DEFAULTS.scaling.perMs },
    envSeq: 0,
    workDir: await mkdtemp(join(options.workDir ?? tmpdir(), "lambda-emulator-")),
    functions: new Map(),
    envs,
    faultQueue: [],
    logGroups: new Map(),
    extracting: new Set(),
    stats: {
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
    },
    forget(env) {
      envs.delete(env);
      clearTimeout(env.idleTimer);
    },
  };
  let closed = false;

  const server = lambdaServer(emu);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const address = server.address() as AddressInfo;

  return {
    endpoint: `http://${address.address}:${address.port}`,
    port: address.port,
    region: emu.region,
    runtimeClient: emu.runtimeClient,
    credentials: { ...CLIENT_CREDENTIALS },
    stats: emu.stats,
    faults: faultsHandle(emu),
    functionNames: () => [...emu.functions.keys()],
    logGroups: () => [...emu.logGroups.values()].map(shownGroup),
    getFunction: (name) => {
      const fn = emu.functions.get(name);
      return fn ? (structuredClone(fn.config) as unknown as Record<string, unknown>) : undefined;
    },
    environments: () => [...envs].map((e) => ({ id: e.id, functionName: e.fnName, busy: e.busy, pid: e.child?.pid, logStreamName: e.logStreamName })),
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const exits: Promise<unknown>[] = [];
      for (const env of envs) {
        const child = env.child;
        if (child && child.exitCode === null && child.signalCode === null) exits.push(new Promise((r) => child.once("exit", r)));
        env.kill();
        clearTimeout(env.idleTimer);
      }
      envs.clear();
      await Promise.all(exits);
      await Promise.allSettled([...emu.extracting]);
      await rm(emu.workDir, { recursive: true, force: true });
    },
  };
}
