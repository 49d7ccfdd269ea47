#!/usr/bin/env node
// `--tasks auto` against a sweep of fixed task counts: the wall time of an auto run over the best wall time of the
// sweep, on the local backend (pi, CPU-bound) and on the loopback OpenWhisk server with 50 ms of platform overhead per
// invocation (a job whose tasks wait for their work, see jobs/timed-work.mjs). Runs alternate (each round: every
// fixed count, then auto) so drift on a shared machine hits all alike; each figure is the best of its rounds.
// Standalone: `node bench/auto-tasks.mjs [local|openwhisk]` prints the result as JSON.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { run } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";
import { timedWork } from "./jobs/timed-work.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const log = (m) => process.stderr.write(`bench: ${m}\n`);

/** Runs `job` with each fixed count and with auto, `rounds` times, alternating; the best wall time of each. */
async function sweep(label, job, input, backend, counts, rounds, concurrency) {
  await run(job, input, { backend, tasks: counts[0], concurrency }); // deploy, start and warm the workers
  const best = new Map();
  const autoRuns = [];
  const keep = (key, ms) => best.set(key, Math.min(best.get(key) ?? Number.POSITIVE_INFINITY, ms));
  for (let round = 0; round < rounds; round++) {
    for (const tasks of counts) {
      const { report } = await run(job, input, { backend, tasks, concurrency });
      keep(tasks, report.wallMs);
    }
    const { report } = await run(job, input, { backend, tasks: "auto", concurrency });
    keep("auto", report.wallMs);
    autoRuns.push({ wallMs: report.wallMs, ...report.autoTasks });
    log(`${label} round ${round + 1}: auto chose ${report.totals.tasks} tasks (${report.autoTasks?.reason ?? "no probe"})`);
  }
  const fixed = counts.map((tasks) => ({ tasks, wallMs: best.get(tasks) }));
  const bestFixed = fixed.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
  const autoMs = best.get("auto");
  return { concurrency, fixed, bestFixed, autoMs, autoRuns, ratio: autoMs / bestFixed.wallMs };
}

/** The local backend: pi (CPU-bound) at the backend's default concurrency. */
export async function benchAutoTasksLocal({ points = Number(process.env.BENCH_AUTO_POINTS ?? 2e9), rounds = 2 } = {}) {
  const { pi } = await import("@superfaas/example-pi");
  const backend = localBackend();
  try {
    const c = backend.facts.defaultConcurrency;
    const counts = [1, 2, 4, 8, 16, 32, 64].map((m) => m * c);
    return { points, ...(await sweep("local", pi, { points, seed: 7 }, backend, counts, rounds, c)) };
  } finally {
    await backend.dispose();
  }
}

/** The loopback OpenWhisk server with `overheadMs` per invocation, 8 activations at once, waiting work. */
export async function benchAutoTasksOpenWhisk({ overheadMs = 50, units = Number(process.env.BENCH_AUTO_UNITS ?? 16_000), msPerUnit = 2, rounds = 2 } = {}) {
  const { startOpenWhiskEmulator } = await import(pathToFileURL(join(here, "..", "packages", "testing", "dist", "openwhisk", "server.js")).href);
  const { OpenWhiskBackend } = await import(pathToFileURL(join(here, "..", "packages", "backend-openwhisk", "dist", "index.js")).href);
  const c = 8;
  // Invocations per minute raised well above the sweep's, so neither the sweep nor auto is throttled.
  const emulator = await startOpenWhiskEmulator({ invokeOverheadMs: overheadMs, invocationsPerMinute: 1_000_000, containersPerInvoker: c });
  const backend = new OpenWhiskBackend({ apihost: emulator.url, auth: emulator.auth, namespace: emulator.namespace, wskprops: "/dev/null", env: {} });
  try {
    const counts = [1, 2, 4, 8, 16, 32].map((m) => m * c);
    return { overheadMs, units, msPerUnit, ...(await sweep("openwhisk", timedWork, { units, msPerUnit }, backend, counts, rounds, c)) };
  } finally {
    await backend.dispose();
    await emulator.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const which = process.argv[2];
  const out = {};
  if (!which || which === "local") out.local = await benchAutoTasksLocal();
  if (!which || which === "openwhisk") out.openwhisk = await benchAutoTasksOpenWhisk();
  console.log(JSON.stringify(out, null, 2));
}
