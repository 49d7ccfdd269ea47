import { Command, Option } from "commander";
import { MAX_TIMEOUT_MS, parseCount, SuperfaasError, type BackendDescriptor, type Job, type OptionNames, type ParamSpec } from "@superfaas/core";

/** `--max-heap-mb` → `maxHeapMb`, as commander names option values. */
export const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Parser of a whole-number flag (1000, 1e3 or 1_000) that rejects values below `min` (or above `max`) as BAD_INPUT. */
export function countOption(name: string, min: number, max?: number) {
  return (value: string): number => {
    const n = parseCount(value);
    if (Number.isNaN(n) || n < min) {
      throw new SuperfaasError("BAD_INPUT", `invalid value ${JSON.stringify(value)} for --${name}`, `--${name} takes a whole number >= ${min} (1000, 1e3 or 1_000)`);
    }
    if (max !== undefined && n > max) {
      throw new SuperfaasError("BAD_INPUT", `invalid value ${JSON.stringify(value)} for --${name}: more than the ${max} allowed`, `--${name} takes a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

/** Parser of a number flag (`--price-gb-second 0.0000166667`): finite, at least `min` (above 0 when no `min`), at most `max`. */
export function numberOption(name: string, min?: number, max?: number) {
  return (value: string): number => {
    const n = value.trim() === "" ? Number.NaN : Number(value.replaceAll("_", ""));
    if (!Number.isFinite(n) || (min === undefined ? n <= 0 : n < min) || (max !== undefined && n > max)) {
      const range = `${min === undefined ? "> 0" : `>= ${min}`}${max === undefined ? "" : ` and <= ${max}`}`;
      throw new SuperfaasError("BAD_INPUT", `invalid value ${JSON.stringify(value)} for --${name}`, `--${name} takes a number ${range}`);
    }
    return n;
  };
}

/** Parser of `--tasks N|auto`. */
export function tasksOption(value: string): number | "auto" {
  return value === "auto" ? "auto" : countOption("tasks", 1)(value);
}

/** Parser of `--timeout SECONDS`: from a millisecond (the unit of the deadline underneath) to what a timer can hold. */
export function secondsOption(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || Math.round(n * 1000) < 1 || n * 1000 > MAX_TIMEOUT_MS) {
    throw new SuperfaasError("BAD_INPUT", `invalid value ${JSON.stringify(value)} for --timeout`, `--timeout takes seconds from 0.001 to ${Math.floor(MAX_TIMEOUT_MS / 1000)}, e.g. 900 or 0.5`);
  }
  return n;
}

/**
 * How the CLI names the options of `run()` in errors from core: as its flags, in their units (`--timeout` is in
 * seconds where `timeoutMs` is in milliseconds).
 */
export const FLAG_NAMES: OptionNames = {
  name: (option) => (option === "timeoutMs" ? "--timeout" : option === "throttleTimeoutMs" ? "--throttle-timeout" : `--${option}`),
  value: (option, value) => (option === "timeoutMs" || option === "throttleTimeoutMs" ? `${Number((value / 1000).toPrecision(6))}` : String(value)),
};

/** Parser of a comma-separated list of whole numbers >= 1 (`--memory 128,512`), as given: repeats kept, not sorted. */
export function countsOption(name: string) {
  return (value: string): number[] => {
    const parts = value.split(",").map((s) => s.trim());
    const levels = parts.map((p) => parseCount(p));
    if (parts.length === 0 || levels.some((n) => Number.isNaN(n) || n < 1)) {
      throw new SuperfaasError("BAD_INPUT", `invalid value ${JSON.stringify(value)} for --${name}`, `--${name} takes whole numbers >= 1 separated by commas, e.g. 1,2,4,8`);
    }
    return levels;
  };
}

/** Parser of a comma-separated list of whole numbers >= 1 (`--workers 1,2,4,8`): sorted, without repeats. */
export function levelsOption(name: string) {
  return (value: string): number[] => [...new Set(countsOption(name)(value))].sort((a, b) => a - b);
}

/** The values named more than once in `list`, each once, in the order they were first repeated. */
export function repeated<T>(list: readonly T[]): T[] {
  return [...new Set(list.filter((v, i) => list.indexOf(v) !== i))];
}

/** Parser of `--report DIR`: an empty name would write nowhere (and was silently ignored), so it is refused. */
export function reportOption(value: string): string {
  if (value.trim() === "") {
    throw new SuperfaasError("BAD_INPUT", `invalid value ${JSON.stringify(value)} for --report: no folder named`, "pass --report the folder to write the report to (it is created if missing), e.g. --report out/report");
  }
  return value;
}

/** Parser of a comma-separated list of backend names (`--backends local,openwhisk`), repeats kept. */
export function namesOption(name: string) {
  return (value: string): string[] => {
    const names = value.split(",").map((s) => s.trim());
    if (names.some((n) => n === "")) {
      throw new SuperfaasError("BAD_INPUT", `invalid value ${JSON.stringify(value)} for --${name}`, `--${name} takes backend names separated by commas, e.g. local,openwhisk (see \`superfaas backends\`)`);
    }
    return names;
  };
}

/** Flags every job-running command shares (run, compare, scale). */
export function addCommonOptions(cmd: Command, json = "print the run report as JSON only"): Command {
  return cmd
    .option("--job <name>", "which job to run when the module exports several")
    .option("--tasks <n|auto>", "number of tasks, or auto (default: chosen from a short probe of the backend and the job; scale: 4 per worker of its largest level)", tasksOption)
    .option("--timeout <seconds>", "deadline of one task attempt", secondsOption, 900)
    .option("--retries <n>", "extra attempts after retryable failures", countOption("retries", 0), 3)
    .option("--throttle-timeout <seconds>", "fail the run after this long of nothing but throttling (HTTP 429) (default 180)", numberOption("throttle-timeout"))
    .option("--backup-tasks", "start backup attempts of stragglers (default: on for jobs marked deterministic, as the examples)")
    .option("--no-backup-tasks", "never start backup attempts of stragglers")
    .option("--backup-after <fraction>", "backups start once this share of the tasks has finished (default 0.75)", numberOption("backup-after", 0, 1))
    .option("--backup-multiple <x>", "an attempt running this multiple of the median finished one gets a backup (default 2)", numberOption("backup-multiple", 1))
    .option("--report <dir>", "write report.json, a self-contained report.html with charts, and SVG charts to DIR", reportOption)
    .option("--json", json)
    .option("-v, --verbose", "show stacks and preparation steps")
    .option("--state-dir <dir>", "where run journals live (default: $XDG_STATE_HOME/superfaas or ~/.local/state/superfaas)")
    .option("--no-journal", "keep no run journal (the run cannot be resumed if this process dies)");
}

/** The flags of `superfaas run`. */
export function addRunOptions(cmd: Command): Command {
  return addCommonOptions(
    cmd
      .option("-b, --backend <name>", "where tasks run (see `superfaas backends`)", "local")
      .option("-c, --concurrency <n>", "most tasks in flight at once (default: the backend's)", countOption("concurrency", 1)),
  );
}

/** Adds a `--flag` for each of the job's parameters. */
export function addJobOptions(cmd: Command, job: Job): void {
  for (const [name, spec] of Object.entries(job.params ?? {}) as [string, ParamSpec][]) {
    const value = spec.choices ? spec.choices.join("|") : spec.type === "count" ? "n" : spec.type;
    const opt = spec.type === "boolean" ? new Option(`--${name}`, spec.description) : new Option(`--${name} <${value}>`, spec.description);
    opt.default(spec.default);
    cmd.addOption(opt);
  }
}

/** Adds the backend's own flags, except those already on the command (several backends may share a flag). */
export function addBackendOptions(cmd: Command, backend: BackendDescriptor<never>): void {
  for (const f of backend.flags ?? []) {
    if (cmd.options.some((o) => o.long === `--${f.name}`)) continue;
    const opt = new Option(f.value ? `--${f.name} <${f.value}>` : `--${f.name}`, `[${backend.name}] ${f.description}`);
    if (f.value && f.type) opt.argParser(f.type === "integer" ? countOption(f.name, f.min ?? 1, f.max) : numberOption(f.name, f.min, f.max));
    cmd.addOption(opt);
  }
}

/** The job's input from parsed flag values. */
export function jobInput(job: Job, opts: Record<string, unknown>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const name of Object.keys(job.params ?? {})) input[name] = opts[camel(name)];
  return input;
}

