import { relative } from "node:path";
import { RunError, run, type BackendDescriptor, type Job, type RunReport } from "@superfaas/core";
import { writeReport, type ReportDocument } from "@superfaas/report";
import type { Container } from "inversify";
import type { Io } from "./main.js";
import { createProgress } from "./progress.js";

/** What a command handler needs from the CLI around it. */
export interface CommandContext {
  container: Container;
  io: Io;
  /** The whole command line, for the second, strict parse. */
  argv: string[];
  /** Tells main() whether to print stacks on error. */
  setVerbose(verbose: boolean): void;
}

/** How every run of a compare or scale command is made. */
export interface RunSettings {
  concurrency?: number;
  tasks?: number | "auto";
  timeoutMs: number;
  retries: number;
  json: boolean;
  verbose: boolean;
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
  try {
    const result = await run(job, input, {
      backend,
      ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
      ...(settings.tasks !== undefined ? { tasks: settings.tasks } : {}),
      timeoutMs: settings.timeoutMs,
      retries: settings.retries,
      ...(io.signal ? { signal: io.signal } : {}),
      ...(progress ? { onProgress: (e) => progress.update(e) } : {}),
      ...(settings.verbose ? { log: (m) => io.stderr.write(`${m}\n`) } : {}),
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

/** Writes a report directory and says where, on stderr so `--json` output stays clean. */
export async function saveReport(dir: string, doc: ReportDocument, io: Io): Promise<void> {
  const written = await writeReport(dir, doc);
  const shown = (p: string) => {
    const r = relative(process.cwd(), p);
    return r && !r.startsWith("..") ? r : p;
  };
  io.stderr.write(`report: ${shown(written.html)} (data: ${shown(written.json)}${written.svg.length ? `; svg: ${written.svg.map(shown).join(", ")}` : ""})\n`);
}
