// run-sum-of-squares.ts
import { run } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";
import { sumOfSquares } from "./sum-of-squares.js";

const backend = localBackend();              // worker threads, one per core
try {
  const { output, report } = await run(sumOfSquares, { n: 1e7 }, {
    backend,
    tasks: "auto",                          // chosen from a short probe (see "How --tasks auto chooses")
    retries: 3,                             // for retryable failures only
    timeoutMs: 60_000,                      // per attempt
    signal: AbortSignal.timeout(600_000),   // cancel the whole run
    onProgress: (e) => console.error(`${e.done}/${e.total}`),
  });
  console.log(output);                      // 333333283333335000000, exact
  console.error(report.totals);
} finally {
  await backend.dispose();
}
