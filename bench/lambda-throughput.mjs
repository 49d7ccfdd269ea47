// Lambda backend throughput: 10,000 no-op tasks through run() against the loopback Lambda emulator, which runs in a
// process of its own with instant (in-process) functions and limits high enough never to throttle. Measures what
// the client side costs per invocation (scheduler, SDK, signing, HTTP keep-alive, REPORT parsing) and its peak
// memory. Imports the packages' built dist/ (run `pnpm build` first).
import { fork } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "@superfaas/core";
import { noop } from "./jobs/noop.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const lambdaDist = join(here, "..", "packages", "backend-lambda", "dist", "index.js");
const emulatorServer = join(here, "..", "packages", "backend-lambda", "test", "emulator", "serve.mjs");

/** Starts the emulator in a child process; resolves with its endpoint and a way to ask for stats and stop it. */
function startEmulatorProcess(options) {
  const child = fork(emulatorServer, [], { env: { ...process.env, LAMBDA_EMULATOR_OPTIONS: JSON.stringify(options) }, stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: [] });
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`lambda emulator exited with code ${code} before it was ready`));
    child.once("exit", onExit);
    child.once("error", reject);
    child.once("message", (msg) => {
      child.off("exit", onExit);
      resolve({
        endpoint: msg.endpoint,
        region: msg.region,
        stats: () =>
          new Promise((res) => {
            child.once("message", (m) => res(m.stats));
            child.send("stats");
          }),
        stop: () =>
          new Promise((res) => {
            if (child.exitCode !== null) return res();
            child.once("exit", () => res());
            child.send("stop");
            setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
          }),
      });
    });
  });
}

/**
 * Runs `tasks` no-op tasks through run() on the Lambda backend and the emulator.
 * @param {{ tasks?: number, concurrency?: number }} [opts]
 * @returns {Promise<{ tasks: number, concurrency: number, seconds: number, invocationsPerSec: number, peakRssMb: number, peakHeapMb: number, throttled: number, emulatorInvocations: number, connections: number }>}
 */
export async function benchLambdaThroughput({ tasks = 10_000, concurrency = 100 } = {}) {
  const { lambdaBackend } = await import(lambdaDist);
  const emulator = await startEmulatorProcess({ runner: "inline", maxEnvironments: 4 * concurrency, pendingMs: 20, updateMs: 20, scaling: { environments: 100_000 } });
  const backend = lambdaBackend({
    endpoint: emulator.endpoint,
    region: emulator.region,
    credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "bench" },
    role: "arn:aws:iam::123456789012:role/superfaas-bench",
    memory: 128,
    functionTimeout: 30,
    concurrencyLimit: concurrency,
    defaultConcurrency: concurrency,
    waiter: { minDelay: 0.02, maxDelay: 0.1, maxWaitTime: 30 },
    env: {},
  });
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  try {
    // Deploy, bundle and warm the sockets and environments; not measured.
    await run(noop, { n: Math.min(tasks, 1_000) }, { backend, tasks: Math.min(tasks, 1_000), concurrency });
    const before = (await emulator.stats()).invocations;
    globalThis.gc?.();
    peakRss = 0;
    peakHeap = 0;
    sample();
    const timer = setInterval(sample, 20);
    let report;
    try {
      ({ report } = await run(noop, { n: tasks }, { backend, tasks, concurrency }));
    } finally {
      clearInterval(timer);
      sample();
    }
    if (report.totals.succeeded !== tasks) throw new Error(`only ${report.totals.succeeded} of ${tasks} tasks succeeded`);
    const seconds = report.executeMs / 1000;
    const after = await emulator.stats();
    const emulatorInvocations = after.invocations - before;
    return {
      tasks,
      concurrency,
      seconds,
      invocationsPerSec: tasks / seconds,
      peakRssMb: peakRss / 2 ** 20,
      peakHeapMb: peakHeap / 2 ** 20,
      throttled: report.totals.throttled,
      emulatorInvocations,
      connections: after.connections,
    };
  } finally {
    await backend.dispose();
    await emulator.stop();
  }
}

// `node bench/lambda-throughput.mjs [tasks]` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const tasks = Number(process.argv[2] ?? 10_000);
  const r = await benchLambdaThroughput({ tasks });
  console.log(JSON.stringify(r, null, 2));
}
