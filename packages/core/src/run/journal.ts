// The run journal: an append-only record of one run (what ran, with which code and settings, and every task's partial
// as it finished), so a run outlives the process that drives it. One file per run under the state directory, one
// JSON record per line behind its CRC-32: a line torn by a crash, or damaged later, fails its check and is ignored.
// Results are appended in groups (one write every GROUP_MS at most, never an fsync per task): a task counts as
// done only once the write that holds its partial has completed, so a journal never lacks a task the run reported.
import { constants, existsSync, fstatSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { close, closeSync, futimes, ftruncateSync, mkdir, openSync, write, writeFile, writeSync } from "node:fs";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { crc32 } from "node:zlib";
import * as z from "zod/mini";
import { SuperfaasError } from "../errors.js";
import { makePrivateDir, userDir } from "./user-dirs.js";

/** What a run made on its platform that outlives its process: deleted at the run's end, or by `superfaas clean`. */
export interface RunResources {
  /** Deployed functions (OpenWhisk actions, Lambda functions) the run created. */
  functions?: string[];
  /** Object-store prefixes (with their bucket) holding the run's payloads and owner marker. */
  prefixes?: { bucket?: string; prefix: string }[];
  /** Log groups the run's functions write to (Lambda). */
  logGroups?: string[];
  /** Functions the run uses but found deployed by another run: not its to delete, and kept while it is alive. */
  shared?: string[];
}

/** The first record of a journal: everything a resume needs to run the same tasks with the same code and settings. */
export interface JournalStart {
  t: "start";
  v: 1;
  runId: string;
  job: string;
  /** Absolute path of the job module and the export the job is under. */
  module?: string;
  export: string;
  /** The resolved input (defaults filled in). */
  input: unknown;
  backend: string;
  /** The backend's settings as given (flags), without secrets: those are read from the environment again at resume. */
  backendOptions: Record<string, unknown>;
  /** The run's options that shape its tasks and attempts. */
  options: { concurrency: number; tasks: number; timeoutMs: number; retries: number };
  taskCount: number;
  startedAt: string;
  pid: number;
  host: string;
}

/** A later session of the same run (`superfaas resume`): the new owner of its lease. */
export interface JournalResume {
  t: "resume";
  at: string;
  pid: number;
  host: string;
}

/** How a session of a run ended, when it ended by itself (not killed). */
export interface JournalEnd {
  t: "end";
  at: string;
  status: "succeeded" | "failed" | "cancelled";
  error?: string;
}

/** A run's journal as read back: torn or damaged lines left out. */
export interface JournalState {
  path: string;
  start: JournalStart;
  /** Partials of finished tasks, by task index. */
  done: Map<number, unknown>;
  resumes: JournalResume[];
  end?: JournalEnd;
  resources: RunResources;
  /** Hash of the code the backend prepared last (its bundle); a resume with other code is refused unless forced. */
  codeHash?: string;
  /** Lines that failed their check (a torn last write, damage). */
  corrupt: number;
  /** Bytes up to the end of the last good line: where a resumed session appends. */
  goodBytes: number;
  /** Last time the owner showed it was alive (the file's modification time, touched by the heartbeat). */
  heartbeatMs: number;
}

/** How `superfaas runs` describes a run. */
export type RunStatus = "running" | "succeeded" | "failed" | "cancelled" | "interrupted";

/** Partials larger than this (JSON characters) are written to a file of their own beside the journal. */
const INLINE_CHARS = 64 * 1024;
/**
 * How long results gather before one write takes them all. A write per turn of the event loop costs the main thread a
 * thread-pool round trip for every handful of tiny tasks; a few milliseconds make the groups large, and they only
 * delay when a task counts as done (not when the next one starts).
 */
const GROUP_MS = 2;
/** The owner touches its journal this often; a journal untouched for STALE_MS belongs to a run that is gone. */
export const HEARTBEAT_MS = 5_000;
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

/** One framed line: CRC-32 of the JSON in 8 hex digits, a space, the JSON. */
function frame(json: string): string {
  return `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;
}

/** Appends a run's records; see the file comment for the commit rule. Not safe for two writers on one journal. */
export class JournalWriter {
  private fd: number;
  private items: string[] = [];
  private callbacks: (() => void)[] = [];
  private writing = false;
  private scheduled = false;
  private closed = false;
  private sideFiles = 0;
  private drained: (() => void)[] = [];
  private failure: Error | undefined;
  private readonly heartbeat: ReturnType<typeof setInterval>;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
    this.heartbeat = setInterval(() => {
      const now = new Date();
      if (!this.closed) futimes(this.fd, now, now, () => {});
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Starts the journal of a new run. */
  static create(stateDir: string, start: Omit<JournalStart, "t" | "v" | "pid" | "host">): JournalWriter {
    runsDir(stateDir);
    const path = journalPath(stateDir, start.runId);
    let fd: number | undefined;
    try {
      fd = openSync(path, "wx", 0o600);
      writeSync(fd, frame(JSON.stringify({ t: "start", v: 1, ...start, pid: process.pid, host: hostname() })));
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      throw new SuperfaasError("JOURNAL", `cannot start the run journal ${path}: ${(err as Error).message}`, "free some space or pick another --state-dir (stateDir), or pass --no-journal", { cause: err });
    }
    return new JournalWriter(path, fd);
  }

  /** Continues the journal of an earlier session: the torn tail (if any) is cut off, and a resume record appended. */
  static reopen(state: JournalState): JournalWriter {
    const fd = openSync(state.path, "r+");
    ftruncateSync(fd, state.goodBytes);
    closeSync(fd);
    const afd = openSync(state.path, "a");
    const rec: JournalResume = { t: "resume", at: new Date().toISOString(), pid: process.pid, host: hostname() };
    writeSync(afd, frame(JSON.stringify(rec)));
    return new JournalWriter(state.path, afd);
  }

  /**
   * Records task `index`'s partial and calls `committed` once it is written (in the next group write). A partial too
   * large to sit in the journal line goes to its own file first.
   */
  result(index: number, partial: unknown, committed: () => void): void {
    const json = JSON.stringify(partial);
    if (json === undefined) this.items.push(`{"undefined":${index}}`);
    else if (json.length <= INLINE_CHARS) this.items.push(`[${index},${json}]`);
    else {
      const file = `${this.path.slice(0, -".jsonl".length)}.partials`;
      this.sideFiles++;
      const name = `${index}.json`;
      mkdir(file, { recursive: true, mode: 0o700 }, () => {
        writeFile(join(file, name), json, { mode: 0o600 }, (err) => {
          this.sideFiles--;
          if (err) this.failure ??= err;
          // The reference is written only once the file is: the journal never points at a file not there.
          this.items.push(`[${index},null,${JSON.stringify(name)},${crc32(json)}]`);
          this.callbacks.push(committed);
          this.schedule();
        });
      });
      return;
    }
    this.callbacks.push(committed);
    this.schedule();
  }

  /**
   * Records the code the backend prepared and what the run made on its platform (for resume, `runs` and `clean`), or
   * the task count `tasks: "auto"` chose once its probe had measured (the start record names the probe's count).
   */
  prepared(meta: { codeHash?: string; resources?: RunResources; taskCount?: number }): void {
    this.items.push(JSON.stringify({ meta }));
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    setTimeout(() => this.flush(), GROUP_MS);
  }

  private flush(): void {
    this.scheduled = false;
    if (this.writing) return;
    if (this.items.length === 0) {
      if (this.sideFiles === 0) for (const d of this.drained.splice(0)) d();
      return;
    }
    const items = this.items;
    const callbacks = this.callbacks;
    this.items = [];
    this.callbacks = [];
    this.writing = true;
    write(this.fd, frame(`{"t":"done","r":[${items.join(",")}]}`), null, "utf8", (err) => {
      this.writing = false;
      if (err) this.failure ??= err;
      for (const c of callbacks) c();
      // What gathered meanwhile waits for the next group too: writing it at once would make a write per handful of
      // results again, each a thread-pool round trip.
      if (this.items.length > 0 || this.drained.length > 0 || this.sideFiles > 0) this.schedule();
    });
  }

  /** Resolves once everything recorded so far is written. */
  drain(): Promise<void> {
    if (!this.writing && !this.scheduled && this.items.length === 0 && this.sideFiles === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained.push(resolve);
      this.schedule();
    });
  }

  /**
   * Writes what is pending and the end record, and closes the journal. Resolves with the error of a write that failed
   * (the run itself is not failed for it: its output stands; a resume would only run again what the journal lacks).
   */
  async end(status: JournalEnd["status"], error?: string): Promise<SuperfaasError | undefined> {
    if (this.closed) return undefined;
    await this.drain();
    this.closed = true;
    clearInterval(this.heartbeat);
    const rec: JournalEnd = { t: "end", at: new Date().toISOString(), status, ...(error ? { error } : {}) };
    await new Promise<void>((resolve) => write(this.fd, frame(JSON.stringify(rec)), null, "utf8", () => close(this.fd, () => resolve())));
    if (this.failure) {
      return new SuperfaasError("JOURNAL", `could not write the run journal ${this.path}: ${this.failure.message}`, "free some space on the state directory's disk, or pass --no-journal", { cause: this.failure });
    }
    return undefined;
  }

  /** Closes without an end record (the session is abandoned, as if killed). */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    closeSync(this.fd);
  }
}

// What each record may be. A line that passes its CRC but not these is skipped and counted like a torn one: the
// journal is read by `runs`, `resume` and `clean`, and nothing in it is used before it has the shape it is used as.
const count = z.int().check(z.nonnegative());
const resourcesShape = z.object({
  functions: z.optional(z.array(z.string())),
  prefixes: z.optional(z.array(z.object({ bucket: z.optional(z.string()), prefix: z.string() }))),
  logGroups: z.optional(z.array(z.string())),
  shared: z.optional(z.array(z.string())),
});
const recordShape = z.discriminatedUnion("t", [
  z.object({
    t: z.literal("start"),
    v: z.literal(1),
    runId: z.string().check(z.minLength(1)),
    job: z.string(),
    // A job run from the library may have no module path (JSON leaves it out).
    module: z.optional(z.string()),
    export: z.string(),
    input: z.unknown(),
    backend: z.string(),
    backendOptions: z.record(z.string(), z.unknown()),
    options: z.object({ concurrency: z.int().check(z.positive()), tasks: count, timeoutMs: z.number().check(z.positive()), retries: count }),
    taskCount: count,
    startedAt: z.string(),
    pid: z.int(),
    host: z.string(),
  }),
  z.object({ t: z.literal("resume"), at: z.string(), pid: z.int(), host: z.string() }),
  z.object({ t: z.literal("end"), at: z.string(), status: z.enum(["succeeded", "failed", "cancelled"]), error: z.optional(z.string()) }),
  z.object({
    t: z.literal("done"),
    r: z.array(
      z.union([
        // A partial in the line; one in its own file (its name and the CRC-32 of its JSON); a partial `undefined`.
        z.tuple([count, z.unknown()]),
        z.tuple([count, z.null(), z.string(), count]),
        z.object({ undefined: count }),
        z.object({ meta: z.object({ codeHash: z.optional(z.string()), resources: z.optional(resourcesShape), taskCount: z.optional(count) }) }),
      ]),
    ),
  }),
]);

/** What `readRegular` throws for a path that is there but not a regular file (a folder, a FIFO, a link, a device). */
class NotAFile extends Error {
  constructor(
    readonly path: string,
    readonly what: string,
  ) {
    super(`${path} is ${what}, not a file`);
  }
}

/**
 * Reads a regular file, and only one: a FIFO or a device would block the main thread (and with it every signal
 * handler) until someone writes to it, so the file is opened without blocking and without following a link, and
 * checked to be a regular file before anything is read.
 */
function readRegular(path: string): { buf: Buffer; mtimeMs: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    // O_NOFOLLOW refuses a link with ELOOP, and a socket cannot be opened (ENXIO): not journals either.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENXIO") throw new NotAFile(path, code === "ELOOP" ? "a link" : "a socket");
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotAFile(path, st.isDirectory() ? "a folder" : st.isFIFO() ? "a FIFO" : st.isSocket() ? "a socket" : "a device");
    return { buf: readFileSync(fd), mtimeMs: st.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/** Reads a journal back; throws JOURNAL when it is not a regular file, cannot be read, or has no valid start record. */
export function readJournal(path: string): JournalState {
  let buf: Buffer;
  let heartbeatMs: number;
  try {
    ({ buf, mtimeMs: heartbeatMs } = readRegular(path));
  } catch (err) {
    throw new SuperfaasError("JOURNAL", `cannot read the run journal ${path}: ${(err as Error).message}`, "see `superfaas runs` for the runs there are", { cause: err });
  }
  const runId = basename(path).slice(0, -".jsonl".length);
  let start: JournalStart | undefined;
  const done = new Map<number, unknown>();
  const resumes: JournalResume[] = [];
  let end: JournalEnd | undefined;
  const resources: RunResources = {};
  let codeHash: string | undefined;
  let corrupt = 0;
  let goodBytes = 0;
  const sideDir = `${path.slice(0, -".jsonl".length)}.partials`;
  let from = 0;
  while (from < buf.length) {
    const nl = buf.indexOf(10, from);
    if (nl < 0) {
      corrupt++; // a last line without its newline: the write was torn
      break;
    }
    const line = buf.toString("utf8", from, nl);
    from = nl + 1;
    const json = line.slice(9);
    let rec: z.infer<typeof recordShape>;
    try {
      if (line[8] !== " " || Number.parseInt(line.slice(0, 8), 16) !== crc32(json)) throw new Error("crc");
      const parsed = recordShape.safeParse(JSON.parse(json));
      if (!parsed.success) throw parsed.error;
      rec = parsed.data;
      // One start, of the run the file is named after (a resume finds the run by that name again).
      if (rec.t === "start" && (start !== undefined || rec.runId !== runId)) throw new Error("start");
    } catch {
      corrupt++;
      continue;
    }
    goodBytes = from;
    switch (rec.t) {
      case "start":
        start = rec as JournalStart;
        break;
      case "resume":
        resumes.push(rec);
        end = undefined;
        break;
      case "end":
        end = rec as JournalEnd;
        break;
      case "done":
        for (const item of rec.r) {
          if (Array.isArray(item)) {
            const i = item[0];
            if (done.has(i)) continue; // a task counts once, with its first partial
            if (item.length === 2) done.set(i, item[1]);
            else {
              // The partial's file must be this task's and hold what was written: else the task runs again.
              const [, , file, sum] = item;
              try {
                if (file !== `${i}.json`) throw new Error("name");
                const text = readRegular(join(sideDir, file)).buf;
                if (crc32(text) !== sum) throw new Error("crc");
                done.set(i, JSON.parse(text.toString("utf8")));
              } catch {
                corrupt++;
              }
            }
          } else if ("undefined" in item) {
            if (!done.has(item.undefined)) done.set(item.undefined, undefined);
          } else {
            const meta = item.meta;
            if (meta.resources) mergeResources(resources, meta.resources as RunResources);
            if (meta.codeHash) codeHash = meta.codeHash;
            if (meta.taskCount !== undefined && start) start = { ...start, taskCount: meta.taskCount, options: { ...start.options, tasks: meta.taskCount } };
          }
        }
        break;
    }
  }
  if (!start) {
    throw new SuperfaasError("JOURNAL", `the run journal ${path} has no valid start record`, "it cannot be resumed; `superfaas clean` removes it");
  }
  // Only the run's own tasks: an index the run does not have is no task done.
  for (const i of done.keys()) if (i >= start.taskCount) done.delete(i);
  return { path, start, done, resumes, ...(end ? { end } : {}), resources, ...(codeHash ? { codeHash } : {}), corrupt, goodBytes, heartbeatMs };
}

function mergeResources(into: RunResources, r: RunResources): void {
  for (const f of r.functions ?? []) if (!(into.functions ??= []).includes(f)) into.functions.push(f);
  for (const p of r.prefixes ?? []) if (!(into.prefixes ??= []).some((q) => q.prefix === p.prefix && q.bucket === p.bucket)) into.prefixes.push(p);
  for (const g of r.logGroups ?? []) if (!(into.logGroups ??= []).includes(g)) into.logGroups.push(g);
  for (const f of r.shared ?? []) if (!(into.shared ??= []).includes(f)) into.shared.push(f);
}

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
