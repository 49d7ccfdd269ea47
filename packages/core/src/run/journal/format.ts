// The journal's format: its records (start, resume, end, results, meta) as types and as the schema every line is
// checked against when read, and the frame of a line (CRC-32 of the JSON, a space, the JSON). A line torn by a crash,
// or damaged later, fails its check and is ignored.
import { crc32 } from "node:zlib";
import * as z from "zod/mini";


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


/** One framed line: CRC-32 of the JSON in 8 hex digits, a space, the JSON. */
export function frame(json: string): string {
  return `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;
}



// What each record may be. A line that passes its CRC but not these is skipped and counted like a torn one: the
// journal is read by `runs`, `resume` and `clean`, and nothing in it is used before it has the shape it is used as.
const count = z.int().check(z.nonnegative());
export const resourcesShape = z.object({
  functions: z.optional(z.array(z.string())),
  prefixes: z.optional(z.array(z.object({ bucket: z.optional(z.string()), prefix: z.string() }))),
  logGroups: z.optional(z.array(z.string())),
  shared: z.optional(z.array(z.string())),
});
export const recordShape = z.discriminatedUnion("t", [
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

