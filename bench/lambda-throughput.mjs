#!/usr/bin/env node
// Lambda backend throughput: 10,000 no-op tasks through run() against the loopback Lambda emulator, with the figures
// that say whether the orchestrating side could be the bottleneck: invocations per second of wall time and per
// second of the client's own CPU time (the "one core" figure), the heap each task in flight keeps alive, and the
// peak growth of the client's RSS.
//
// The emulator runs in a process of its own (packages/testing/dist/lambda/serve.js, built) with `runner:
// "inline"` (handlers called inside the emulator's process, no child process per environment) and limits high
// enough never to throttle, so process.cpuUsage() and the heap of this process are the client's alone: scheduler,
// AWS SDK (serialisation, SigV4, middleware), HTTP keep-alive, REPORT parsing. The emulator's CPU is not counted.
//
// Imports the backend's built dist/ (`pnpm --filter @superfaas/backend-lambda run build` first).
// Standalone: `node bench/lambda-throughput.mjs [tasks] [--concurrency N] [--rounds N] [--compare DIST_INDEX_JS]
// [--no-memory]` prints the result as JSON (--no-memory skips the memory runs, e.g. under --cpu-prof); with --compare it alternates rounds of another build of the backend (e.g. a copy of
// dist/ from before a change, next to a node_modules that resolves its dependencies) with the current one and
// prints the median of each.
import { fork } from "node:child_process";
import { once } from "node:events";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { run } from "@superfaas/core";
import { noop } from "./jobs/noop.mjs";
import { collectGarbage, cpuSeconds } from "./lib/measure.mjs";

// The SDK's notice that its 2027 releases will need Node 22 is not news here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "packages", "backend-lambda");
const lambdaDist = join(pkg, "dist", "index.js");
const emulatorServer = join(here, "..", "packages", "testing", "dist", "lambda", "serve.js");

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : Number.NaN;
};

