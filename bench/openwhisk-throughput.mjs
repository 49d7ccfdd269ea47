#!/usr/bin/env node
// OpenWhisk backend throughput: 10,000 no-op tasks through run() against the loopback OpenWhisk emulator, with the
// figures that say whether the orchestrating side could be the bottleneck: invocations per second of wall time and
// per second of the client's own CPU time, and the client's memory per task in flight.
//
// The emulator runs in a child process of its own (packages/testing/dist/openwhisk/server.js, built; started here, which prints its
// address as one JSON line), so process.cpuUsage() and the heap of this process are the client's alone. The
// emulator answers every invocation in its own process (`instantActions`, a benchmark-only option: no container
// runs the action; the no-op job's answer, its task as the partial, comes back at once), so it keeps up with the
// client; its CPU time is reported too.
//
// Imports the backend's and the emulator's built dist/ (`pnpm exec turbo run build` first).
// Standalone: `node bench/openwhisk-throughput.mjs [tasks] [--compare]` prints the result as JSON; with
// --compare it also runs the hot path as it was before (the `openwhisk` npm client for every invocation),
// alternating with the current one, and prints both.
import { fork } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { run } from "@superfaas/core";
import { noop } from "./jobs/noop.mjs";
import { collectGarbage, cpuSeconds } from "./lib/measure.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "packages", "backend-openwhisk");


/** Starts the emulator in a child process; resolves with its address and ways to read its stats and stop it. */
async function startEmulatorProcess(options) {
  const child = fork(join(here, "..", "packages", "testing", "dist", "openwhisk", "server.js"), [JSON.stringify(options)], {
    stdio: ["pipe", "pipe", "inherit", "ipc"],
    execArgv: [],
  });
  const lines = createInterface({ input: child.stdout });
  const [first] = await Promise.race([
    once(lines, "line"),
    once(child, "exit").then(([code]) => Promise.reject(new Error(`the emulator exited with code ${code} before listening`))),
  ]);
  const info = JSON.parse(first);
  /** The emulator's counters and its process's CPU time so far. */
  const stats = async () => {
    const answer = once(child, "message");
    child.send("stats");
    const [m] = await answer;
    return { ...m.stats, cpuSeconds: cpuSeconds(m.cpu) };
  };
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = once(child, "exit");
    child.stdin.end(); // the emulator closes itself (and its containers) when its stdin ends
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return { ...info, stats, stop };
}

/**
 * The hot path as it was before it moved to undici, for a same-run baseline: each invocation through the
 * `openwhisk` npm client (needle), blocking with result=false, raced against the attempt's abort signal, the
 * answer read by the backend's own code. Reaches into the backend's private fields: benchmark use only.
 */
function useOpenWhiskClientForInvocations(backend, concurrency) {
  backend.agent.maxSockets = concurrency + 4;
  backend.agent.maxFreeSockets = concurrency + 4;
  backend.invoke = async function invokeThroughClient(req, signal) {
    const params = { taskIndex: req.taskIndex, attempt: req.attempt, task: req.task };
    JSON.stringify(req.task); // the size check the old path made
    const call = this.client.actions.invoke({ name: this.action, params, blocking: true, result: false, signal });
    let aborted;
    const abort = new Promise((_, reject) => {
      aborted = () => reject(signal.reason);
      signal.addEventListener("abort", aborted, { once: true });
    });
    let answer;
    try {
      answer = await Promise.race([call, abort]);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (err.error?.response && typeof err.error.activationId === "string") answer = err.error;
      else throw err;
    } finally {
      signal.removeEventListener("abort", aborted);
      call.catch(() => undefined);
    }
    return this.toResult(answer);
  };
}

/**
 * Runs `tasks` no-op tasks through run() with the OpenWhisk backend against the emulator (in its own process) and
 * returns:
 * - `wallSeconds`, `invocationsPerSec`: the run's execute phase, wall time;
 * - `clientCpuSeconds`, `invocationsPerClientCpuSec`: this process's CPU time (user + system, all threads) over the
 *   same phase; tasks per CPU second is what one core of client could sustain;
 * - `retainedBytesPerInFlightTask`: heap kept alive per attempt in flight, from full collections at 25, 50 and 75 %
 *   of the run, less the heap still held once the run is over and the backend disposed (the run's report and
 *   arrays), the report's growth per finished task taken out;
 * - `peakRssDeltaBytes`: the highest RSS during the run (sampled every 50 ms, and the process's high-water mark
 *   when the run raised it) less the RSS before it;
 * - `emulatorCpuSeconds`: the emulator process's CPU time over the run (when it nears `wallSeconds`, the
 *   emulator, not the client, sets the pace).
 * The forced collections' own CPU and wall time are left out of the figures.
 * `transport: "openwhisk-client"` measures the previous hot path instead (see above); `dist` is the folder of
 * the backend build to measure (default the package's dist/), to compare two builds.
 */
