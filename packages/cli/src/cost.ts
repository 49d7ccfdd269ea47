import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { z } from "zod";
import { costSweep, resolveParams, SuperfaasError, type BackendDescriptor, type ErrorCode, type SweepConfiguration, type SweepPrice } from "@superfaas/core";
import { LAMBDA_PRICING, type LambdaArch } from "@superfaas/backend-lambda/descriptor";
import { costDocument, costTable, jsonChunks, writeChunks } from "@superfaas/report";
import { resolveBackend } from "./container.js";
import { noteOwnTaskCount, runSettings, saveReport, type CommandContext } from "./execute.js";
import { addCommonOptions, backendOptions, countOption, countsOption, numberOption, repeated } from "./flags.js";
import { checkReport, registerJobCommand } from "./job-command.js";
import { createProgress } from "./progress.js";

/** The architectures a backend with an `--arch` setting may be swept over. */
const ARCHES = ["x86_64", "arm64"] as const;

/** Parser of `--arch`: the architectures as given (repeats are dropped, and said, where the sweep is planned). */
function archesOption(value: string): string[] {
  const list = value.split(",").map((s) => s.trim());
  const bad = list.find((a) => !(ARCHES as readonly string[]).includes(a));
  if (bad !== undefined || list.length === 0) {
    throw new SuperfaasError("BAD_INPUT", `invalid value ${JSON.stringify(value)} for --arch`, `--arch takes ${ARCHES.join(" and/or ")}, separated by commas, e.g. --arch x86_64,arm64`);
  }
  return list;
}

function addCostOptions(cmd: Command): Command {
  return addCommonOptions(
    cmd
      .option("-b, --backend <name>", "the platform to measure: lambda or openwhisk (a backend with a --memory setting)")
      .option("--memory <sizes>", "memory sizes to measure in MB, separated by commas, e.g. 128,512,1769,3008,10240", countsOption("memory"))
      .option("--arch <archs>", "architectures to measure where the platform offers them (lambda): x86_64,arm64 (default: x86_64)", archesOption)
      .option("--sample <n>", "run only N of the job's tasks at each configuration (the same N everywhere, spread over the job); the job's cost is scaled up", countOption("sample", 1))
      .option("--max-slowdown <x>", "the balanced pick is the cheapest configuration at most X times slower than the fastest", numberOption("max-slowdown", 1), 1.25)
      .option("--price-gb-second <usd>", "price per GB-second (lambda default: the project's us-east-1 table for each architecture; openwhisk: none, so GB-seconds only)", numberOption("price-gb-second", 0))
      .option("--price-per-request <usd>", "price per request (lambda default 0.0000002; openwhisk 0)", numberOption("price-per-request", 0))
      .option("--prices <file>", 'a JSON price table: {"gbSecondUsd", "requestUsd", "x86_64": {...}, "arm64": {...}} (flags win over it)')
      .option("-c, --concurrency <n>", "most tasks in flight at once at each configuration (default: the backend's)", countOption("concurrency", 1)),
    "print the report (as in report.json) as JSON only",
  );
}

const priceEntry = z.object({ gbSecondUsd: z.number().nonnegative().optional(), requestUsd: z.number().nonnegative().optional() }).strict();
const priceFile = priceEntry.extend({ x86_64: priceEntry.optional(), arm64: priceEntry.optional() }).strict();
type PriceFile = z.infer<typeof priceFile>;

/** Reads `--prices FILE`: one error line naming the file and the first bad field. */
async function readPrices(file: string): Promise<PriceFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new SuperfaasError("BAD_INPUT", `cannot read --prices ${file}: ${(e as Error).message}`, "pass a JSON file such as {\"arm64\": {\"gbSecondUsd\": 0.0000133334}}");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SuperfaasError("BAD_INPUT", `--prices ${file} is not JSON: ${(e as Error).message}`, "fix the file: an object of gbSecondUsd and requestUsd, at the top or under x86_64 / arm64");
  }
  const parsed = priceFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SuperfaasError("BAD_INPUT", `--prices ${file}: ${issue.path.join(".") || "the file"}: ${issue.message}`, "use gbSecondUsd and requestUsd (numbers >= 0), at the top or under x86_64 / arm64");
  }
  return parsed.data;
}

/**
 * The price of one configuration: the project's table for Lambda (by architecture), then the file's figures, then the
 * flags. Elsewhere there is no default: without a price per GB-second the sweep compares GB-seconds.
 */
function priceFor(backend: string, arch: string | undefined, file: PriceFile, opts: Record<string, unknown>): SweepPrice | undefined {
  const table = backend === "lambda" ? LAMBDA_PRICING[(arch ?? "x86_64") as LambdaArch] : undefined;
  const perArch = arch === "x86_64" || arch === "arm64" ? file[arch] : undefined;
  const gb = (opts.priceGbSecond as number | undefined) ?? perArch?.gbSecondUsd ?? file.gbSecondUsd ?? table?.gbSecondUsd;
  const req = (opts.pricePerRequest as number | undefined) ?? perArch?.requestUsd ?? file.requestUsd ?? table?.requestUsd ?? 0;
  return gb === undefined ? undefined : { gbSecondUsd: gb, requestUsd: req };
}

/**
 * `superfaas cost <job> --backend lambda --memory 128,1024,1769 [--arch x86_64,arm64] [--sample N]`: deploys the job at
 * each configuration in turn, runs it (or the same sample of its tasks) there, and reports time per task, billed time,
 * cost per task and the whole job's cost, whether the outputs agree, and the cheapest, fastest and balanced picks.
 */
