import { constants } from "node:fs";
import { access, lstat, realpath, stat } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { RunError, run, SuperfaasError, type BackendDescriptor, type BackupTasksOption, type Job, type ProgressEvent, type RunReport } from "@superfaas/core";
import { writeReport, type ReportDocument } from "@superfaas/report";
import type { Container } from "inversify";
import { createProgress } from "./progress.js";

/** Where the CLI writes; injectable so tests run it in-process. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WriteStream | (NodeJS.WritableStream & { isTTY?: boolean });
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
}

/** What a command handler needs from the CLI around it. */
export interface CommandContext {
  container: Container;
  io: Io;
  /** The whole command line, for the second, strict parse. */
  argv: string[];
  /** Tells main() whether to print stacks on error. */
  setVerbose(verbose: boolean): void;
}

/** How every run of a run, compare or scale command is made. */
export interface RunSettings {
  concurrency?: number;
  tasks?: number | "auto";
  /** The count `--tasks N` asked for, to say so when the job's partition makes another (scale sets `tasks` anyway). */
  tasksAsked?: number;
  timeoutMs: number;
  retries: number;
  /** From --throttle-timeout (seconds there); absent: core's default. */
  throttleTimeoutMs?: number;
  /** From --backup-tasks, --no-backup-tasks, --backup-after and --backup-multiple; absent: the job's default. */
  backupTasks?: BackupTasksOption;
  json: boolean;
  verbose: boolean;
  /** Keep a run journal (default true) in `stateDir`. */
  journal?: boolean;
  stateDir?: string;
  /** Continue this run from its journal (`superfaas resume`), even with changed code when `force`. */
  resume?: string;
  force?: boolean;
}

/** Backend flags that hold secrets: never written to a run journal (a resume reads them from the environment again). */
const SECRET_FLAG = /auth|key|secret|token|password|credential/i;

/** The run settings the common flags give (`--timeout` is in seconds, `run()` takes milliseconds). */
export function runSettings(opts: Record<string, unknown>): RunSettings {
  return {
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency as number } : {}),
    ...(opts.tasks !== undefined ? { tasks: opts.tasks as number | "auto" } : {}),
    ...(typeof opts.tasks === "number" ? { tasksAsked: opts.tasks } : {}),
    timeoutMs: Math.round((opts.timeout as number) * 1000),
    retries: opts.retries as number,
    ...(opts.throttleTimeout !== undefined ? { throttleTimeoutMs: Math.round((opts.throttleTimeout as number) * 1000) } : {}),
    ...backupSettings(opts),
    json: Boolean(opts.json),
    verbose: Boolean(opts.verbose),
    journal: opts.journal !== false,
    ...(opts.stateDir !== undefined ? { stateDir: resolve(opts.stateDir as string) } : {}),
  };
}

/** `--no-backup-tasks` wins; a threshold flag turns backups on with it; `--backup-tasks` alone, the default policy. */
function backupSettings(opts: Record<string, unknown>): { backupTasks?: BackupTasksOption } {
  if (opts.backupTasks === false) return { backupTasks: false };
  const policy = {
    ...(opts.backupAfter !== undefined ? { after: opts.backupAfter as number } : {}),
    ...(opts.backupMultiple !== undefined ? { multiple: opts.backupMultiple as number } : {}),
  };
  if (Object.keys(policy).length) return { backupTasks: policy };
  return opts.backupTasks === true ? { backupTasks: true } : {};
}

/** The CLI invocations (by their Io) already told that the job chose its own task count: once is enough for a scale or compare. */
const toldOwnCount = new WeakSet<Io>();

/**
 * Says once on stderr (never in --json output) that the job's partition made `made` tasks where `--tasks` asked for
 * `asked`: a job may cut its input its own way (wordcount --chunk), and the run is then not the size the user asked.
 */
export function noteOwnTaskCount(io: Io, asked: number | undefined, made: number): void {
  if (asked === undefined || made === asked || toldOwnCount.has(io)) return;
  toldOwnCount.add(io);
  io.stderr.write(`note: the job chose its own task count: ${made} tasks, not the ${asked} of --tasks (its partition does not follow it)\n`);
}

/** The outcome of one run: its output and report, or the RunError that ended it (with the report so far). */
export type RunOutcome = { ok: true; output: unknown; report: RunReport } | { ok: false; error: RunError; report: RunReport };

/**
 * Creates the backend, runs the job on it with a progress display, and disposes of it. A failed or cancelled run
 * comes back as an outcome with its report; errors before the first task (configuration, deployment) are thrown.
 */
