import type { Command } from "commander";
import { resolveParams, SuperfaasError, type RunReport } from "@superfaas/core";
import { compareDocument, compareOutputs, compareTable, jsonChunks, uniqueLabels, writeChunks, type SkippedBackend } from "@superfaas/report";
import { listBackends, resolveBackend } from "./container.js";
import { runOn, runSettings, saveReport, type CommandContext, type RunOutcome } from "./execute.js";
import { addCommonOptions, backendOptions, countOption, FLAG_NAMES, namesOption } from "./flags.js";
import { checkReport, registerJobCommand } from "./job-command.js";

function addCompareOptions(cmd: Command): Command {
  return addCommonOptions(
    cmd
      .option("--backends <names>", "backends to compare, separated by commas (default: every registered one)", namesOption("backends"))
      .option("-c, --concurrency <n>", "most tasks in flight at once on each backend (default: each backend's)", countOption("concurrency", 1)),
    "print the report (as in report.json) as JSON only",
  );
}

/** A backend's message without its own name in front, which the comparison puts its label in place of ("lambda: lambda: ..."). */
function withoutName(backend: string, message: string): string {
  return message.startsWith(`${backend}: `) ? message.slice(backend.length + 2) : message;
}

/**
 * `superfaas compare <job> --backends a,b,c`: runs the same job and input on each backend in turn, checks that the
 * outputs agree (the job's `equal`, else JSON equality) and prints the runs side by side. A backend that is not
 * configured is skipped with its reason while the others run. Exit code 1 when outputs differ or a run failed.
 */
export function registerCompare(program: Command, ctx: CommandContext): void {
  const { container, io } = ctx;
  let names: string[] = [];
  registerJobCommand(
    program,
    ctx,
    {
      name: "compare",
      description: "run a job on several backends and compare outputs, times, cold starts and cost",
      help: "show help, including the job's and the backends' flags",
      options: addCompareOptions,
      backends: (first) => {
        names = first.backends ?? listBackends(container).map((b) => b.name);
        return names.map((n) => resolveBackend(container, n));
      },
    },
    async ({ job, backends: descriptors, opts, input }) => {
      // Bad job flags are the same mistake on every backend: report them once, before anything runs.
      if (job.params) resolveParams(job.params, input);
      await checkReport(opts);
      const settings = runSettings(opts);

      const labels = uniqueLabels(names);
      const runs: { label: string; outcome: RunOutcome }[] = [];
      const skipped: SkippedBackend[] = [];
      let broken: SuperfaasError | undefined;
      for (const [i, d] of descriptors.entries()) {
        const label = labels[i]!;
        try {
          const outcome = await runOn(d, backendOptions(d, opts), job, input, settings, io, `${job.name} on ${label}`);
          if (!outcome.ok && outcome.error.code === "CANCELLED") throw outcome.error;
          runs.push({ label, outcome });
        } catch (thrown) {
          if (!(thrown instanceof SuperfaasError) || thrown.code === "CANCELLED") throw thrown;
          const e = thrown.reworded(FLAG_NAMES);
          const message = withoutName(d.name, e.message);
          // Not configured: skip it and go on. Any other failure before the first task also skips it, but fails the comparison.
          skipped.push({ backend: label, code: e.code, reason: message + (e.hint ? ` (${e.hint})` : "") });
          if (e.code !== "BACKEND_CONFIG") broken ??= new SuperfaasError(e.code, `${label}: ${message}`, e.hint, { cause: e });
        }
      }
      if (runs.length === 0) {
        const why = skipped.map((s) => `${s.backend}: ${s.reason}`).join("; ");
        if (broken) throw broken;
        throw new SuperfaasError("BACKEND_CONFIG", `no backend could run (${why})`, "configure at least one of them (see `superfaas compare <job> --help` for their flags)");
      }

      const comparison = compareOutputs(
        runs.map((r) => ({ label: r.label, hasOutput: r.outcome.ok, ...(r.outcome.ok ? { output: r.outcome.output } : {}) })),
        job.equal ? (a, b) => job.equal!(a as never, b as never) : undefined,
      );
      const doc = compareDocument({
        job: job.name,
        input: (runs[0]!.outcome.report as RunReport).input,
        runs: runs.map((r) => ({ label: r.label, report: r.outcome.report, ...(r.outcome.ok ? { output: r.outcome.output } : {}) })),
        skipped,
        comparison,
      });
      if (opts.json) await writeChunks(io.stdout, jsonChunks(doc));
      else for (const line of compareTable(doc)) io.stdout.write(`${line}\n`);
      if (opts.report) await saveReport(opts.report as string, doc, io);

      const failed = runs.find((r) => !r.outcome.ok);
      if (!comparison.agree) {
        const diffs = comparison.outputs.filter((o) => o.agrees === false).map((o) => `${o.label}: ${o.difference}`);
        throw new SuperfaasError(
          "OUTPUTS_DIFFER",
          `outputs differ from ${comparison.reference}'s: ${diffs.join("; ")}`,
          "a job must give the same output on every backend; check its map for platform-dependent results, or give it an equal(a, b) that allows for them",
        );
      }
      if (failed && !failed.outcome.ok) {
        const e = failed.outcome.error.reworded(FLAG_NAMES);
        const backend = descriptors[labels.indexOf(failed.label)]!.name;
        throw new SuperfaasError(e.code, `${failed.label}: ${withoutName(backend, e.message)}`, e.hint, { cause: e.cause ?? e });
      }
      if (broken) throw broken;
    },
  );
}
