// Runs that outlive their process: `superfaas runs` lists the run journals, `superfaas resume` continues an
// interrupted run from its journal, `superfaas clean` removes what dead runs left on the platforms and on disk.
import { resolve } from "node:path";
import type { Command } from "commander";
import { defaultStateDir, findRun, listJournals, removeJournal, runStatus, summarizeReport, SuperfaasError, type BackendDescriptor, type JournalState, type RunResources } from "@superfaas/core";
import { jsonChunks, writeChunks } from "@superfaas/report";
import { resolveBackend } from "./container.js";
import { runOn, runSettings, type CommandContext } from "./execute.js";
import { addBackendOptions, backendOptions, countOption, numberOption } from "./flags.js";
import { loadJob } from "./jobs.js";

const stateDirOf = (opts: { stateDir?: string }) => (opts.stateDir ? resolve(opts.stateDir) : defaultStateDir());

/** Parser of `--older-than 30s|15m|12h|7d|0`. */
export function durationOption(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new SuperfaasError("BAD_INPUT", `invalid value ${JSON.stringify(value)} for --older-than`, "--older-than takes a duration such as 0, 90s, 30m, 12h or 7d");
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? "s") as "s"];
  return Number(m[1]) * unit;
}

/** The resources a run left, in words: "function superfaas-pi-…, prefix superfaas/<id>/". */
function describeResources(r: RunResources): string[] {
  return [...(r.functions ?? []).map((f) => `function ${f}`), ...(r.prefixes ?? []).map((p) => `prefix ${p.prefix}`), ...(r.logGroups ?? []).map((g) => `log group ${g}`)];
}

/** A run journal as a row of `superfaas runs`. */
function runRow(s: JournalState, now: number) {
  return {
    runId: s.start.runId,
    job: s.start.job,
    backend: s.start.backend,
    startedAt: s.start.startedAt,
    done: s.done.size,
    total: s.start.taskCount,
    status: runStatus(s, now),
    ...(s.end?.error ? { error: s.end.error } : {}),
    resources: s.resources,
    ...(s.corrupt ? { damagedLines: s.corrupt } : {}),
  };
}