export function registerCost(program: Command, ctx: CommandContext): void {
  const { container, io } = ctx;
  registerJobCommand(
    program,
    ctx,
    {
      name: "cost",
      description: "measure a job at several memory sizes (and architectures) and find the cheapest and the fastest",
      help: "show help, including the job's and the backend's flags",
      options: addCostOptions,
      backends: (first) => {
        if (!first.backend && !first.help) throw new SuperfaasError("BAD_INPUT", "cost needs the platform to measure", "pass --backend lambda or --backend openwhisk");
        return [resolveBackend(container, first.backend ?? "lambda")];
      },
      // --memory and --arch here are the lists to sweep; each configuration sets the backend's own.
      ownFlags: ["memory", "arch", "concurrency"],
    },
    async ({ job, backends: [d], opts, input }) => {
      const descriptor: BackendDescriptor<never> = d!;
      const flags = descriptor.flags ?? [];
      if (!flags.some((f) => f.name === "memory")) {
        throw new SuperfaasError("BAD_INPUT", `the ${descriptor.name} backend has no memory setting to sweep`, "pass --backend lambda or --backend openwhisk");
      }
      const memoryGiven = opts.memory as number[] | undefined;
      if (!memoryGiven) throw new SuperfaasError("BAD_INPUT", "cost needs the memory sizes to measure", "pass --memory with sizes in MB separated by commas, e.g. --memory 128,512,1024,1769");
      const hasArch = flags.some((f) => f.name === "arch");
      if (opts.arch && !hasArch) throw new SuperfaasError("BAD_INPUT", `the ${descriptor.name} backend has no architecture setting`, "leave --arch out (it is a Lambda setting)");
      const archGiven = (opts.arch as string[] | undefined) ?? ["x86_64"];
      // A size (or architecture) named twice is measured once: the same configuration twice is time and money for nothing.
      const memory = [...new Set(memoryGiven)].sort((a, b) => a - b);
      const arches: (string | undefined)[] = hasArch ? [...new Set(archGiven)] : [undefined];
      const twice = [...repeated(memoryGiven).map((mb) => `${mb} MB`), ...(hasArch ? repeated(archGiven) : [])];
      if (twice.length) io.stderr.write(`cost: ${twice.join(", ")} ${twice.length === 1 ? "is" : "are"} named more than once; measuring each configuration once\n`);
      if (job.params) resolveParams(job.params, input);
      await checkReport(opts);
      const prices = opts.prices ? await readPrices(opts.prices as string) : {};
      const settings = runSettings(opts);
      const base = backendOptions(descriptor, opts);

      const configurations: SweepConfiguration[] = [];
      for (const arch of arches) {
        for (const mb of memory) {
          const price = priceFor(descriptor.name, arch, prices, opts);
          configurations.push({
            label: arch ? `${mb} MB ${arch}` : `${mb} MB`,
            memoryMb: mb,
            ...(arch ? { arch } : {}),
            ...(price ? { price } : {}),
            createBackend: () => descriptor.create({ ...base, memory: mb, ...(arch ? { arch } : {}) } as never),
          });
        }
      }

      let progress: ReturnType<typeof createProgress> | undefined;
      let result: Awaited<ReturnType<typeof costSweep>>;
      try {
        result = await costSweep(job, input, {
          configurations,
          ...(settings.tasks !== undefined ? { tasks: settings.tasks } : {}),
          ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
          ...(opts.sample !== undefined ? { sample: opts.sample as number } : {}),
          timeoutMs: settings.timeoutMs,
          retries: settings.retries,
          ...(settings.throttleTimeoutMs !== undefined ? { throttleTimeoutMs: settings.throttleTimeoutMs } : {}),
          maxSlowdown: opts.maxSlowdown as number,
          ...(io.signal ? { signal: io.signal } : {}),
          onConfiguration: (c, i) => {
            progress?.stop();
            if (settings.json) return;
            io.stderr.write(`cost: configuration ${i + 1} of ${configurations.length}: ${c.label}\n`);
            progress = createProgress(`${job.name} at ${c.label}`, io.stderr as NodeJS.WriteStream);
          },
          onProgress: (_c, e) => {
            // A sample runs fewer tasks than the job has on purpose; without one, the count is the partition's.
            if (opts.sample === undefined) noteOwnTaskCount(io, settings.tasksAsked, e.total);
            progress?.update(e);
          },
          ...(settings.verbose ? { log: (m: string) => io.stderr.write(`${m}\n`) } : {}),
        });
      } finally {
        progress?.stop();
      }

      const doc = costDocument({ backend: descriptor.name, result });
      if (opts.json) await writeChunks(io.stdout, jsonChunks(doc));
      else for (const line of costTable(doc)) io.stdout.write(`${line}\n`);
      if (opts.report) await saveReport(opts.report as string, doc, io);

      const ran = result.configurations.filter((c) => c.status !== "refused");
      if (ran.length === 0) {
        const first = result.configurations[0]!.error!;
        throw new SuperfaasError("BACKEND_CONFIG", `the platform refused every configuration (${result.configurations.map((c) => `${c.label}: ${c.error?.message}`).join("; ")})`, first.hint ?? "check the memory sizes against the platform's limits");
      }
      if (!result.agree) {
        const diffs = result.configurations.filter((c) => c.agrees === false).map((c) => `${c.label}: ${c.difference}`);
        throw new SuperfaasError(
          "OUTPUTS_DIFFER",
          `outputs differ from ${result.reference}'s: ${diffs.join("; ")}`,
          "a job must give the same output at every configuration; check its map for results that depend on the machine",
        );
      }
      const failed = result.configurations.find((c) => c.status === "failed");
      if (failed) {
        const e = failed.error!;
        throw new SuperfaasError(e.code as ErrorCode, `at ${failed.label}: ${e.message}`, e.hint ?? "see the table above; --verbose shows more");
      }
    },
  );
}
