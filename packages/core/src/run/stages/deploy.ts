// Stage 3 of a run, deploy: the backend prepares the job's code for the run (a resumed run adopts what its first
// session made), and a resumed run's code must still be the run's own.
import { SuperfaasError } from "../../errors.js";
import type { Job } from "../../job/job.js";
import type { RunJournal } from "./journal.js";
import type { ResolvedRun } from "./resolve.js";

/** Deploys the run's code; resolves with `performance.now()` once prepared. A failure leaves nothing run. */
export async function deploy<I, T, P, O>(job: Job<I, T, P, O>, r: ResolvedRun<I>, journal: RunJournal): Promise<number> {
  const { opts, resumed, runId } = r;
  const backend = opts.backend;
  try {
    await backend.prepare({
      job: { modulePath: r.modulePath, jobName: job.name },
      runId,
      concurrency: r.concurrency,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      ...(resumed ? { adopt: resumed.resources } : {}),
    });
    if (resumed?.codeHash && backend.codeHash && resumed.codeHash !== backend.codeHash && !opts.force) {
      throw new SuperfaasError(
        "RESUME_REFUSED",
        `run ${runId}: the job module ${r.modulePath} changed since the run started (bundle ${backend.codeHash.slice(0, 12)}, the run's ${resumed.codeHash.slice(0, 12)})`,
        "restore the module as it was, start a new run, or resume with --force (finished tasks keep the old code's partials)",
      );
    }
  } catch (err) {
    await journal.discard();
    throw err;
  }
  journal.deployed(backend);
  return performance.now();
}
