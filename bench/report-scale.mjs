// Memory and time of writing a run report at 100,000 and 1,000,000 tasks (synthetic records, the shape the scheduler
// makes). The peak heap per task should stay flat from one size to the next (linear growth): `pnpm bench report`
// reports the ratio of 1M to 100k. Standalone: `node bench/report-scale.mjs` prints the table.
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runDocument, writeReport } from "@superfaas/report";
import { collectGarbage } from "./lib/measure.mjs";

function records(n, workers) {
  const free = new Array(workers).fill(25);
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) {
    const w = i % workers;
    const start = free[w] + 0.1;
    const end = start + 1 + (i % 7) * 0.3;
    free[w] = end;
    tasks[i] = { index: i, queuedAt: 25, attempts: 1, status: "succeeded", startedAt: start, finishedAt: end, workerId: `local:1:${w}`, coldStart: i < workers };
  }
  const last = Math.max(...free);
  return {
    schemaVersion: 1, runId: "bench", job: "bench", backend: "local", status: "succeeded", startedAt: new Date().toISOString(),
    prepareMs: 25, executeMs: last - 25, wallMs: last + 1, concurrency: workers, input: { n },
    totals: { tasks: n, succeeded: n, failed: 0, attempts: n, retries: 0, throttled: 0, coldStarts: workers, billedMs: 0, peakConcurrency: workers },
    throughput: { tasksPerSec: n / ((last - 25) / 1000) }, latencyMs: { p50: 2, p95: 2.8, p99: 2.8, max: 2.8 }, metrics: {}, tasks,
  };
}

/** Writes reports of 100,000 and 1,000,000 tasks; returns time, peak extra heap per task and page size of each. */
export async function benchReportScale() {
  const results = [];
  for (const n of [100_000, 1_000_000]) {
    const report = records(n, 4);
    collectGarbage();
    const base = process.memoryUsage().heapUsed;
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 10);
    const dir = await mkdtemp(join(tmpdir(), "superfaas-bench-report-"));
    const t0 = performance.now();
    const written = await writeReport(dir, runDocument({ report, output: 1 }));
    const ms = performance.now() - t0;
    clearInterval(timer);
    const html = (await stat(written.html)).size;
    await rm(dir, { recursive: true, force: true });
    results.push({ tasks: n, ms: Math.round(ms), peakExtraBytesPerTask: Math.round((peak - base) / n), htmlBytes: html });
  }
  return { sizes: results, peakPerTaskRatio: results[1].peakExtraBytesPerTask / results[0].peakExtraBytesPerTask };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { sizes, peakPerTaskRatio } = await benchReportScale();
  console.table(sizes);
  console.log(`peak heap per task, 1M vs 100k: ${peakPerTaskRatio.toFixed(2)}× (flat means linear growth)`);
}
