import { availableParallelism } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { getHeapStatistics } from "node:v8";
import { Piscina } from "piscina";
import { watchAbort } from "./abort-relay.js";
import {
  bundleJob,
  entryModulePath,
  maxLocalWorkers,
  checkStraggle,
  openEnvelope,
  parseStraggle,
  straggles,
  outOfMemoryError,
  SuperfaasError,
  TaskError,
  type Backend,
  type BackendDescriptor,
  type InvokeRequest,
  type InvokeResult,
  type OutOfMemory,
  type PrepareContext,
  type StraggleSpec,
  type TaskPayload,
} from "@superfaas/core";

/** Options of the local backend. */
export interface LocalBackendOptions {
  /** Worker threads in the pool (default: the number of available cores). */
  workers?: number;
  /**
   * Attempts one worker runs at once (default 1, right for CPU-bound jobs). Raise it for jobs whose `map` mostly
   * waits (I/O, timers): their attempts interleave on the worker's event loop. Attempts that are cancelled or time
   * out then run on until they return (or the backend is disposed) instead of having their worker terminated.
   */
  tasksPerWorker?: number;
  /** Per-worker heap cap in MB; a task whose worker exceeds it fails the run with OUT_OF_MEMORY (not retried). */
  maxHeapMb?: number;
  /** Where job bundles are cached. */
  cacheDir?: string;
  /**
   * Stragglers on demand, for testing and benchmarking backup tasks: this fraction of invocations (picked by arrival
   * order from the seed, so a run is reproducible) answers `factor` times late. The worker is free meanwhile and the
   * attempt keeps its slot, as a slow container on an elastic platform holds one slot of a run's concurrency and
   * nobody else's CPU; cancelling the attempt ends the wait.
   */
  straggle?: StraggleSpec;
}

