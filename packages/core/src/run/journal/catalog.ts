// The runs of a state directory: where journals live (private to the user), listing and finding runs, whether a
// run is still alive (its owner's process and heartbeat), and removing a run's journal.
import { existsSync, lstatSync, readdirSync } from "node:fs";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { SuperfaasError } from "../../errors.js";
import { makePrivateDir, userDir } from "../user-dirs.js";

import type { JournalState, RunStatus } from "./format.js";
import { NotAFile, readJournal } from "./reader.js";

/** A journal untouched for this long (see HEARTBEAT_MS) belongs to a run that is gone. */
const STALE_MS = 30_000;


/**
 * This user's state directory: `$XDG_STATE_HOME/superfaas` (else `~/.local/state/superfaas`), or a private folder in
 * the temporary directory named after the user id when there is no home directory.
 */
export function defaultStateDir(): string {
  return userDir("state");
}

/** The folder of the run journals in a state directory, created private to this user (0700) and checked to be so. */
export function runsDir(stateDir: string, create = true): string {
  const dir = join(stateDir, "runs");
  if (!create && !existsSync(dir)) return dir;
  // The journals hold inputs and results: nobody else may own, swap or write the folders they live in.
  // Up from the runs folder through the state directory and any parent made for superfaas (the temporary fallback).
  const refuse = (d: string) =>
    new SuperfaasError(
      "BAD_INPUT",
      `the state directory ${d} is not private to this user (a link, another user's, or writable by others)`,
      "remove it, fix its permissions (chmod 700), or pass --state-dir a folder of your own",
    );
  try {
    makePrivateDir(dir, (d) => d === stateDir || d.startsWith(`${stateDir}/`) || basename(d).startsWith("superfaas"), refuse);
  } catch (err) {
    if (err instanceof SuperfaasError) throw err;
    throw new SuperfaasError("BAD_INPUT", `cannot create the state directory ${dir}: ${(err as Error).message}`, "pass --state-dir a folder you can write to (stateDir in the library)", { cause: err });
  }
  return dir;
}

/** Path of a run's journal. */
export const journalPath = (stateDir: string, runId: string) => join(stateDir, "runs", `${runId}.jsonl`);

/** Whether process `pid` exists on this machine. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether the run's current session still runs: it has not ended, and its owner is alive — on this host its process
 * exists and its heartbeat is fresh; on another host its heartbeat is fresh.
 */
export function isAlive(state: JournalState, now = Date.now()): boolean {
  if (state.end) return false;
  const owner = state.resumes.at(-1) ?? state.start;
  const fresh = now - state.heartbeatMs < STALE_MS;
  if (owner.host === hostname()) return owner.pid === process.pid || (pidAlive(owner.pid) && fresh);
  return fresh;
}

/** The status `superfaas runs` shows: how the last session ended, "running", or "interrupted" (killed). */
export function runStatus(state: JournalState, now = Date.now()): RunStatus {
  if (state.end) return state.end.status;
  return isAlive(state, now) ? "running" : "interrupted";
}

/**
 * Every journal in the state directory (or those whose run id starts with `prefix`), newest first; unreadable ones
 * come with their error. What is not a regular file (a folder, a FIFO, a link named `<id>.jsonl`) is no journal:
 * it is left alone and said to `warn`.
 */
export function listJournals(
  stateDir: string,
  prefix = "",
  warn: (message: string) => void = (m) => process.emitWarning(m),
): { path: string; runId: string; state?: JournalState; error?: SuperfaasError }[] {
  const dir = join(stateDir, "runs");
  if (!existsSync(dir)) return [];
  runsDir(stateDir);
  const out: { path: string; runId: string; state?: JournalState; error?: SuperfaasError; sort: number }[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".jsonl") || !name.startsWith(prefix)) continue;
    const path = join(dir, name);
    const runId = name.slice(0, -".jsonl".length);
    try {
      const state = readJournal(path);
      out.push({ path, runId, state, sort: Date.parse(state.start.startedAt) });
    } catch (err) {
      const e = err as SuperfaasError;
      if (e.cause instanceof NotAFile) {
        warn(`${path} is ${e.cause.what}, not a run journal: skipped (runs, resume and clean leave it alone) — move it out of ${dir}`);
        continue;
      }
      let sort = 0;
      try {
        sort = lstatSync(path).mtimeMs;
      } catch {
        // Gone meanwhile: listed last.
      }
      out.push({ path, runId, error: e, sort });
    }
  }
  return out.sort((a, b) => b.sort - a.sort).map(({ sort: _, ...rest }) => rest);
}

/** Finds a run by its id or a unique prefix of it; what is not a journal is said to `warn` (see `listJournals`). */
export function findRun(stateDir: string, idOrPrefix: string, warn?: (message: string) => void): JournalState {
  // Only the journals the id names are read: a resume starts without reading the others.
  const runs = idOrPrefix ? listJournals(stateDir, idOrPrefix, warn) : [];
  if (runs.length === 0 || idOrPrefix.length === 0) {
    throw new SuperfaasError("UNKNOWN_RUN", `no run ${JSON.stringify(idOrPrefix)} in ${join(stateDir, "runs")}`, "see `superfaas runs` for the run ids (and pass the same --state-dir)");
  }
  if (runs.length > 1) {
    throw new SuperfaasError("UNKNOWN_RUN", `${runs.length} runs start with ${JSON.stringify(idOrPrefix)}`, "give more characters of the run id (see `superfaas runs`)");
  }
  const r = runs[0]!;
  if (r.error) throw r.error;
  return r.state!;
}

/** Deletes a run's journal and its partials' files. */
export async function removeJournal(path: string): Promise<void> {
  const { rm } = await import("node:fs/promises");
  await rm(`${path.slice(0, -".jsonl".length)}.partials`, { recursive: true, force: true });
  await rm(path, { force: true });
}