/** Registers `runs`, `resume` and `clean`. */
export function registerDurable(program: Command, ctx: CommandContext): void {
  const { io, container } = ctx;
  const out = (s: string) => io.stdout.write(`${s}\n`);
  const warn = (s: string) => io.stderr.write(`warning: ${s}\n`);

  program
    .command("runs")
    .description("list recent runs from their journals: id, job, backend, start, tasks done, status")
    .option("--state-dir <dir>", "where run journals live (default: $XDG_STATE_HOME/superfaas or ~/.local/state/superfaas)")
    .option("-n, --limit <n>", "show the newest N runs", countOption("limit", 1), 20)
    .option("--json", "print the runs as JSON")
    .action((opts: { stateDir?: string; limit: number; json?: boolean }) => {
      const now = Date.now();
      const journals = listJournals(stateDirOf(opts), "", warn).slice(0, opts.limit);
      const rows = journals.map((j) => (j.state ? runRow(j.state, now) : { runId: j.runId, status: "unreadable", error: j.error?.message }));
      if (opts.json) {
        out(JSON.stringify(rows, null, 2));
        return;
      }
      if (rows.length === 0) {
        out(`no runs in ${stateDirOf(opts)}`);
        return;
      }
      out(`${"RUN".padEnd(36)}  ${"JOB".padEnd(20)} ${"BACKEND".padEnd(10)} ${"STARTED".padEnd(24)} ${"TASKS".padStart(13)}  STATUS`);
      for (const r of rows) {
        if (!("job" in r)) {
          out(`${r.runId.padEnd(36)}  ${"?".padEnd(20)} ${"?".padEnd(10)} ${"?".padEnd(24)} ${"?".padStart(13)}  unreadable (${r.error})`);
          continue;
        }
        out(`${r.runId.padEnd(36)}  ${r.job.slice(0, 20).padEnd(20)} ${r.backend.padEnd(10)} ${r.startedAt.padEnd(24)} ${`${r.done}/${r.total}`.padStart(13)}  ${r.status}`);
        const left = describeResources(r.resources);
        if (r.status === "interrupted") out(`    left: ${left.length ? left.join(", ") : "its journal only"} (resume it with \`superfaas resume ${r.runId.slice(0, 8)}\`, or remove it with \`superfaas clean\`)`);
      }
    });

  const addResumeOptions = (cmd: Command) =>
    cmd
      .option("--state-dir <dir>", "where run journals live (default: $XDG_STATE_HOME/superfaas or ~/.local/state/superfaas)")
      .option("--force", "resume even though the job module changed since the run started")
      .option("-c, --concurrency <n>", "most tasks in flight at once (default: the run's)", countOption("concurrency", 1))
      .option("--throttle-timeout <seconds>", "fail the run after this long of nothing but throttling (HTTP 429, or a queue that refuses) (default 180)", numberOption("throttle-timeout"))
      .option("--json", "print the run report as JSON only")
      .option("-v, --verbose", "show stacks and preparation steps");

  addResumeOptions(program.command("resume").argument("<run-id>", "the run to continue (see `superfaas runs`; a unique prefix will do)"))
    .description("continue an interrupted run: finished tasks are not run again, same code, input and settings")
    .allowUnknownOption()
    .allowExcessArguments(true)
    .action(async (id: string, first: { stateDir?: string }) => {
      const stateDir = stateDirOf(first);
      const state = findRun(stateDir, id, warn);
      const s = state.start;
      const descriptor = resolveBackend(container, s.backend);
      if (!s.module) throw new SuperfaasError("RESUME_REFUSED", `run ${s.runId} was started from the library with a job that has no module path`, "resume it from the library (run with resume: id), giving the job");
      const job = await loadJob(s.module, s.export);
      // Second pass, strict: the backend's flags (secrets such as --auth are not in the journal) override its record.
      const strict = addResumeOptions(new (program.constructor as typeof Command)(`superfaas resume ${id}`))
        .exitOverride()
        .configureOutput({ writeOut: (t) => io.stdout.write(t), writeErr: () => {} })
        .allowExcessArguments(false)
        .argument("<run-id>")
        .action(() => {});
      addBackendOptions(strict, descriptor);
      strict.parse(ctx.argv.slice(ctx.argv.indexOf("resume") + 1), { from: "user" });
      const opts = strict.opts<Record<string, unknown>>();
      ctx.setVerbose(Boolean(opts.verbose));
      const settings = {
        ...runSettings({ ...opts, timeout: s.options.timeoutMs / 1000, retries: s.options.retries }),
        stateDir,
        resume: s.runId,
        force: Boolean(opts.force),
      };
      if (!settings.json) io.stderr.write(`resuming run ${s.runId}: ${state.done.size} of ${s.taskCount} tasks done\n`);
      const options = { ...s.backendOptions, ...backendOptions(descriptor, opts) };
      const outcome = await runOn(descriptor as BackendDescriptor<never>, options, job, s.input, settings, io, job.name);
      if (outcome.ok) {
        if (settings.json) await writeChunks(io.stdout, jsonChunks({ ...outcome.report, output: outcome.output }));
        else {
          out(job.format ? job.format(outcome.output as never, outcome.report.metrics) : JSON.stringify(outcome.output, null, 2));
          for (const line of summarizeReport(outcome.report)) out(line);
        }
        return;
      }
      if (settings.json) await writeChunks(io.stdout, jsonChunks(outcome.report));
      else for (const line of summarizeReport(outcome.report)) io.stderr.write(`${line}\n`);
      throw outcome.error;
    });

  program
    .command("clean")
    .description("remove what runs that are no longer alive left: deployed functions, object-store prefixes, log groups, journals")
    .option("--state-dir <dir>", "where run journals live (default: $XDG_STATE_HOME/superfaas or ~/.local/state/superfaas)")
    .option("-b, --backend <name>", "only runs on this backend (its flags, e.g. --auth, are accepted then)")
    .option("--older-than <duration>", "only runs started longer ago than this (0, 90s, 30m, 12h, 7d)", durationOption, 0)
    .option("--dry-run", "list what would be removed, remove nothing")
    .option("--orphans", "with --backend: also what superfaas made (owner markers) for runs with no journal here, e.g. another machine's; mind --older-than")
    .allowUnknownOption()
    .allowExcessArguments(true)
    .action(async (first: { stateDir?: string; backend?: string; olderThan: number; dryRun?: boolean; orphans?: boolean }) => {
      let flags: Record<string, unknown> = {};
      if (first.backend) {
        const descriptor = resolveBackend(container, first.backend);
        const strict = new (program.constructor as typeof Command)("superfaas clean")
          .exitOverride()
          .configureOutput({ writeOut: (t) => io.stdout.write(t), writeErr: () => {} })
          .option("--state-dir <dir>")
          .option("-b, --backend <name>")
          .option("--older-than <duration>")
          .option("--dry-run")
          .option("--orphans");
        addBackendOptions(strict, descriptor);
        strict.parse(ctx.argv.slice(ctx.argv.indexOf("clean") + 1), { from: "user" });
        flags = backendOptions(descriptor, strict.opts());
      } else {
        if (first.orphans) throw new SuperfaasError("BAD_INPUT", "--orphans needs --backend", "name the platform to look on, e.g. `superfaas clean --orphans --backend lambda --region eu-west-1`");
        const unknown = ctx.argv.slice(ctx.argv.indexOf("clean") + 1).find((a) => a.startsWith("-") && !/^--(state-dir|older-than|dry-run|backend)(=|$)|^-b$/.test(a));
        if (unknown) throw new SuperfaasError("BAD_INPUT", `unknown option '${unknown}'`, "backend flags go with --backend NAME; see `superfaas clean --help`");
      }
      const stateDir = stateDirOf(first);
      const now = Date.now();
      const cutoff = now - first.olderThan;
      const failures: string[] = [];
      let removed = 0;
      let keptRuns = 0;
      const journals = listJournals(stateDir, "", warn);
      // What live runs use (made or found), on any backend: never deleted, whoever made it.
      const inUse = new Set<string>();
      for (const j of journals) {
        if (!j.state || runStatus(j.state, now) !== "running") continue;
        const r = j.state.resources;
        for (const x of [...(r.functions ?? []), ...(r.shared ?? []), ...(r.prefixes ?? []).map((p) => p.prefix), ...(r.logGroups ?? [])]) inUse.add(x);
      }
      for (const j of journals) {
        if (!j.state) {
          // Not even a start record: nothing to resume, nothing known to release.
          out(`${first.dryRun ? "would remove" : "removing"} unreadable journal ${j.path}`);
          if (!first.dryRun) await removeJournal(j.path);
          removed++;
          continue;
        }
        const s = j.state;
        if (first.backend && s.start.backend !== first.backend) continue;
        if (Date.parse(s.start.startedAt) > cutoff) continue;
        const status = runStatus(s, now);
        if (status === "running") continue; // a live run's resources are its own
        // A run that ended released what it made (or kept it on purpose, --keep); a killed one left it.
        const r = status === "interrupted" ? s.resources : {};
        const left: RunResources = {
          functions: (r.functions ?? []).filter((f) => !inUse.has(f)),
          prefixes: (r.prefixes ?? []).filter((p) => !inUse.has(p.prefix)),
          logGroups: (r.logGroups ?? []).filter((g) => !inUse.has(g)),
        };
        const words = describeResources(left);
        // What a live run uses stays, and so does the journal that knows of it, for a later clean.
        const kept = describeResources(r).filter((w) => !words.includes(w));
        for (const k of kept) out(`keeping ${k} (in use by a live run)`);
        const what = `run ${s.start.runId} (${status} ${s.start.job} on ${s.start.backend}, ${s.start.startedAt})`;
        if (words.length === 0 && kept.length) {
          // Everything it left is a live run's: nothing to remove now, not even the journal.
          out(`keeping ${what} and its journal until that run ends; clean again then`);
          keptRuns++;
          continue;
        }
        out(`${first.dryRun ? "would remove" : "removing"} ${what}: ${[...words, ...(kept.length ? [] : ["journal"])].join(", ")}`);
        removed++;
        if (first.dryRun) continue;
        if (words.length) {
          try {
            const descriptor = resolveBackend(container, s.start.backend);
            const backend = await descriptor.create({ ...s.start.backendOptions, ...flags } as never);
            if (!backend.release) throw new SuperfaasError("BACKEND_CONFIG", `${s.start.backend} cannot delete what a run left`, "delete it by hand");
            await backend.release(left, {});
          } catch (err) {
            failures.push(`run ${s.start.runId}: ${(err as Error).message}`);
            continue; // the journal stays, so a later clean finds the resources again
          }
        }
        if (kept.length === 0) await removeJournal(s.path);
      }
      if (first.orphans && first.backend) {
        // What the platform holds with superfaas's owner marker, for runs this state directory has no journal of.
        const descriptor = resolveBackend(container, first.backend);
        const lister = await descriptor.create(flags as never);
        if (!lister.findOwned) throw new SuperfaasError("BAD_INPUT", `${first.backend} has nothing superfaas could leave behind to look for`, "drop --orphans");
        const known = new Set(journals.map((j) => j.runId));
        const owned = await lister.findOwned({});
        for (const o of owned) {
          // Kept with --keep: it stays until the user deletes it by name.
          for (const name of o.kept ?? []) out(`keeping function ${name} (kept with --keep by run ${o.runId}; delete it by name when done)`);
          if (known.has(o.runId)) continue;
          if (o.createdAt && Date.parse(o.createdAt) > cutoff) continue;
          const r = o.resources;
          const left: RunResources = {
            functions: (r.functions ?? []).filter((f) => !inUse.has(f)),
            prefixes: (r.prefixes ?? []).filter((p) => !inUse.has(p.prefix)),
            logGroups: (r.logGroups ?? []).filter((g) => !inUse.has(g)),
          };
          const words = describeResources(left);
          if (!words.length) continue;
          out(`${first.dryRun ? "would remove" : "removing"} orphan of run ${o.runId} (no journal here${o.createdAt ? `, made ${o.createdAt}` : ""}): ${words.join(", ")}`);
          removed++;
          if (first.dryRun) continue;
          try {
            const backend = await descriptor.create(flags as never);
            await backend.release!(left, {});
          } catch (err) {
            failures.push(`run ${o.runId}: ${(err as Error).message}`);
          }
        }
      }
      if (removed === 0 && keptRuns === 0) out("nothing to clean");
      if (failures.length) {
        throw new SuperfaasError("BACKEND_CONFIG", `could not clean everything: ${failures.join("; ")}`, "pass the backend's settings (e.g. `superfaas clean --backend openwhisk --auth ...`) and run clean again");
      }
    });
}