/** The module piscina loads in each worker thread: beside this one in src/ and in dist/ (the build copies it). */
const TRAMPOLINE = fileURLToPath(new URL("./worker-trampoline.cjs", import.meta.url));

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
function holdBack(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Runs tasks on a pool of worker threads on this machine: the embedded default, no cloud account needed. */
export class LocalBackend implements Backend {
  readonly name = "local";
  readonly facts;
  private pool: Piscina | undefined;
  private bundleHash: string | undefined;
  /** Hash of the bundle the workers run (for the run journal). */
  get codeHash(): string | undefined {
    return this.bundleHash;
  }
  private readonly workers: number;
  private readonly perWorker: number;
  /** Invocations so far: the straggler rule picks by this count. */
  private invocations = 0;
  /** Invocations the `straggle` option slowed. */
  straggled = 0;

  constructor(private readonly options: LocalBackendOptions = {}) {
    const workers = options.workers ?? availableParallelism();
    if (!Number.isSafeInteger(workers) || workers < 1) {
      throw new SuperfaasError("BAD_INPUT", `local backend: workers must be a whole number >= 1, got ${workers}`, "pass --workers 1 or more");
    }
    if (workers > maxLocalWorkers()) {
      throw new SuperfaasError("BAD_INPUT", `local backend: ${workers} workers are more than this machine can run (${maxLocalWorkers()}: 16 per core, 64 MB each)`, `pass --workers ${maxLocalWorkers()} or less`);
    }
    const perWorker = options.tasksPerWorker ?? 1;
    if (!Number.isSafeInteger(perWorker) || perWorker < 1) {
      throw new SuperfaasError("BAD_INPUT", `local backend: tasks per worker must be a whole number >= 1, got ${perWorker}`, "pass --tasks-per-worker 1 or more");
    }
    if (options.straggle) checkStraggle(options.straggle, "local backend straggle");
    this.workers = workers;
    this.perWorker = perWorker;
    // Twice as many attempts in flight as the workers can run: the next attempt already waits in the pool when a
    // worker finishes, so workers never sit idle for a round trip through the main thread.
    // More in flight than 4× what the pool runs at once only lengthens its queue (and a huge --concurrency would
    // fill memory with queued attempts).
    this.facts = { defaultConcurrency: 2 * workers * perWorker, maxConcurrency: 4 * workers * perWorker };
  }

  async prepare(ctx: PrepareContext): Promise<void> {
    const bundle = await bundleJob({
      job: ctx.job,
      target: "local",
      entry: entryModulePath(import.meta.url, "worker-entry"),
      format: "esm",
      nodeTarget: `node${process.versions.node.split(".")[0]}`,
      ...(this.options.cacheDir ? { cacheDir: this.options.cacheDir } : {}),
    });
    // Parallelism is workers × tasks per worker; attempts beyond it (up to the concurrency) wait in the pool's queue.
    const threads = Math.max(1, Math.min(ctx.concurrency, this.workers));
    const perWorker = this.perWorker;
    if (this.pool && this.bundleHash === bundle.hash && this.pool.options.maxThreads === threads && this.pool.options.concurrentTasksPerWorker === perWorker) return;
    await this.pool?.destroy();
    ctx.log?.(`local: starting ${threads} worker threads`);
    this.pool = new Piscina({
      // A CommonJS trampoline that imports the ES module bundle (see worker-trampoline.cjs for why not the bundle itself).
      filename: TRAMPOLINE,
      workerData: { bundleUrl: pathToFileURL(bundle.path).href },
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: perWorker,
      // piscina's default ("sync") parks an idle worker in Atomics.wait, which blocks its event loop and so would
      // stall the other asynchronous attempts the worker holds; without atomics, messages arrive as events.
      atomics: perWorker > 1 ? "disabled" : "sync",
      idleTimeout: 60_000,
      ...(this.options.maxHeapMb ? { resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb } } : {}),
    });
    // piscina emits "error" for what no attempt is waiting on: a worker's answer to an attempt already cancelled (the
    // run failed or timed out meanwhile) or a worker that died between attempts. Attempts in flight get their own
    // error; left unhandled, these would crash the whole process.
    this.pool.on("error", (err: Error) => ctx.log?.(`local: worker pool: ${err.message.split("\n")[0]}`));
    this.bundleHash = bundle.hash;
  }

  async invoke(req: InvokeRequest, signal: AbortSignal): Promise<InvokeResult> {
    const pool = this.pool;
    if (!pool) throw new SuperfaasError("INTERNAL", "local backend used before prepare()", "call run(), which prepares the backend");
    // The request already carries the payload's fields (task, taskIndex, attempt).
    const payload: TaskPayload = req;
    const straggle = this.options.straggle;
    const slowBy = straggle && straggles(straggle, this.invocations++) ? straggle.factor : 1;
    if (slowBy > 1) this.straggled++;
    const t0 = performance.now();
    let envelope: unknown;
    try {
      if (signal.aborted) throw signal.reason;
      const relay = watchAbort(signal);
      if (this.perWorker === 1) envelope = await pool.run(payload, { signal: relay }).finally(() => relay.release());
      else {
        // piscina gives an abortable attempt a worker of its own, so with several attempts per worker the abort
        // only settles this attempt; its code runs on until it returns or the pool is disposed.
        envelope = await new Promise((resolve, reject) => {
          const onAbort = () => reject(signal.reason);
          relay.once("abort", onAbort);
          pool.run(payload).then(resolve, reject).finally(() => relay.removeListener("abort", onAbort));
        });
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const e = err as Error & { code?: string };
      // Over its heap limit the worker is stopped: the same task would reach the same limit again.
      if (e.code === "ERR_WORKER_OUT_OF_MEMORY") throw outOfMemoryError(this.heapLimit(), { cause: err });
      // The worker died under the attempt (process.exit, uncaught exception): another may succeed.
      throw new TaskError(`local worker crashed: ${e.code ? `${e.code}: ` : ""}${e.message}`, { retryable: true, origin: "platform", cause: err });
    }
    if (slowBy > 1) {
      const holdMs = (slowBy - 1) * (performance.now() - t0);
      await holdBack(holdMs, signal);
      // The platform's figure includes the wait, as a slow machine's would.
      const e = envelope as { durationMs?: number };
      if (typeof e?.durationMs === "number") e.durationMs += holdMs;
    }
    return openEnvelope(envelope);
  }

  /** What a worker's heap holds at most: `maxHeapMb`, else V8's default (as this thread's, which workers share). */
  private heapLimit(): OutOfMemory {
    const given = this.options.maxHeapMb;
    return {
      memoryMb: given ?? Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
      what: given ? "worker heap" : "worker heap (V8's default)",
      setting: "--max-heap-mb",
      evidence: "the worker thread reached its heap limit and was stopped: ERR_WORKER_OUT_OF_MEMORY",
    };
  }

  async dispose(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    this.bundleHash = undefined;
    await pool?.destroy();
  }
}

/** Creates a local backend. */
export function localBackend(options: LocalBackendOptions = {}): LocalBackend {
  return new LocalBackend(options);
}

/** The local backend's flag values as the CLI passes them (`--straggle 0.05x10 --straggle-seed 7`). */
export type LocalBackendFlags = Omit<LocalBackendOptions, "straggle"> & { straggle?: string; straggleSeed?: number };

/** The local backend as offered by name to the CLI. */
export const localBackendDescriptor: BackendDescriptor<LocalBackendFlags> = {
  name: "local",
  description: "worker threads on this machine (default; no cloud account needed)",
  flags: [
    { name: "workers", value: "N", type: "integer", max: maxLocalWorkers(), description: "worker threads (default: the number of available cores)" },
    { name: "tasks-per-worker", value: "N", type: "integer", description: "attempts one worker runs at once (default 1; raise for I/O-bound jobs)" },
    { name: "max-heap-mb", value: "MB", type: "integer", min: 16, description: "heap cap per worker; a task over it fails the run as out of memory (default: V8's)" },
    { name: "straggle", value: "FRACTIONxFACTOR", description: "slow this share of invocations by this factor, e.g. 0.05x10 (testing backup tasks)" },
    { name: "straggle-seed", value: "N", type: "integer", min: 0, description: "which invocations --straggle slows (default 1; same seed, same ones)" },
  ],
  create: ({ straggle, straggleSeed, ...options }) => {
    if (straggleSeed !== undefined && straggle === undefined) {
      throw new SuperfaasError("BAD_INPUT", "--straggle-seed without --straggle", "add --straggle FRACTIONxFACTOR, e.g. --straggle 0.05x10");
    }
    return new LocalBackend({ ...options, ...(straggle !== undefined ? { straggle: { ...parseStraggle(straggle), ...(straggleSeed !== undefined ? { seed: straggleSeed } : {}) } } : {}) });
  },
};