export async function runOn(
  descriptor: BackendDescriptor<never>,
  options: Record<string, unknown>,
  job: Job,
  input: unknown,
  settings: RunSettings,
  io: Io,
  label: string,
): Promise<RunOutcome> {
  const backend = await descriptor.create(options as never);
  const progress = settings.json ? undefined : createProgress(label, io.stderr as NodeJS.WriteStream);
  // The first event carries the task count; the note goes out before the progress display starts.
  let counted = settings.tasksAsked === undefined;
  const onProgress =
    progress || !counted
      ? (e: ProgressEvent) => {
          if (!counted) {
            counted = true;
            noteOwnTaskCount(io, settings.tasksAsked, e.total);
          }
          progress?.update(e);
        }
      : undefined;
  try {
    const result = await run(job, input, {
      backend,
      ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
      ...(settings.tasks !== undefined ? { tasks: settings.tasks } : {}),
      timeoutMs: settings.timeoutMs,
      retries: settings.retries,
      ...(settings.throttleTimeoutMs !== undefined ? { throttleTimeoutMs: settings.throttleTimeoutMs } : {}),
      ...(settings.backupTasks !== undefined ? { backupTasks: settings.backupTasks } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...(settings.verbose ? { log: (m) => io.stderr.write(`${m}\n`) } : {}),
      journal: settings.journal !== false,
      ...(settings.stateDir !== undefined ? { stateDir: settings.stateDir } : {}),
      ...(settings.resume !== undefined ? { resume: settings.resume, force: Boolean(settings.force) } : {}),
      backendOptions: Object.fromEntries(Object.entries(options).filter(([k]) => !SECRET_FLAG.test(k))),
      // A --concurrency above what the platform runs at once is lowered: say so once, before anything is deployed.
      onStart: ({ concurrency, concurrencyAsked }) => {
        if (settings.concurrency !== undefined && concurrencyAsked !== undefined) {
          io.stderr.write(`note: --concurrency ${settings.concurrency} lowered to ${concurrency}: ${descriptor.name} runs at most ${concurrency} attempts at once here\n`);
        }
      },
    });
    return { ok: true, output: result.output, report: result.report };
  } catch (e) {
    if (e instanceof RunError) return { ok: false, error: e, report: e.report };
    throw e;
  } finally {
    progress?.stop();
    await backend.dispose();
  }
}

/** The files a report directory receives; each must be a plain file (or absent) for writing not to fail or block. */
const REPORT_FILES = ["report.json", "report.html", "timeline.svg", "compare.svg", "scaling.svg", "cost.svg"];
/** File systems of the kernel and devices: writing there fails at best, and can block (a FIFO, a terminal). */
const SPECIAL = /^\/(proc|sys|dev)(\/|$)/;

/**
 * Checks that `--report DIR` can be written before anything runs, so a bad path costs no computation: the nearest
 * existing part of the path must be a writable folder on an ordinary file system, and files already there must be
 * plain files. Nothing is created here.
 */
export async function checkReportDir(dir: string): Promise<void> {
  const bad = (why: string) =>
    new SuperfaasError("BAD_INPUT", `cannot write the report to ${dir}: ${why}`, "pass --report a folder you can write to (it is created if missing), e.g. --report out/report");
  const target = resolve(dir);
  let existing = target;
  let info: Awaited<ReturnType<typeof stat>>;
  for (;;) {
    try {
      info = await stat(existing);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOTDIR: a file sits where the path needs a folder; the walk up finds it and says so.
      if (code !== "ENOENT" && code !== "ENOTDIR") throw bad((e as Error).message);
      const up = dirname(existing);
      if (up === existing) throw bad("no part of the path exists");
      existing = up;
    }
  }
  const real = await realpath(existing);
  if (SPECIAL.test(real)) throw bad(`${real} is on a special file system (/proc, /sys or /dev), not a folder for files`);
  if (!info.isDirectory()) throw bad(existing === target ? "it is a file, not a folder" : `${existing} is a file, not a folder`);
  try {
    await access(existing, constants.W_OK | constants.X_OK);
  } catch {
    throw bad(`${existing} is not writable`);
  }
  if (existing !== target) return;
  for (const name of REPORT_FILES) {
    const file = join(target, name);
    const f = await lstat(file).catch(() => undefined);
    if (!f) continue;
    if (!f.isFile()) throw bad(`${file} exists and is not a plain file`);
  }
}

/** Writes a report directory and says where, on stderr so `--json` output stays clean. */
export async function saveReport(dir: string, doc: ReportDocument, io: Io): Promise<void> {
  let written: Awaited<ReturnType<typeof writeReport>>;
  try {
    written = await writeReport(dir, doc);
  } catch (e) {
    // Checked before the run, but the disk can fill up or the folder change while it runs.
    const code = (e as NodeJS.ErrnoException).code;
    if (!code) throw e;
    throw new SuperfaasError("BAD_INPUT", `cannot write the report to ${dir}: ${(e as Error).message}`, "the run itself finished; free some space or pick another folder and run again", { cause: e });
  }
  const shown = (p: string) => {
    const r = relative(process.cwd(), p);
    return r && !r.startsWith("..") ? r : p;
  };
  io.stderr.write(`report: ${shown(written.html)} (data: ${shown(written.json)}${written.svg.length ? `; svg: ${written.svg.map(shown).join(", ")}` : ""})\n`);
}
