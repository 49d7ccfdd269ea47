#!/usr/bin/env node
// OpenWhisk backend throughput: 10,000 no-op tasks through run() against the loopback OpenWhisk emulator (instant
// actions, throttles raised out of the way), measuring invocations per second and the client's memory. The
// emulator and its containers run in their own processes, so the memory figures are the orchestrating side's
// alone. Imports the packages' built dist/ (run `pnpm build` first). Run alone with
// `node bench/openwhisk-throughput.mjs [tasks]`; prints the result as JSON.
import { fork } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { run } from "@superfaas/core";
import { noop } from "./jobs/noop.mjs";

const here = dirname(fileURLToPath(import.meta.url));

/** A full garbage collection, without needing `node --expose-gc`. */
function collectGarbage() {
  if (typeof globalThis.gc === "function") return globalThis.gc();
  setFlagsFromString("--expose-gc");
  runInNewContext("gc")();
}
const pkg = join(here, "..", "packages", "backend-openwhisk");

/** Starts the emulator in a child process; resolves with its address and a way to stop it. */
async function startEmulatorProcess(options) {
  const child = fork(join(pkg, "test", "emulator", "server.mjs"), [JSON.stringify(options)], {
    stdio: ["pipe", "pipe", "inherit", "ipc"],
    execArgv: [],
  });
  const lines = createInterface({ input: child.stdout });
  const [first] = await Promise.race([
    once(lines, "line"),
    once(child, "exit").then(([code]) => Promise.reject(new Error(`the emulator exited with code ${code} before listening`))),
  ]);
  const info = JSON.parse(first);
  const stats = async () => {
    const answer = once(child, "message");
    child.send("stats");
    return (await answer)[0].stats;
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
 * Runs `tasks` no-op tasks through run() with the OpenWhisk backend against the emulator; returns invocations per
 * second and the client's memory: peak RSS and heap as sampled over the run (garbage included), and the heap that
 * is really retained per task in flight, measured by full collections at 25, 50 and 75 % of the run.
 */
export async function benchOpenWhiskThroughput({ tasks = 10_000, concurrency = 200, containers = 4 } = {}) {
  const { OpenWhiskBackend } = await import(pathToFileURL(join(pkg, "dist", "index.js")).href);
  const emulator = await startEmulatorProcess({
    containersPerInvoker: containers,
    concurrentInvocations: 1_000_000,
    invocationsPerMinute: 1_000_000_000,
    activationsKept: 2 * tasks,
  });
  const backend = new OpenWhiskBackend({ apihost: emulator.url, auth: emulator.auth, namespace: emulator.namespace, wskprops: "/dev/null", env: {}, maxInFlight: concurrency });
  try {
    // Deploy the action and warm every container before measuring.
    await run(noop, { n: 4 * containers }, { backend, concurrency, tasks: 4 * containers });
    collectGarbage();
    await new Promise((r) => setTimeout(r, 100));
    collectGarbage();
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakHeap = base.heapUsed;
    const sample = () => {
      const m = process.memoryUsage();
      if (m.rss > peakRss) peakRss = m.rss;
      if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
    };
    const sampler = setInterval(sample, 20);
    // Retained heap: collect at a few points of the run, with the attempts in flight still holding what they hold.
    const retained = [];
    const marks = [0.25, 0.5, 0.75].map((f) => Math.floor(f * tasks));
    const onProgress = (e) => {
      if (e.type !== "succeeded" || e.done !== marks[0]) return;
      marks.shift();
      const inFlight = e.inFlight;
      collectGarbage();
      retained.push({ done: e.done, inFlight, heapBytes: process.memoryUsage().heapUsed - base.heapUsed });
    };
    let report;
    try {
      ({ report } = await run(noop, { n: tasks }, { backend, concurrency, tasks, onProgress }));
    } finally {
      clearInterval(sampler);
      sample();
    }
    if (report.totals.succeeded !== tasks) throw new Error(`only ${report.totals.succeeded} of ${tasks} tasks succeeded`);
    const server = await emulator.stats();
    const seconds = report.executeMs / 1000;
    const inFlight = report.totals.peakConcurrency;
    // The heap also grows with every finished task (its record in the run report): fit heap = a + b * done over the
    // samples, so b is the report's cost per finished task and a, over the tasks in flight, the cost of one in flight.
    const first = retained[0];
    const last = retained[retained.length - 1];
    const perFinished = first && last && last.done > first.done ? (last.heapBytes - first.heapBytes) / (last.done - first.done) : 0;
    const perTask = retained.filter((r) => r.inFlight > 0).map((r) => (r.heapBytes - perFinished * r.done) / r.inFlight);
    return {
      tasks,
      concurrency,
      containers,
      seconds,
      invocationsPerSec: tasks / seconds,
      attempts: report.totals.attempts,
      latencyMs: report.latencyMs,
      peakInFlight: inFlight,
      baselineRssBytes: base.rss,
      peakRssBytes: peakRss,
      baselineHeapBytes: base.heapUsed,
      peakHeapBytes: peakHeap,
      // Upper bounds: the sampled peaks include garbage not yet collected.
      peakRssBytesPerInFlightTask: (peakRss - base.rss) / inFlight,
      peakHeapBytesPerInFlightTask: (peakHeap - base.heapUsed) / inFlight,
      // What one attempt in flight really keeps alive (median over the mid-run collections), and what each
      // finished task adds to the run's report.
      retainedHeapBytesPerInFlightTask: perTask.length ? perTask.sort((a, b) => a - b)[Math.floor(perTask.length / 2)] : undefined,
      reportHeapBytesPerFinishedTask: perFinished,
      retainedSamples: retained,
      emulator: { coldStarts: server.coldStarts, peakContainers: server.peakContainers, throttled: server.throttled, accepted: server.accepted },
    };
  } finally {
    await backend.dispose();
    await emulator.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const tasks = Number(process.argv[2] ?? 10_000);
  const result = await benchOpenWhiskThroughput({ tasks });
  console.log(JSON.stringify(result, null, 2));
}
