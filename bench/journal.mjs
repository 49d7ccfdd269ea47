// Durable runs: what the run journal costs on the hot path (10,000 no-op tasks on the local backend, against the same
// run with the journal off) and how soon a resume of a 10,000-task run with 9,000 done starts its first remaining
// task (against a fresh run's start-up). Ratios of figures measured in the same process.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, RunError } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";
import { noop } from "./jobs/noop.mjs";

/** Time from calling run() to the first "started" progress event. */
async function timeToFirstTask(opts) {
  const t0 = performance.now();
  let first;
  const { report } = await run(noop, { n: opts.n }, {
    ...opts,
    onProgress: (e) => {
      if (first === undefined && e.type === "started") first = performance.now() - t0;
    },
  });
  return { firstMs: first, report };
}

export async function benchJournal({ n = 10_000, reps = 7 } = {}) {
  const stateDir = await mkdtemp(join(tmpdir(), "superfaas-bench-journal-"));
  const backend = localBackend();
  try {
    const on = [];
    const off = [];
    for (let rep = 0; rep < reps; rep++) {
      // Alternate the two so drift on a shared machine hits both alike.
      on.push((await run(noop, { n }, { backend, tasks: n, stateDir })).report.executeMs);
      off.push((await run(noop, { n }, { backend, tasks: n, journal: false })).report.executeMs);
    }
    const best = (xs) => Math.min(...xs.slice(1)); // the first round warms both up
    const overhead = { tasks: n, journalMs: best(on), noJournalMs: best(off), ratio: best(on) / best(off) };

    // A run stopped once 9,000 of its 10,000 tasks are done, then resumed; against a fresh run's start-up.
    const fresh = [];
    const resumed = [];
    for (let rep = 0; rep < 3; rep++) {
      fresh.push((await timeToFirstTask({ n, backend, tasks: n, stateDir })).firstMs);
      const stop = new AbortController();
      let runId;
      try {
        await run(noop, { n }, {
          backend,
          tasks: n,
          stateDir,
          signal: stop.signal,
          onStart: (s) => (runId = s.runId),
          onProgress: (e) => e.done >= 9_000 && stop.abort(),
        });
      } catch (err) {
        if (!(err instanceof RunError)) throw err;
      }
      const r = await timeToFirstTask({ n, backend, stateDir, resume: runId });
      if (r.report.status !== "succeeded" || r.report.totals.attempts > 1_100) throw new Error(`the resume ran ${r.report.totals.attempts} attempts`);
      resumed.push(r.firstMs);
    }
    const resume = { tasks: n, done: 9_000, resumeFirstTaskMs: Math.min(...resumed), freshFirstTaskMs: Math.min(...fresh) };
    resume.ratio = resume.resumeFirstTaskMs / resume.freshFirstTaskMs;
    return { overhead, resume };
  } finally {
    await backend.dispose();
    await rm(stateDir, { recursive: true, force: true });
  }
}
