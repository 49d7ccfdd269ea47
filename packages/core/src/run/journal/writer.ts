// Writing a run's journal: one file per run under the state directory, one JSON record per line behind its CRC-32.
// Results are appended in groups (one write every GROUP_MS at most, never an fsync per task): a task counts as
// done only once the write that holds its partial has completed, so a journal never lacks a task the run reported.
import { close, closeSync, futimes, ftruncateSync, mkdir, openSync, write, writeFile, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { SuperfaasError } from "../../errors.js";
import { frame, type JournalState, type JournalStart, type JournalResume, type JournalEnd, type RunResources } from "./format.js";
import { journalPath, runsDir } from "./catalog.js";

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