/** The options a backend's `create` gets: the values of its own flags that were given, camelCased. */
export function backendOptions(backend: BackendDescriptor<never>, opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of backend.flags ?? []) if (opts[camel(f.name)] !== undefined) out[camel(f.name)] = opts[camel(f.name)];
  return out;
}

/** A second-pass command that parses strictly, now that the job and the backends (and so all flags) are known. */
export function strictCommand(name: string, io: { stdout: NodeJS.WritableStream }): Command {
  return new Command(name)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: () => {} })
    .allowExcessArguments(false)
    .argument("<job>")
    .usage("[options]")
    .action(() => {});
}

/**
 * The job argument of `run`, `compare`, `scale` and `cost` is optional to commander, so that `<command> --help`
 * without a job prints the command's help (as git, npm and wsk do); a missing job otherwise is BAD_INPUT.
 * Returns false when the help was printed and the command has nothing more to do.
 */
export function jobGiven(spec: string | undefined, help: boolean | undefined, cmd: Command, examples: readonly string[]): spec is string {
  if (spec !== undefined) return true;
  if (help) {
    cmd.outputHelp();
    return false;
  }
  throw new SuperfaasError(
    "BAD_INPUT",
    `missing the job to ${cmd.name()}`,
    `name an example (${examples.join(", ")}) or the path of a job module; \`superfaas ${cmd.name()} --help\` lists the flags`,
  );
}

/** The first-pass `<job>` argument of a command that takes a job (see `jobGiven`). */
export const JOB_USAGE = "[options] <job>";
