#!/usr/bin/env node
// Tail at scale: pi with 5% of invocations slowed 10x on the platform side (the local backend's `straggle` option, the
// loopback OpenWhisk server's), with backup tasks (pi's default: it is marked deterministic) and without, against the
// same run with no stragglers. The figures are ratios of execute time (first invocation to last result) in one process,
// rounds alternating the three configurations so drift on a shared machine hits them alike; each round uses its own
// straggler seed, the same for the three.
//
// Imports the OpenWhisk backend's built dist/ (`pnpm exec turbo run build` first).
// Standalone: `node bench/stragglers.mjs` prints the result as JSON.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { run } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";

const here = dirname(fileURLToPath(import.meta.url));
const log = (m) => process.stderr.write(`bench: ${m}\n`);

/** Sums of execute time, attempts and backups over the rounds of one configuration. */
const tally = () => ({ executeMs: 0, attempts: 0, tasks: 0, launched: 0, won: 0, wastedMs: 0, runs: 0 });
function add(t, report) {
  t.executeMs += report.executeMs;
  t.attempts += report.totals.attempts;
  t.tasks += report.totals.tasks;
  t.launched += report.totals.backups?.launched ?? 0;
  t.won += report.totals.backups?.won ?? 0;
  t.wastedMs += report.totals.backups?.wastedMs ?? 0;
  t.runs++;
}

/** The three configurations of one backend, alternated over `rounds`; `go(straggle, backupTasks)` runs pi once. */
async function measure(label, rounds, go) {
  const configs = {
    none: { straggle: false, backupTasks: true },
    backups: { straggle: true, backupTasks: true },
    noBackups: { straggle: true, backupTasks: false },
  };
  const out = { none: tally(), backups: tally(), noBackups: tally() };
  let hits;
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round: the one that runs first after a pause does not always get the same slot.
    const order = Object.keys(configs);
    for (let k = 0; k < r % order.length; k++) order.push(order.shift());
    for (const name of order) {
      const c = configs[name];
      const { output, report } = await go(c.straggle ? r + 1 : undefined, c.backupTasks);
      if (hits !== undefined && output.hits !== hits) throw new Error(`${label}: pi gave different counts with stragglers or backups`);
      hits = output.hits;
      add(out[name], report);
      log(`${label} round ${r + 1}: ${name.padEnd(9)} ${(report.executeMs / 1000).toFixed(2)} s, ${report.totals.attempts} attempts, backups ${JSON.stringify(report.totals.backups ?? null)}`);
    }
  }
  const ratio = (a) => a.executeMs / out.none.executeMs;
  return {
    ...out,
    ratioWithBackups: ratio(out.backups),
    ratioWithoutBackups: ratio(out.noBackups),
    // Invocations beyond one per task, per run: the price of the backups.
    extraInvocationsPerRun: (out.backups.attempts - out.backups.tasks) / out.backups.runs,
    extraInvocationsShare: (out.backups.attempts - out.backups.tasks) / out.backups.tasks,
  };
}

/** Runs the scenario on the local backend and on the loopback OpenWhisk server. */
export async function benchStragglers({ tasks = 96, pointsPerTask = 12.5e6, rounds = 3, fraction = 0.05, factor = 10 } = {}) {
  const { pi } = await import("@superfaas/example-pi");
  const input = { points: tasks * pointsPerTask, seed: 7 };
  const spec = (seed) => (seed === undefined ? undefined : { fraction, factor, seed });
  const result = { tasks, points: input.points, fraction, factor, rounds };

  log(`stragglers, local backend: pi ${input.points.toExponential(1)} points in ${tasks} tasks, ${fraction * 100}% of invocations ${factor}x slower`);
  result.local = await measure("local", rounds, async (seed, backupTasks) => {
    const s = spec(seed);
    const backend = localBackend(s ? { straggle: s } : {});
    try {
      return await run(pi, input, { backend, tasks, backupTasks });
    } finally {
      await backend.dispose();
    }
  });

  log("stragglers, OpenWhisk loopback server: the same, each task an activation in a container of the server's");
  const { startOpenWhiskEmulator } = await import(pathToFileURL(join(here, "..", "packages", "testing", "dist", "openwhisk", "server.js")).href);
  const { OpenWhiskBackend } = await import(pathToFileURL(join(here, "..", "packages", "backend-openwhisk", "dist", "index.js")).href);
  // The stock per-minute limit (60) would throttle a benchmark of a few hundred activations: raised, as deployments do.
  const emulator = await startOpenWhiskEmulator({ invocationsPerMinute: 100_000 });
  const backend = new OpenWhiskBackend({ apihost: emulator.url, auth: emulator.auth, namespace: emulator.namespace, wskprops: "/dev/null", env: {} });
  const concurrency = 4; // the local backend's default on 2 cores: the containers share this machine's cores too
  try {
    // Deploy and warm the containers once, so no configuration pays the cold starts.
    await run(pi, { points: concurrency * 1e6, seed: 1 }, { backend, tasks: concurrency, concurrency });
    result.openwhisk = await measure("openwhisk", rounds, async (seed, backupTasks) => {
      emulator.setStraggle(spec(seed));
      return run(pi, input, { backend, tasks, concurrency, backupTasks });
    });
    result.openwhisk.straggledActivations = emulator.stats.straggled;
  } finally {
    await backend.dispose();
    await emulator.close();
  }
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchStragglers(), null, 2));
}
