// The lifecycle every cloud function backend shares, over a `CloudPlatform` that supplies deploy, transport and
// error classification: bundling and its cache, deploying at most once per run, the per-run object-store prefix and
// its owner marker, offloading a task once (not per retry), opening envelopes and partials by reference, the
// platform's figures in the result, billing of every attempt that ran, and cleaning up only what this backend made.
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import type { Backend, BackendFacts, InvokeRequest, InvokeResult, JobRef, PrepareContext } from "../backend.js";
import type { RunResources } from "../run/journal/index.js";
import { bundleJob, type Bundle } from "../remote/bundle.js";
import { SuperfaasError, TaskError } from "../errors.js";
import { stableJson } from "../job/json.js";
import { openEnvelopeWithStore } from "../remote/runtime.js";
import { encodeTaskRequest, openEnvelope, StoreKeys } from "../remote/wire.js";
import { utf8Bytes } from "../data/store.js";
import type { Answer, AttemptContinuation, CloudPlatform, FunctionSpec, OwnerMarker } from "./platform.js";

/** The object under a run's prefix that marks who owns it; removed first at clean-up (see `TaskPayload.ownerKey`). */
export const OWNER_OBJECT = "owner.json";

/** `superfaas-<job>-<12 hex of the deploy hash>`, letters, digits, '-' and '_' only, at most `maxLength` characters. */
export function functionName(jobName: string, hash: string, maxLength = 64): string {
  const job = jobName.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, Math.max(1, maxLength - "superfaas-".length - 13));
  return `superfaas-${job}-${hash.slice(0, 12)}`;
}


/** Hex SHA-256 of the code and every behaviour-changing setting: what names a deployed function. */
export function deployHash(bundleHash: string, settings: Record<string, unknown>): string {
  return createHash("sha256").update(bundleHash).update("\0").update(stableJson(settings)).digest("hex");
}

/** Attempts and billing the backend saw, failed attempts included. */
export interface FunctionUsage {
  /** Invocations that ran (answered by the function or ended by the platform). */
  invocations: number;
  coldStarts: number;
  /** Attempts the platform refused for load. */
  throttled: number;
  billedMs: number;
  /** Highest peak memory any invocation reported, in MB. */
  maxMemoryUsedMb: number;
}

interface Deployment {
  created: boolean;
  /** What a redeploy tells the platform: the run that first deployed it, without its (maybe aborted) signal. */
  ctx: PrepareContext;
  /** Set while a deploy (or a redeploy of a function that vanished) is under way. */
  pending: Promise<void> | undefined;
  spec: FunctionSpec;
}

/** What invocations of the latest prepared run use. */
interface Current {
  name: string;
  deployment: Deployment;
  /** The run's prefix in the store, e.g. `superfaas/<runId>/`. */
  prefix: string;
  /** With a store: the run's result and owner keys, encoded once for every attempt's request. */
  keys?: StoreKeys;
}

const noop = () => undefined;

/** One attempt whose request is out: what to do with the platform's answer, or with the send's failure. */
class Pending implements AttemptContinuation<InvokeResult> {
  constructor(
    private readonly backend: FunctionBackend,
    private readonly run: Current,
    private readonly body: string,
    private readonly signal: AbortSignal,
    readonly taskIndex: number,
  ) {}

  answered(answer: Answer): Promise<InvokeResult> {
    return this.backend.open(answer, this.run.name);
  }

  failed(err: unknown): Promise<InvokeResult> {
    const { backend, run, signal } = this;
    if (signal.aborted) return Promise.reject(signal.reason);
    return backend.recover(err, run, this.body, signal).then((answer) => backend.open(answer, run.name));
  }
}

/**
 * A `Backend` for a cloud function platform. One instance may serve several runs, one after another or at once: every
 * object key is unique to its invocation or task, and `dispose` cleans up after all of them.
 */
