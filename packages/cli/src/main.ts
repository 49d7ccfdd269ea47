import { Command, CommanderError } from "commander";
import type { Container } from "inversify";
import { formatErrorLine, summarizeReport, SuperfaasError, TaskError, type RunReport } from "@superfaas/core";
import { jsonChunks, runDocument, writeChunks } from "@superfaas/report";
import { registerCompare } from "./compare.js";
import { registerCost } from "./cost.js";
import { createContainer, listBackends, resolveBackend } from "./container.js";
import { runOn, runSettings, saveReport, type Io } from "./execute.js";
import { addRunOptions, backendOptions, FLAG_NAMES } from "./flags.js";
import { checkReport, registerJobCommand } from "./job-command.js";
import { EXAMPLES } from "./jobs.js";
import { registerScale } from "./scale.js";
import { registerDurable } from "./durable.js";

export type { Io } from "./execute.js";

const BAD_INPUT_CODES = new Set(["BAD_INPUT", "UNKNOWN_RUN", "RESUME_REFUSED", "UNKNOWN_BACKEND", "UNKNOWN_JOB", "MODULE_NOT_FOUND", "JOB_LOAD_FAILED", "NO_JOB_EXPORT", "BACKEND_CONFIG", "NOT_JSON", "BUNDLE_FAILED"]);

/** Exit code for an error: 2 for bad input, 130 for a cancelled run, 1 for a failed run. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof SuperfaasError) return BAD_INPUT_CODES.has(err.code) ? 2 : err.code === "CANCELLED" ? 130 : 1;
  return 1;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code; `container` replaces the built-in backends (tests). */
export async function main(argv: string[], io: Io, options: { container?: Container } = {}): Promise<number> {
  const container = options.container ?? createContainer();
  let verbose = argv.includes("--verbose") || argv.includes("-v");
  const out = (s: string) => io.stdout.write(`${s}\n`);
  const err = (s: string) => io.stderr.write(`${s}\n`);
  const program = new Command("superfaas")
    .description("Serverless supercomputing on any FaaS platform: split a job into tasks, fan them out, reduce the results.")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: () => {} })
    .showHelpAfterError(false);

  program
    .command("backends")
    .description("list the backends tasks can run on")
    .action(() => {
      for (const b of listBackends(container)) out(`${b.name.padEnd(12)} ${b.description}`);
    });

  program
    .command("examples")
    .description("list the example jobs runnable by name")
    .action(() => {
      for (const [name, e] of Object.entries(EXAMPLES)) out(`${name.padEnd(22)} ${e.description}`);
    });

  let exitCode = 0;
  const context = { container, io, argv, setVerbose: (v: boolean) => void (verbose = v) };
  registerJobCommand(
    program,
    context,
    {
      name: "run",
      description: "run a job and print its result (add --help after the job to see its own flags)",
      help: "show help, including the job's and the backend's flags",
      options: addRunOptions,
      backends: (first) => [resolveBackend(container, first.backend!)],
    },
    async ({ job, backends: [backendDesc], opts, input }) => {
      await checkReport(opts);
      const outcome = await runOn(backendDesc!, backendOptions(backendDesc!, opts), job, input, runSettings(opts), io, job.name);
      if (outcome.ok) {
        if (opts.json) await writeChunks(io.stdout, jsonChunks({ ...outcome.report, output: outcome.output }));
        else {
          out(job.format ? job.format(outcome.output as never, outcome.report.metrics) : JSON.stringify(outcome.output, null, 2));
          for (const line of summarizeReport(outcome.report)) out(line);
        }
      } else if (opts.json) await writeChunks(io.stdout, jsonChunks(outcome.report));
      else printPartialStats(outcome.report, err, opts.journal !== false);
      if (opts.report) await saveReport(opts.report as string, runDocument({ report: outcome.report, ...(outcome.ok ? { output: outcome.output } : {}) }), io);
      if (!outcome.ok) throw outcome.error;
    },
  );


  registerCompare(program, context);
  registerScale(program, context);
  registerCost(program, context);
  registerDurable(program, context);

  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      const message = e.message.replace(/^error: /, "");
      err(formatErrorLine(new SuperfaasError("BAD_INPUT", message, "run `superfaas --help` or `superfaas run <job> --help` for the flags")));
      return 2;
    }
    // Core names its options (timeoutMs, concurrency); here they are the CLI's flags, in the flags' units.
    err(formatErrorLine(e instanceof SuperfaasError ? e.reworded(FLAG_NAMES) : e));
    if (verbose) {
      const cause = (e as { cause?: unknown }).cause;
      if (cause instanceof TaskError && cause.remoteStack) err(`remote stack:\n${cause.remoteStack}`);
      // The job's own error (partition, reduce): its stack is the one that helps.
      else if (cause instanceof Error && !(cause instanceof SuperfaasError) && !(cause instanceof TaskError) && cause.stack) err(`caused by: ${cause.stack}`);
      if (e instanceof Error && e.stack) err(e.stack);
    }
    exitCode = exitCodeFor(e);
    return exitCode;
  }
}

function printPartialStats(report: RunReport, err: (s: string) => void, journaled: boolean): void {
  for (const line of summarizeReport(report)) err(line);
  const t = report.totals;
  err(`${t.succeeded} of ${t.tasks} tasks had finished; ${report.tasks.filter((r) => r.status === "cancelled").length} were cancelled`);
  if (journaled && report.status !== "succeeded" && t.succeeded > 0) err(`the finished tasks are in the run's journal: \`superfaas resume ${report.runId.slice(0, 8)}\` runs only the rest`);
}
