// The run journal as an observer of the run: run() and its stages tell it what happened (deployed, the task count the
// probe chose, the end), and the scheduler hands it each task's result. It keeps the journal's rules in one place: a
// new run's journal is there before anything is deployed (a kill while deploying still shows); a resumed run's session
// is recorded once its code is known to be the run's; a journal that could not be written does not fail a run that
// worked.
import type { Backend } from "../../backend.js";
import type { Job } from "../../job/job.js";
import type { ScheduleOptions } from "../../schedule/scheduler.js";
import { JournalWriter, removeJournal } from "../journal/index.js";
import type { RunReport } from "../report.js";
import type { ResolvedRun } from "./resolve.js";

/** What a run tells its journal. Without a journal (`journal: false` on a new run) every call does nothing. */
export interface RunJournal {
  /** The journal's file, when the run has one. */
  readonly path?: string;
  /** The backend is prepared: a resumed run's session starts here; the code and the platform's resources are recorded. */
  deployed(backend: Backend): void;
  /** Nothing ran (the deploy failed): a new run's journal is removed, a resumed one's stays as it was (the resume can be tried again). */
  discard(): Promise<void>;
  /** The task count `tasks: "auto"` chose once its probe had measured (the start record named the probe's fine count). */
  retasked(taskCount: number): void;
  /**
   * The scheduler's result hook (`ScheduleOptions.onResult`): a task counts as done once its partial is written.
   * Undefined while nothing is journaled.
   */
  readonly onResult: ScheduleOptions["onResult"];
  /** The run ended: what is pending and the end record are written, and the journal closed. */
  ended(status: RunReport["status"], error?: string): Promise<void>;
}

/** Opens the run's journal (a new run's, unless `journal: false`); a resumed run's is reopened once deployed. */
export function openJournal<I, T, P, O>(job: Job<I, T, P, O>, r: ResolvedRun<I>, taskCount: number): RunJournal {
  const { opts, resumed } = r;
  let writer: JournalWriter | undefined;
  if (!resumed && opts.journal !== false) {
    writer = JournalWriter.create(r.stateDir, {
      runId: r.runId,
      job: job.name,
      module: r.modulePath,
      export: job.name,
      input: r.input,
      backend: opts.backend.name,
      backendOptions: opts.backendOptions ?? {},
      options: { concurrency: r.concurrency, tasks: taskCount, timeoutMs: opts.timeoutMs ?? 15 * 60_000, retries: opts.retries ?? 3 },
      taskCount,
      startedAt: r.startedAt,
    });
  }
  const path = writer?.path ?? resumed?.path;
  const onResult = (i: number, p: unknown, committed: () => void) => writer!.result(i, p, committed);
  return {
    ...(path ? { path } : {}),
    deployed(backend) {
      if (resumed) writer = JournalWriter.reopen(resumed);
      writer?.prepared({ ...(backend.codeHash ? { codeHash: backend.codeHash } : {}), ...(backend.resources ? { resources: backend.resources() } : {}) });
    },
    async discard() {
      writer?.abandon();
      if (writer) await removeJournal(writer.path).catch(() => undefined);
    },
    retasked(count) {
      writer?.prepared({ taskCount: count });
    },
    get onResult() {
      return writer ? onResult : undefined;
    },
    async ended(status, error) {
      const err = await writer?.end(status, error);
      if (!err) return;
      // Said, with what to do; the run's outcome stands.
      const line = `warning: ${err.message} — ${err.hint}`;
      if (opts.log) opts.log(line);
      else process.emitWarning(line);
    },
  };
}