export async function benchOpenWhiskThroughput({ tasks = 10_000, concurrency = 200, containers = 4, instantActions = true, transport = "undici", dist = join(pkg, "dist") } = {}) {
  const { OpenWhiskBackend } = await import(pathToFileURL(join(dist, "index.js")).href);
  const emulator = await startEmulatorProcess({
    containersPerInvoker: containers,
    concurrentInvocations: 1_000_000,
    invocationsPerMinute: 1_000_000_000,
    activationsKept: 2 * tasks,
    instantActions,
  });
  const backend = new OpenWhiskBackend({ apihost: emulator.url, auth: emulator.auth, namespace: emulator.namespace, wskprops: "/dev/null", env: {}, maxInFlight: concurrency });
  if (transport === "openwhisk-client") useOpenWhiskClientForInvocations(backend, concurrency);
  else if (transport !== "undici") throw new Error(`unknown transport ${transport}`);
  // The run's per-task arrays (the tasks, the partials) stay referenced after the run, so that the heap left once
  // it is over still holds them and they are not counted as memory per task in flight.
  const kept = {};
  const job = {
    ...noop,
    partition: (input, ctx) => (kept.tasks = noop.partition(input, ctx)),
    reduce: (partials, input) => {
      kept.partials = partials;
      return noop.reduce(partials, input);
    },
  };
  let disposed = false;
  try {
    // Deploy the action, open connections, warm the code paths (and the containers when actions really run).
    await run(job, { n: Math.max(4 * containers, concurrency) }, { backend, concurrency, tasks: Math.max(4 * containers, concurrency) });
    collectGarbage();
    await new Promise((r) => setTimeout(r, 100));
    collectGarbage();
    const base = process.memoryUsage();
    // The peak RSS: sampled every 50 ms (cheap), and the process's own high-water mark when the run raised it.
    const maxRssBefore = process.resourceUsage().maxRSS * 1024;
    let peakRss = base.rss;
    const sampler = setInterval(() => {
      const rss = process.memoryUsage.rss();
      if (rss > peakRss) peakRss = rss;
    }, 50);
    // Full collections mid-run, with the attempts in flight holding what they hold; their cost is set aside.
    const retained = [];
    let gcCpu = 0;
    let gcWallMs = 0;
    const marks = [0.25, 0.5, 0.75].map((f) => Math.floor(f * tasks));
    const onProgress = (e) => {
      if (e.type !== "succeeded" || e.done !== marks[0]) return;
      marks.shift();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      collectGarbage();
      retained.push({ done: e.done, inFlight: e.inFlight, heapBytes: process.memoryUsage().heapUsed });
      gcWallMs += performance.now() - t0;
      gcCpu += cpuSeconds(process.cpuUsage(c0));
    };
    const emulatorBefore = await emulator.stats();
    const cpuBefore = process.cpuUsage();
    let report;
    try {
      ({ report } = await run(job, { n: tasks }, { backend, concurrency, tasks, onProgress }));
    } finally {
      clearInterval(sampler);
    }
    const maxRssAfter = process.resourceUsage().maxRSS * 1024;
    if (maxRssAfter > maxRssBefore && maxRssAfter > peakRss) peakRss = maxRssAfter;
    const clientCpuSeconds = cpuSeconds(process.cpuUsage(cpuBefore)) - gcCpu;
    const emulatorAfter = await emulator.stats();
    if (report.totals.succeeded !== tasks) throw new Error(`only ${report.totals.succeeded} of ${tasks} tasks succeeded`);
    const wallSeconds = (report.executeMs - gcWallMs) / 1000;
    // What stays once nothing is in flight: the report, the run's arrays, none of the connections.
    await backend.dispose();
    disposed = true;
    collectGarbage();
    const after = process.memoryUsage().heapUsed;
    // heap(sample) = after + perInFlight * inFlight - perFinished * (tasks - done); perFinished (each finished
    // task's record in the report) from the samples' slope, the in-flight count being the same at each.
    const first = retained[0];
    const last = retained[retained.length - 1];
    const perFinished = first && last && last.done > first.done ? Math.max(0, (last.heapBytes - first.heapBytes) / (last.done - first.done)) : 0;
    const perTask = retained.filter((r) => r.inFlight > 0).map((r) => (r.heapBytes - after + perFinished * (tasks - r.done)) / r.inFlight);
    perTask.sort((a, b) => a - b);
    return {
      tasks,
      concurrency,
      wallSeconds,
      invocationsPerSec: tasks / wallSeconds,
      invocationsPerClientCpuSec: tasks / clientCpuSeconds,
      clientCpuSeconds,
      retainedBytesPerInFlightTask: perTask.length ? perTask[Math.floor(perTask.length / 2)] : undefined,
      peakRssDeltaBytes: peakRss - base.rss,
      emulatorCpuSeconds: emulatorAfter.cpuSeconds - emulatorBefore.cpuSeconds,
    };
  } finally {
    if (!disposed) await backend.dispose();
    await emulator.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const tasks = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000);
  if (!args.includes("--compare")) {
    console.log(JSON.stringify(await benchOpenWhiskThroughput({ tasks }), null, 2));
  } else {
    // Alternate the two, twice each, so that drift on a shared machine hits both alike; keep each one's best.
    const best = {};
    for (let round = 0; round < 2; round++) {
      for (const transport of ["openwhisk-client", "undici"]) {
        const r = await benchOpenWhiskThroughput({ tasks, transport });
        process.stderr.write(`bench: ${transport} round ${round + 1}: ${r.invocationsPerSec.toFixed(0)}/s wall, ${r.invocationsPerClientCpuSec.toFixed(0)}/client CPU s, ${(r.retainedBytesPerInFlightTask / 1024).toFixed(1)} KB per task in flight\n`);
        if (!best[transport] || r.invocationsPerClientCpuSec > best[transport].invocationsPerClientCpuSec) best[transport] = r;
      }
    }
    const ratio = best.undici.invocationsPerClientCpuSec / best["openwhisk-client"].invocationsPerClientCpuSec;
    console.log(JSON.stringify({ baseline: best["openwhisk-client"], current: best.undici, clientCpuSpeedup: ratio }, null, 2));
  }
}