export class FunctionBackend<P extends CloudPlatform = CloudPlatform> implements Backend {
  readonly name: string;
  readonly facts: BackendFacts;
  readonly usage: FunctionUsage = { invocations: 0, coldStarts: 0, throttled: 0, billedMs: 0, maxMemoryUsedMb: 0 };
  readonly estimateCost?: (usage: { invocations: number; billedMs: number }) => number;
  readonly billedSince?: Backend["billedSince"];
  private current: Current | undefined;
  private readonly deployments = new Map<string, Deployment>();
  private readonly prefixes = new Set<string>();
  /** Offloaded tasks: the key each task object (or primitive) was uploaded under, so a retry sends the same key. */
  private readonly offloaded = new WeakMap<object, Promise<string>>();
  private readonly offloadedPrimitives = new Map<unknown, Promise<string>>();
  private readonly uploads = new Set<Promise<unknown>>();
  private readonly bundles = new Map<string, { mtimeMs: number; bundle: Bundle }>();
  private seq = 0;
  /** Hash of the bundle the last prepare deployed (for the run journal). */
  codeHash: string | undefined;

  constructor(readonly platform: P) {
    this.name = platform.name;
    this.facts = platform.facts;
    if (platform.estimateCost) this.estimateCost = (usage) => platform.estimateCost!(usage);
    if (platform.discover) this.discover = (ctx) => platform.discover!(ctx);
    if (platform.billedSince) {
      this.billedSince = async (since, expected, signal) => (this.current ? platform.billedSince!(this.current.name, since, expected, signal) : undefined);
    }
  }

  /** Present when the platform reads its limits before a run is planned. */
  readonly discover?: (ctx: { signal?: AbortSignal; log?: (message: string) => void }) => Promise<void>;

  async prepare(ctx: PrepareContext): Promise<void> {
    const p = this.platform;
    await p.open(ctx);
    const bundle = await this.bundle(ctx.job);
    this.codeHash = bundle.hash;
    const name = functionName(ctx.job.jobName, deployHash(bundle.hash, p.settings()), p.maxNameLength);
    const owner: OwnerMarker = { tool: "superfaas", runId: ctx.runId, createdAt: new Date().toISOString(), job: ctx.job.jobName, ...(p.keep ? { kept: true as const } : {}) };
    const prefix = `superfaas/${ctx.runId}/`;
    if (p.store && !this.prefixes.has(prefix)) {
      this.prefixes.add(prefix);
      try {
        await p.store.put(prefix + OWNER_OBJECT, JSON.stringify({ ...owner, function: name }));
      } catch (err) {
        throw new SuperfaasError("BACKEND_CONFIG", `${p.name}: cannot write to the bucket: ${(err as Error).message}`, "check --bucket, the store's endpoint and its credentials", { cause: err });
      }
    }
    let deployment = this.deployments.get(name);
    if (!deployment) {
      deployment = { created: false, pending: undefined, spec: { name, bundle, owner }, ctx: { job: ctx.job, runId: ctx.runId, concurrency: ctx.concurrency } };
      this.deployments.set(name, deployment);
      const d = deployment;
      d.pending = p.deploy(d.spec, ctx).then(
        (how) => {
          // A resumed run owns the function its killed session created (same code and settings, so the same name).
          d.created = how === "created" || (ctx.adopt?.functions?.includes(name) ?? false);
          d.pending = undefined;
        },
        (err: unknown) => {
          this.deployments.delete(name);
          throw err;
        },
      );
    }
    await deployment.pending;
    this.current = { name, deployment, prefix, ...(this.platform.store ? { keys: new StoreKeys(prefix, `${prefix}${OWNER_OBJECT}`, this.platform.facts.inlinePayloadBytes) } : {}) };
  }

  /**
   * The function's code. Within one backend's life an unchanged job module (same path, same modification time) is
   * bundled once: with a store the bundle carries the AWS SDK, and esbuild then takes most of a second per run.
   */
  private async bundle(job: JobRef): Promise<Bundle> {
    const p = this.platform;
    // The target is part of the key: one backend may build for another Node.js version once it knows the platform's.
    const key = `${job.modulePath}\0${job.jobName}\0${p.entry.nodeTarget}`;
    let mtimeMs = -1;
    try {
      mtimeMs = statSync(job.modulePath).mtimeMs;
    } catch {
      // bundleJob reports a missing module with its own error.
    }
    const hit = this.bundles.get(key);
    if (hit && hit.mtimeMs === mtimeMs) return hit.bundle;
    const bundle = await bundleJob({
      job,
      target: `${p.name}-${p.store ? "s3" : "inline"}`,
      entry: p.entry.path,
      // Without a store the function never opens one: leave its client out of the bundle.
      ...(p.store ? {} : { external: p.storeModules }),
      format: "cjs",
      nodeTarget: p.entry.nodeTarget,
    });
    this.bundles.set(key, { mtimeMs, bundle });
    return bundle;
  }

