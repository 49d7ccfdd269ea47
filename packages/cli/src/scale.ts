import { Option, type Command } from "commander";
import { maxTasks, resolveParams, resolveTaskCount, SuperfaasError, type BackendDescriptor } from "@superfaas/core";
import { jsonChunks, scaleDocument, scaleTable, writeChunks } from "@superfaas/report";
import { resolveBackend } from "./container.js";
import { runOn, runSettings, saveReport, type CommandContext, type RunOutcome } from "./execute.js";
import { addCommonOptions, backendOptions, FLAG_NAMES, levelsOption } from "./flags.js";
import { checkReport, registerJobCommand } from "./job-command.js";

function addScaleOptions(cmd: Command): Command {
  return addCommonOptions(
    cmd
      .option("-b, --backend <name>", "where tasks run (see `superfaas backends`)", "local")
      .option("--workers <levels>", "worker/concurrency levels to run at, separated by commas, e.g. 1,2,4,8", levelsOption("workers"))
      .addOption(new Option("--by <time>", "time the speedup divides: execute (first invocation to last result) or wall (the whole run)").choices(["execute", "wall"]).default("execute")),
    "print the report (as in report.json) as JSON only",
  );
}

/** Whether the backend sizes a pool of its own from a `workers` setting (the local backend's thread pool). */
function takesWorkers(d: BackendDescriptor<never>): boolean {
  return (d.flags ?? []).some((f) => f.name === "workers");
}

/** Every level must be a pool size the backend accepts: checked before the first level runs, not at the level that fails. */
function checkLevels(d: BackendDescriptor<never>, levels: number[]): void {
  const max = d.flags?.find((f) => f.name === "workers")?.max;
  const top = levels[levels.length - 1]!;
  if (max !== undefined && top > max) {
    throw new SuperfaasError("BAD_INPUT", `--workers level ${top} is more than the ${d.name} backend can start (${max} workers on this machine)`, `pass --workers levels of ${max} or less`);
  }
}

/**
 * `superfaas scale <job> --backend B --workers 1,2,4`: runs the job at each level (concurrency = level, and for a
 * backend with a worker pool, workers = level too) with the same task count, and reports wall time, speedup and
 * parallel efficiency against the smallest level.
 */
export function registerScale(program: Command, ctx: CommandContext): void {
  const { container, io } = ctx;
  registerJobCommand(
    program,
    ctx,
    {
      name: "scale",
      description: "run a job at several worker counts and report speedup and parallel efficiency",
      help: "show help, including the job's and the backend's flags",
      options: addScaleOptions,
      backends: (first) => [resolveBackend(container, first.backend!)],
      // --workers here means the levels; a backend flag of that name would clash, and the level sets it anyway.
      ownFlags: ["workers", "concurrency"],
    },
    async ({ job, backends: [descriptor], opts, input }) => {
      const levels = opts.workers as number[] | undefined;
      if (!levels) throw new SuperfaasError("BAD_INPUT", "scale needs the levels to run at", "pass --workers with whole numbers separated by commas, e.g. --workers 1,2,4,8");
      checkLevels(descriptor!, levels);
      if (job.params) resolveParams(job.params, input);
      await checkReport(opts);
      // The same tasks at every level, or the levels would not be doing the same work: "auto" sizes for the largest
      // (within what this process can hold; an explicit count above that is refused by run() before anything runs).
      const requested = (opts.tasks as number | "auto" | undefined) ?? job.defaultTasks ?? "auto";
      const tasks = requested === "auto" ? Math.min(maxTasks(), resolveTaskCount("auto", levels[levels.length - 1]!)) : requested;
      const baseOptions = backendOptions(descriptor!, opts);

      const runs: { level: number; outcome: RunOutcome }[] = [];
      for (const level of levels) {
        const settings = { ...runSettings(opts), concurrency: level, tasks };
        const options = takesWorkers(descriptor!) ? { ...baseOptions, workers: level } : baseOptions;
        const outcome = await runOn(descriptor!, options, job, input, settings, io, `${job.name} ×${level}`);
        if (!outcome.ok && outcome.error.code === "CANCELLED") throw outcome.error;
        runs.push({ level, outcome });
      }

      const doc = scaleDocument({
        job: job.name,
        input: runs[0]!.outcome.report.input,
        runs: runs.map((r) => ({ level: r.level, report: r.outcome.report, ...(r.outcome.ok ? { output: r.outcome.output } : {}) })),
        basis: opts.by as "execute" | "wall",
      });
      if (opts.json) await writeChunks(io.stdout, jsonChunks(doc));
      else for (const line of scaleTable(doc)) io.stdout.write(`${line}\n`);
      if (opts.report) await saveReport(opts.report as string, doc, io);

      const failed = runs.find((r) => !r.outcome.ok);
      if (failed && !failed.outcome.ok) {
        const e = failed.outcome.error.reworded(FLAG_NAMES);
        throw new SuperfaasError(e.code, `at ${failed.level} workers: ${e.message}`, e.hint, { cause: e.cause ?? e });
      }
    },
  );
}