/** Starts the emulator in a child process; resolves with its endpoint and ways to read its stats and stop it. */
async function startEmulatorProcess(options) {
  const child = fork(emulatorServer, [], {
    env: { ...process.env, LAMBDA_EMULATOR_OPTIONS: JSON.stringify(options) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: [],
  });
  const [info] = await Promise.race([
    once(child, "message"),
    once(child, "exit").then(([code]) => Promise.reject(new Error(`lambda emulator exited with code ${code} before it was ready`))),
  ]);
  const stats = async () => {
    const answer = once(child, "message");
    child.send("stats");
    return (await answer)[0].stats;
  };
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = once(child, "exit");
    child.send("stop");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return { endpoint: info.endpoint, region: info.region, stats, stop };
}

/**
 * Heap kept alive per task in flight. Runs `tasks` no-op tasks twice, at `concurrency` and at a tenth of it, and at
 * the same points of progress (every twentieth of the tasks) forces a full garbage collection synchronously, inside
 * the invocation that completes there (so the others are still in flight), and reads the heap. What depends on
 * progress (the scheduler's records, the partials gathered so far) is the same in both runs at the same point; the
 * difference is what the extra tasks in flight hold (requests, SDK contexts, sockets and their buffers). Returns the
 * median over the points of (heap difference) / (difference in tasks in flight), in bytes.
 */
async function retainedBytesPerInFlightTask(backend, tasks, concurrency) {
  const low = Math.max(1, Math.floor(concurrency / 10));
  const every = Math.max(1, Math.floor(tasks / 20));
  const sampleRun = async (c) => {
    const samples = new Map();
    let inFlight = 0;
    let completed = 0;
    const invoke = backend.invoke;
    backend.invoke = async function (req, signal) {
      inFlight++;
      try {
        return await invoke.call(this, req, signal);
      } finally {
        inFlight--;
        completed++;
        if (completed % every === 0 && completed < tasks) {
          collectGarbage();
          samples.set(completed, { heap: process.memoryUsage().heapUsed, inFlight });
        }
      }
    };
    try {
      await run(noop, { n: tasks }, { backend, tasks, concurrency: c });
    } finally {
      delete backend.invoke; // back to the prototype's
    }
    return samples;
  };
  const high = await sampleRun(concurrency);
  const lowSamples = await sampleRun(low);
  const ratios = [];
  for (const [at, h] of high) {
    const l = lowSamples.get(at);
    if (l && h.inFlight > l.inFlight) ratios.push((h.heap - l.heap) / (h.inFlight - l.inFlight));
  }
  return median(ratios);
}

/**
 * Runs `tasks` no-op tasks through run() on the Lambda backend and the emulator (after an unmeasured warm-up that
 * deploys the function and opens the sockets), then measures memory in separate runs with forced garbage
 * collections (which would otherwise cost CPU time in the measured run).
 * @param {{ tasks?: number, concurrency?: number, module?: string, memory?: boolean }} [opts] `module`: the backend's
 *   index.js to use (default: this checkout's dist); `memory: false` skips the memory runs.
 * @returns {Promise<{ tasks: number, concurrency: number, wallSeconds: number, invocationsPerSec: number,
 *   invocationsPerClientCpuSec: number, clientCpuSeconds: number, retainedBytesPerInFlightTask: number,
 *   peakRssDeltaBytes: number, connections: number }>}
 */
export async function benchLambdaThroughput({ tasks = 10_000, concurrency = 100, module = lambdaDist, memory = true } = {}) {
  const { lambdaBackend } = await import(pathToFileURL(resolve(module)).href);
  // The emulator verifies every signature: it must know the key the backend signs with.
  const credentials = { accessKeyId: "AKIDBENCH", secretAccessKey: "bench" };
  const emulator = await startEmulatorProcess({ runner: "inline", maxEnvironments: 4 * concurrency, pendingMs: 20, updateMs: 20, scaling: { environments: 100_000 }, credentials });
  const backend = lambdaBackend({
    endpoint: emulator.endpoint,
    region: emulator.region,
    credentials,
    role: "arn:aws:iam::123456789012:role/superfaas-bench",
    memory: 128,
    functionTimeout: 30,
    concurrencyLimit: concurrency,
    defaultConcurrency: concurrency,
    waiter: { minDelay: 0.02, maxDelay: 0.1, maxWaitTime: 30 },
    env: {},
  });
  try {
    collectGarbage();
    const rssBefore = process.memoryUsage.rss();
    // Deploy, bundle, open the sockets, warm the environments and let V8 optimise the hot path; not measured.
    const warm = Math.min(tasks, 2_000);
    await run(noop, { n: warm }, { backend, tasks: warm, concurrency });
    collectGarbage();
    const before = await emulator.stats();
    let peakRss = process.memoryUsage.rss();
    const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 10);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let report;
    try {
      ({ report } = await run(noop, { n: tasks }, { backend, tasks, concurrency }));
    } finally {
      clearInterval(timer);
    }
    const wallSeconds = (performance.now() - t0) / 1000;
    const clientCpuSeconds = cpuSeconds(process.cpuUsage(cpu0));
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    if (report.totals.succeeded !== tasks) throw new Error(`only ${report.totals.succeeded} of ${tasks} tasks succeeded`);
    const after = await emulator.stats();
    if (after.invocations - before.invocations !== tasks) throw new Error(`the emulator saw ${after.invocations - before.invocations} invocations for ${tasks} tasks`);
    if (after.throttled !== before.throttled) throw new Error(`the emulator throttled ${after.throttled - before.throttled} invocations`);
    const retained = memory ? await retainedBytesPerInFlightTask(backend, Math.min(tasks, 4_000), concurrency) : Number.NaN;
    return {
      tasks,
      concurrency,
      wallSeconds,
      invocationsPerSec: tasks / wallSeconds,
      invocationsPerClientCpuSec: tasks / clientCpuSeconds,
      clientCpuSeconds,
      retainedBytesPerInFlightTask: Math.round(retained),
      peakRssDeltaBytes: peakRss - rssBefore,
      connections: after.connections,
    };
  } finally {
    await backend.dispose();
    await emulator.stop();
  }
}

// `node bench/lambda-throughput.mjs [tasks] [--concurrency N] [--rounds N] [--compare DIST_INDEX_JS] [--no-memory]`.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const flag = (name) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const value = args[i + 1];
    args.splice(i, 2);
    return value;
  };
  const noMemory = args.includes("--no-memory");
  if (noMemory) args.splice(args.indexOf("--no-memory"), 1);
  const compare = flag("--compare");
  const concurrency = Number(flag("--concurrency") ?? 100);
  const rounds = Number(flag("--rounds") ?? (compare ? 3 : 1));
  const tasks = Number(args[0] ?? 10_000);
  const variants = compare ? { baseline: compare, current: lambdaDist } : { current: lambdaDist };
  const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, module] of Object.entries(variants)) {
      const res = await benchLambdaThroughput({ tasks, concurrency, module, memory: !noMemory });
      results[name].push(res);
      if (rounds > 1 || compare) console.error(`round ${r + 1} ${name}: ${res.invocationsPerClientCpuSec.toFixed(0)} inv/CPU-s, ${res.invocationsPerSec.toFixed(0)} inv/s`);
    }
  }
  /** Median of every numeric field over the rounds. */
  const summary = (rs) => Object.fromEntries(Object.keys(rs[0]).map((k) => [k, median(rs.map((x) => x[k]))]));
  const out = Object.fromEntries(Object.entries(results).map(([k, rs]) => [k, summary(rs)]));
  console.log(JSON.stringify(compare ? out : out.current, null, 2));
}