  invoke(req: InvokeRequest, signal: AbortSignal): Promise<InvokeResult> {
    const run = this.current;
    if (!run) return Promise.reject(new SuperfaasError("INTERNAL", `${this.name} backend used before prepare()`, "call run(), which prepares the backend"));
    const limit = this.platform.facts.inlinePayloadBytes;
    // The task is serialised once, for its size and for the request alike (remote/wire.ts builds the request).
    let json: string | undefined;
    if (req.task !== undefined) {
      json = JSON.stringify(req.task);
      // A UTF-16 code unit is at most 3 bytes of UTF-8: a short text needs no counting.
      if (json.length * 3 > limit && utf8Bytes(json) > limit) return this.invokeOffloaded(req, json, run, signal);
    }
    return this.send(run, encodeTaskRequest(req.taskIndex, req.attempt, json, undefined, run.keys?.fields(++this.seq)), signal, req.taskIndex);
  }

  /** A task over the inline limit goes by reference: uploaded once, then sent as any other. */
  private async invokeOffloaded(req: InvokeRequest, json: string, run: Current, signal: AbortSignal): Promise<InvokeResult> {
    const key = await this.offload(req, json, run, signal);
    return this.send(run, encodeTaskRequest(req.taskIndex, req.attempt, undefined, key, run.keys?.fields(++this.seq)), signal, req.taskIndex);
  }

  /**
   * Sends one attempt and opens its answer. Not an async function: an attempt in flight holds its `Pending` (the run,
   * the body for a resend, the signal), carried by the platform's request where it can (`sendThen`), else one
   * continuation on `send`.
   */
  private send(run: Current, body: string, signal: AbortSignal, taskIndex: number): Promise<InvokeResult> {
    const p = this.platform;
    const next = new Pending(this, run, body, signal, taskIndex);
    let sent: Promise<InvokeResult>;
    try {
      sent = p.sendThen ? p.sendThen(run.name, body, signal, next) : p.send(run.name, body, signal).then((a) => next.answered(a), (e: unknown) => next.failed(e));
    } catch (err) {
      sent = Promise.reject(err).catch((e: unknown) => next.failed(e));
    }
    return sent;
  }

  /**
   * A failed send: the function vanished (another run deleted it) is redeployed and sent once more; the rest throws.
   * @internal Called by `Pending`.
   */
  async recover(err: unknown, run: Current, body: string, signal: AbortSignal): Promise<Answer> {
    const te = this.classify(err, run.name);
    if (te !== "missing") throw te;
    const d = run.deployment;
    // One redeploy however many attempts find the function gone; ours to delete from now on.
    d.pending ??= this.platform.deploy(d.spec, d.ctx).then(
      () => {
        d.created = true;
        d.pending = undefined;
      },
      (e: unknown) => {
        d.pending = undefined;
        throw e;
      },
    );
    try {
      await d.pending;
      return await this.platform.send(run.name, body, signal);
    } catch (again) {
      if (signal.aborted) throw signal.reason;
      const te2 = again instanceof SuperfaasError ? new TaskError(again.message, { retryable: true, origin: "platform", cause: again }) : this.classify(again, run.name);
      throw te2 === "missing" ? new TaskError(`${this.name} function ${run.name} vanished again right after it was redeployed`, { retryable: true, origin: "platform" }) : te2;
    }
  }

  private classify(err: unknown, name: string): TaskError | "missing" {
    const te = err instanceof TaskError ? err : this.platform.classify(err, name);
    if (te !== "missing" && te.throttled) this.usage.throttled++;
    return te;
  }

