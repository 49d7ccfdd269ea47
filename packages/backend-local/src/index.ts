import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import {
  bundleJob,
  openEnvelope,
  SuperfaasError,
  TaskError,
  type Backend,
  type BackendDescriptor,
  type InvokeRequest,
  type InvokeResult,
  type PrepareContext,
  type TaskPayload,
} from "@superfaas/core";

/** Options of the local backend. */
export interface LocalBackendOptions {
  /** Worker threads in the pool (default: the number of available cores). */
  workers?: number;
  /** Per-worker heap cap in MB; a worker that exceeds it dies and the attempt is retried. */
  maxHeapMb?: number;
  /** Where job bundles are cached. */
  cacheDir?: string;
}

// A few lines around the job's map: the worker loads the bundled job once and serves attempts.
const ENTRY = `
import * as mod from JOB_MODULE;
import { findJob, runTask } from CORE_RUNTIME;
import { threadId } from "node:worker_threads";
const job = findJob(mod, JOB_NAME);
const workerId = "local:" + process.pid + ":" + threadId;
export default function (payload) { return runTask(job, payload, workerId); }
`;

/** Runs tasks on a pool of worker threads on this machine: the embedded default, no cloud account needed. */
export class LocalBackend implements Backend {
  readonly name = "local";
  readonly facts;
  private pool: Piscina | undefined;
  private bundleHash: string | undefined;
  private readonly workers: number;

  constructor(private readonly options: LocalBackendOptions = {}) {
    const workers = options.workers ?? availableParallelism();
    if (!Number.isSafeInteger(workers) || workers < 1) {
      throw new SuperfaasError("BAD_INPUT", `local backend: workers must be a whole number >= 1, got ${workers}`, "pass --workers 1 or more");
    }
    this.workers = workers;
    this.facts = { defaultConcurrency: workers };
  }

  async prepare(ctx: PrepareContext): Promise<void> {
    const bundle = await bundleJob({
      job: ctx.job,
      target: "local",
      entry: ENTRY,
      format: "esm",
      nodeTarget: `node${process.versions.node.split(".")[0]}`,
      ...(this.options.cacheDir ? { cacheDir: this.options.cacheDir } : {}),
    });
    const threads = Math.max(1, Math.min(ctx.concurrency, this.workers * 4));
    if (this.pool && this.bundleHash === bundle.hash && this.pool.options.maxThreads >= threads) return;
    await this.pool?.destroy();
    ctx.log?.(`local: starting ${threads} worker threads`);
    this.pool = new Piscina({
      filename: bundle.path,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
      ...(this.options.maxHeapMb ? { resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb } } : {}),
    });
    this.bundleHash = bundle.hash;
  }

  async invoke(req: InvokeRequest, signal: AbortSignal): Promise<InvokeResult> {
    const pool = this.pool;
    if (!pool) throw new SuperfaasError("INTERNAL", "local backend used before prepare()", "call run(), which prepares the backend");
    // The request already carries the payload's fields (task, taskIndex, attempt).
    const payload: TaskPayload = req;
    let envelope: unknown;
    try {
      envelope = await pool.run(payload, { signal });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      // The worker died under the attempt (process.exit, uncaught exception, heap limit): another may succeed.
      const e = err as Error & { code?: string };
      throw new TaskError(`local worker crashed: ${e.code ? `${e.code}: ` : ""}${e.message}`, { retryable: true, origin: "platform", cause: err });
    }
    return openEnvelope(envelope);
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

/** The local backend as offered by name to the CLI. */
export const localBackendDescriptor: BackendDescriptor<LocalBackendOptions> = {
  name: "local",
  description: "worker threads on this machine (default; no cloud account needed)",
  create: (options) => new LocalBackend(options),
};
