// The one way a command that runs a job (run, compare, scale, cost) declares and parses its flags. Two passes: the
// first, loose, finds the job and the backend(s); the second, strict, knows every flag (the command's, the job's,
// the backends') and refuses the rest. `<command> --help` without a job prints the command's help; with one, the
// help lists the job's and the backends' flags too.
import type { Command } from "commander";
import type { BackendDescriptor, Job } from "@superfaas/core";
import { checkReportDir, type CommandContext } from "./execute.js";
import { addBackendOptions, addJobOptions, JOB_USAGE, jobGiven, jobInput, strictCommand } from "./flags.js";
import { EXAMPLES, loadJob } from "./jobs.js";

/** What the first, loose pass read: the flags that choose the backends and the job, and --help. */
export type FirstPass = { backend?: string; backends?: string[]; job?: string; help?: boolean } & Record<string, unknown>;

export interface JobCommandSpec {
  name: string;
  description: string;
  /** The words of `-h, --help` (which flags the help shows). */
  help: string;
  /** The command's own flags, the shared ones included (flags.ts `addCommonOptions`): added to both passes. */
  options: (cmd: Command) => Command;
  /** The backends whose flags the command takes, from the first pass (a check that needs no job goes here too). */
  backends: (first: FirstPass) => BackendDescriptor<never>[];
  /** Backend flags the command gives a meaning of its own (scale's --workers, cost's --memory): left out of the backends'. */
  ownFlags?: readonly string[];
}

/** What the action gets: every flag parsed strictly, the job loaded and its input from its flags. */
export interface ParsedJobCommand {
  spec: string;
  job: Job;
  backends: BackendDescriptor<never>[];
  opts: Record<string, unknown>;
  input: Record<string, unknown>;
}

/** Registers a job-running command: both passes, --help, --verbose and the --report folder's check, then `action`. */
export function registerJobCommand(program: Command, ctx: CommandContext, spec: JobCommandSpec, action: (parsed: ParsedJobCommand) => Promise<void>): Command {
  const examples = Object.keys(EXAMPLES);
  return spec
    .options(program.command(spec.name).argument("[job]", `an example (${examples.join(", ")}) or the path of a job module`))
    .description(spec.description)
    .allowUnknownOption()
    .allowExcessArguments(true)
    .helpOption(false)
    .option("-h, --help", spec.help)
    .usage(JOB_USAGE)
    .action(async (jobSpec: string | undefined, first: FirstPass, self: Command) => {
      if (!jobGiven(jobSpec, first.help, self, examples)) return;
      const backends = spec.backends(first);
      const job = await loadJob(jobSpec, first.job);
      // Second pass: now that the job and the backends are known, parse strictly with their flags too.
      const strict = spec.options(strictCommand(`superfaas ${spec.name} ${jobSpec}`, ctx.io));
      addJobOptions(strict, job);
      const own = new Set(spec.ownFlags ?? []);
      for (const d of new Set(backends)) addBackendOptions(strict, own.size ? { ...d, flags: (d.flags ?? []).filter((f) => !own.has(f.name)) } : d);
      if (first.help) {
        strict.outputHelp();
        return;
      }
      strict.parse(ctx.argv.slice(ctx.argv.indexOf(spec.name) + 1), { from: "user" });
      const opts = strict.opts<Record<string, unknown>>();
      ctx.setVerbose(Boolean(opts.verbose));
      const input = jobInput(job, opts);
      await action({ spec: jobSpec, job, backends, opts, input });
    });
}

/** Checks the --report folder before anything runs (a run's results are not lost to a folder that cannot be written). */
export async function checkReport(opts: Record<string, unknown>): Promise<void> {
  if (opts.report) await checkReportDir(opts.report as string);
}