  /**
   * Counts the invocation, then turns its answer into a result, or throws its failure carrying what it billed.
   * @internal Called by `Pending`.
   */
  async open(answer: Answer, name: string): Promise<InvokeResult> {
    const u = this.usage;
    u.invocations++;
    if (answer.billedMs !== undefined) u.billedMs += answer.billedMs;
    if (answer.coldStart) u.coldStarts++;
    if (answer.maxMemoryUsedMb !== undefined && answer.maxMemoryUsedMb > u.maxMemoryUsedMb) u.maxMemoryUsedMb = answer.maxMemoryUsedMb;
    let r: InvokeResult;
    try {
      if (answer.failure !== undefined) {
        const te = this.platform.classify(answer.failure, name);
        throw te === "missing" ? new TaskError(`${this.name} function ${name} vanished during the invocation`, { retryable: true, origin: "platform" }) : te;
      }
      const env = answer.envelope as { partialRef?: unknown } | undefined;
      r = env && typeof env === "object" && env.partialRef !== undefined ? await openEnvelopeWithStore(env, this.platform.store) : openEnvelope(env);
    } catch (err) {
      if (err instanceof TaskError) {
        if (answer.billedMs !== undefined) err.billedMs = answer.billedMs;
        if (answer.coldStart !== undefined) err.coldStart = answer.coldStart;
      }
      throw err;
    }
    // The envelope was parsed from this answer and nobody else holds it: the figures go straight into it.
    if (answer.platformId !== undefined) r.platformId = answer.platformId;
    if (answer.durationMs !== undefined) r.durationMs = answer.durationMs;
    if (answer.billedMs !== undefined) r.billedMs = answer.billedMs;
    if (answer.initMs !== undefined) r.initMs = answer.initMs;
    if (answer.waitMs !== undefined) r.waitMs = answer.waitMs;
    if (answer.coldStart !== undefined) r.coldStart = answer.coldStart;
    if (r.workerId === undefined && answer.workerId !== undefined) r.workerId = answer.workerId;
    return r;
  }

  /** Uploads a task too large to send inline, once: every retry of it sends the same key. */
  private offload(req: InvokeRequest, json: string, run: Current, signal: AbortSignal): Promise<string> {
    const p = this.platform;
    const store = p.store;
    if (!store) {
      return Promise.reject(
        new TaskError(`task ${req.taskIndex} is ${utf8Bytes(json)} bytes as JSON, over ${p.inlineLimitText}, and no bucket is configured: pass --bucket`, {
          retryable: false,
          origin: "platform",
        }),
      );
    }
    const task = req.task;
    const byObject = typeof task === "object" && task !== null;
    const known = byObject ? this.offloaded.get(task) : this.offloadedPrimitives.get(task);
    if (known) return known;
    const key = `${run.prefix}tasks/${req.taskIndex}-${++this.seq}.json`;
    const upload = store.put(key, json).then(
      () => key,
      (err: unknown) => {
        // Not remembered: the next attempt uploads again.
        if (byObject) this.offloaded.delete(task);
        else this.offloadedPrimitives.delete(task);
        if (signal.aborted) throw signal.reason;
        throw new TaskError(`could not upload task ${req.taskIndex} to the bucket: ${(err as Error).message}`, { retryable: true, origin: "platform", cause: err });
      },
    );
    if (byObject) this.offloaded.set(task, upload);
    else this.offloadedPrimitives.set(task, upload);
    this.uploads.add(upload);
    void upload.then(
      () => this.uploads.delete(upload),
      () => this.uploads.delete(upload),
    );
    return upload;
  }

  /** What the last prepare made that would outlive this process: the function (when it created it) and the run's prefix. */
  resources(): RunResources {
    const run = this.current;
    if (!run) return {};
    const p = this.platform;
    // A function kept on purpose (--keep) is not the run's to leave behind: `clean` never deletes it, even when the
    // run was killed. Named as shared, a live run's clean still keeps it in use.
    const functions = run.deployment.created && !p.keep ? [run.name] : [];
    return {
      functions,
      ...(functions.length ? {} : { shared: [run.name] }),
      ...(p.store ? { prefixes: [{ prefix: run.prefix }] } : {}),
      ...(p.logGroupOf && functions.length ? { logGroups: functions.map((f) => p.logGroupOf!(f)) } : {}),
    };
  }

