// Reading a journal back: only a regular file (never a FIFO, a link or a device), every line checked against its
// CRC and its record shape; torn or damaged lines are skipped and counted.
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { crc32 } from "node:zlib";
import type * as z from "zod/mini";
import { SuperfaasError } from "../../errors.js";

import { recordShape, type JournalState, type RunResources, type JournalStart, type JournalResume, type JournalEnd } from "./format.js";

/** What `readRegular` throws for a path that is there but not a regular file (a folder, a FIFO, a link, a device). */
export class NotAFile extends Error {
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