  /** What superfaas made on this platform, by run: functions with the owner marker, run prefixes with `owner.json`. */
  async findOwned(ctx: { log?: (message: string) => void }): Promise<{ runId: string; createdAt?: string; resources: RunResources; kept?: string[] }[]> {
    const p = this.platform;
    await p.open({ job: { modulePath: "", jobName: "clean" }, runId: "clean", concurrency: 1, ...(ctx.log ? { log: ctx.log } : {}) });
    const runs = new Map<string, { runId: string; createdAt?: string; resources: RunResources; kept?: string[] }>();
    const of = (runId: string, createdAt?: string) => {
      let r = runs.get(runId);
      if (!r) runs.set(runId, (r = { runId, resources: {} }));
      if (createdAt && (!r.createdAt || createdAt < r.createdAt)) r.createdAt = createdAt;
      return r;
    };
    try {
      for (const f of (await p.listOwned?.()) ?? []) {
        const r = of(f.owner.runId, f.owner.createdAt);
        if (f.owner.kept) {
          // Kept with --keep: named, never offered for deletion (nor its log group).
          (r.kept ??= []).push(f.name);
          continue;
        }
        (r.resources.functions ??= []).push(f.name);
        if (p.logGroupOf) (r.resources.logGroups ??= []).push(p.logGroupOf(f.name));
      }
      const store = p.store;
      if (store?.listPrefixes) {
        for (const prefix of await store.listPrefixes("superfaas/")) {
          let owner: Partial<OwnerMarker> | undefined;
          try {
            owner = JSON.parse(await store.get(prefix + OWNER_OBJECT)) as Partial<OwnerMarker>;
          } catch {
            continue; // no owner marker: not a run prefix superfaas can vouch for
          }
          if (owner?.tool !== "superfaas" || typeof owner.runId !== "string" || prefix !== `superfaas/${owner.runId}/`) continue;
          (of(owner.runId, owner.createdAt).resources.prefixes ??= []).push({ prefix });
        }
      }
    } finally {
      p.store?.destroy?.();
      await p.close();
    }
    return [...runs.values()];
  }

  /**
   * Deletes what a dead run left (`superfaas clean`): its prefixes (owner marker first, as `dispose` does), functions
   * and log groups. Opens the platform as a prepare would, without deploying anything.
   */
  async release(resources: RunResources, ctx: { log?: (message: string) => void }): Promise<void> {
    const p = this.platform;
    await p.open({ job: { modulePath: "", jobName: "clean" }, runId: "clean", concurrency: 1, ...(ctx.log ? { log: ctx.log } : {}) });
    const store = p.store;
    const errors: string[] = [];
    const attempt = (what: string, work: Promise<unknown>) => work.catch((err: unknown) => void errors.push(`${what}: ${(err as Error).message}`));
    const work: Promise<unknown>[] = [];
    for (const { prefix } of resources.prefixes ?? []) {
      if (!prefix.startsWith("superfaas/")) continue; // never anything superfaas did not name
      if (store) work.push(attempt(`prefix ${prefix}`, store.delete(prefix + OWNER_OBJECT).then(() => store.deletePrefix(prefix))));
      else errors.push(`prefix ${prefix}: no bucket is configured to delete it from (pass --bucket)`);
    }
    const gone = (name: string) => (err: unknown) => {
      // Already deleted (another clean, a resume that ended): nothing left to do.
      if (p.classify(err, name) !== "missing") throw err;
    };
    for (const name of resources.functions ?? []) if (name.startsWith("superfaas-")) work.push(attempt(`function ${name}`, p.remove(name).catch(gone(name))));
    await Promise.all(work);
    if (p.removeLogGroup) for (const g of resources.logGroups ?? []) if (g.includes("/superfaas-")) await attempt(`log group ${g}`, p.removeLogGroup(g));
    store?.destroy?.();
    await p.close();
    if (errors.length) throw new SuperfaasError("BACKEND_CONFIG", `${p.name}: could not delete ${errors.join("; ")}`, "check the backend's settings and credentials, then run `superfaas clean` again");
  }

  /**
   * Deletes what this backend made: each run's objects (the owner marker first, so a partial that an invocation still
   * running writes afterwards is deleted by that invocation) and the functions it created, not the ones it found.
   */
  async dispose(): Promise<void> {
    const p = this.platform;
    await Promise.allSettled([...this.uploads]);
    await Promise.allSettled([...this.deployments.values()].map((d) => d.pending));
    const work: Promise<unknown>[] = [];
    const store = p.store;
    if (store) {
      for (const prefix of this.prefixes) {
        work.push(
          store
            .delete(prefix + OWNER_OBJECT)
            .then(() => store.deletePrefix(prefix))
            .catch(noop),
        );
      }
    }
    if (!p.keep) for (const [name, d] of this.deployments) if (d.created) work.push(p.remove(name).catch(noop));
    await Promise.all(work);
    this.deployments.clear();
    this.prefixes.clear();
    this.offloadedPrimitives.clear();
    this.current = undefined;
    store?.destroy?.();
    await p.close();
  }
}
