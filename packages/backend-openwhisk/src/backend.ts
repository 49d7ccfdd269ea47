import { statSync } from "node:fs";
import { Agent as HttpAgent, STATUS_CODES } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import openwhisk from "openwhisk";
import {
  bundleJob,
  entryModulePath,
  openEnvelope,
  openEnvelopeWithStore,
  SuperfaasError,
  TaskError,
  utf8Bytes,
  zipBundle,
  type Backend,
  type BackendFacts,
  type Bundle,
  type InvokeRequest,
  type JobRef,
  type InvokeResult,
  type PrepareContext,
} from "@superfaas/core";
import type { S3Store } from "@superfaas/store-s3";
import { S3_PARAM } from "./wire.js";
import { resolveOpenWhiskConfig, type OpenWhiskConfig, type OpenWhiskOptions } from "./config.js";
import { proxyFromEnv, Transport, type HttpAnswer } from "./transport.js";

/** The platform's documented limits on parameters and results (1 MB each); we keep a margin for the envelope. */
export const OPENWHISK_PAYLOAD_LIMIT = 1024 * 1024;
const INLINE_LIMIT = OPENWHISK_PAYLOAD_LIMIT - 16 * 1024;
interface Activation {
  activationId: string;
  duration?: number;
  response?: { status?: string; statusCode?: number; success?: boolean; result?: Record<string, unknown> };
  annotations?: { key: string; value: unknown }[];
}

/** What the `openwhisk` client rejects with (management calls). */
interface OwError extends Error {
  statusCode?: number;
  error?: Record<string, unknown> & { error?: unknown };
}

/** An activation record: what a blocking invoke answers once the activation ended, and what polling fetches. */
const isRecord = (v: unknown): v is Activation =>
  typeof v === "object" && v !== null && typeof (v as { activationId?: unknown }).activationId === "string" && typeof (v as { response?: unknown }).response === "object";

/** What the controller answers (HTTP 202) for an accepted activation whose result is not there yet. */
const isPending = (v: unknown): v is { activationId: string } =>
  typeof v === "object" && v !== null && typeof (v as { activationId?: unknown }).activationId === "string" && !("response" in v);

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });

/** Runs each task as an OpenWhisk activation of one action made from the job. */
export class OpenWhiskBackend implements Backend {
  readonly name = "openwhisk";
  readonly facts: BackendFacts;
  readonly config: OpenWhiskConfig;
  /** Management calls (deploy, delete): the `openwhisk` client, a few requests a run. */
  private readonly client: ReturnType<typeof openwhisk>;
  private readonly agent: HttpAgent;
  /** The hot path (invokes and activation polls), made in prepare with one connection per attempt in flight. */
  private transport: Transport | undefined;
  /** The invoke path of the prepared action, made once per run. */
  private invokePath: string | undefined;
  /** Made in prepare when a bucket is configured: runs without one never load the AWS SDK. */
  private store: S3Store | undefined;
  private runPrefix = "";
  /** Every run's object-store prefix, so dispose cleans up after all the runs this backend served, not just the last. */
  private readonly runPrefixes = new Set<string>();
  private readonly deployed = new Set<string>();
  private readonly bundles = new Map<string, { mtimeMs: number; bundle: Bundle }>();

  constructor(options: OpenWhiskOptions = {}) {
    this.config = resolveOpenWhiskConfig(options);
    this.facts = { defaultConcurrency: this.config.maxInFlight, inlinePayloadBytes: INLINE_LIMIT };
    // Keep-alive sockets for the management calls (the invocations have their own pool, see prepare). Idle sockets
    // are closed after 30 s, before proxies in front of the controller (nginx, OpenShift's router) drop them:
    // reusing a socket that the other side is closing fails the request with ECONNRESET.
    const agentOptions = { keepAlive: true, timeout: 30_000, maxSockets: 8, maxFreeSockets: 8 };
    this.agent = this.config.apihost.startsWith("https:")
      ? new HttpsAgent({ ...agentOptions, rejectUnauthorized: !this.config.insecure })
      : new HttpAgent(agentOptions);
    this.client = openwhisk({
      apihost: this.config.apihost,
      api_key: this.config.auth,
      namespace: this.config.namespace,
      ignore_certs: this.config.insecure,
      agent: this.agent,
    } as Parameters<typeof openwhisk>[0]);
  }

  async prepare(ctx: PrepareContext): Promise<void> {
    if (this.config.s3 && !this.store) {
      const { S3Store } = await import("@superfaas/store-s3");
      this.store = new S3Store(this.config.s3);
    }
    const bundle = await this.bundle(ctx.job);
    const name = `superfaas-${ctx.job.jobName}-${bundle.hash.slice(0, 12)}`;
    this.runPrefix = `superfaas/${ctx.runId}/`;
    if (this.store) this.runPrefixes.add(this.runPrefix);
    // One connection per attempt in flight (a blocking invoke holds its connection until the activation ends),
    // and a few for the polls of activations that outlived the blocking window.
    const connections = ctx.concurrency + 4;
    if (this.transport?.connections !== connections) {
      // A new run with another width: the old pool closes once its requests (none, between runs) are done.
      void this.transport?.close(true);
      this.transport = new Transport({
        apihost: this.config.apihost,
        auth: this.config.auth,
        namespace: this.config.namespace,
        insecure: this.config.insecure,
        connections,
        proxy: proxyFromEnv(),
      });
    }
    this.invokePath = this.transport.invokePath(name);
    if (this.deployed.has(name)) return;
    if (this.store) await this.store.ensureBucket();
    const zip = await zipBundle(bundle, "index.js");
    ctx.log?.(`openwhisk: deploying action ${name} (${(zip.length / 1024).toFixed(0)} KB zip, kind ${this.config.kind})`);
    try {
      // code=false: only whether it exists matters, not its (megabytes of) code.
      const exists = await this.client.actions.get({ name, code: false } as never).then(
        () => true,
        (e: OwError) => (e.statusCode === 404 ? false : Promise.reject(e)),
      );
      if (!exists) {
        await this.client.actions.update({
          name,
          action: {
            exec: { kind: this.config.kind, code: Buffer.from(zip).toString("base64"), binary: true },
            limits: { timeout: this.config.actionTimeoutMs, memory: this.config.memory, logs: 10, concurrency: this.config.actionConcurrency },
            parameters: this.config.s3 ? [{ key: S3_PARAM, value: this.config.s3 }] : [],
            annotations: [{ key: "superfaas-job", value: ctx.job.jobName }, { key: "superfaas-hash", value: bundle.hash }],
          },
        } as never);
      }
    } catch (err) {
      throw this.configError(err, `deploying action ${name}`);
    }
    this.deployed.add(name);
  }

  /**
   * The job's action code. Within one backend's life an unchanged job module (same path, same modification time) is
   * bundled once: with a bucket the bundle carries the AWS SDK, and esbuild then takes most of a second per run. A
   * change to a module the job imports is picked up by the next backend (the CLI makes one per run).
   */
  private async bundle(job: JobRef): Promise<Bundle> {
    const key = `${job.modulePath}\0${job.jobName}\0${this.store ? "s3" : ""}`;
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
      target: this.store ? "openwhisk-s3" : "openwhisk",
      entry: entryModulePath(import.meta.url, "action-entry"),
      // Without a bucket the action never opens the store: leave the AWS SDK out of its zip.
      ...(this.store ? {} : { external: ["@superfaas/store-s3"] }),
      format: "cjs",
      nodeTarget: "node20",
    });
    this.bundles.set(key, { mtimeMs, bundle });
    return bundle;
  }

  private configError(err: unknown, doing: string): SuperfaasError {
    const e = err as OwError;
    const body = typeof e.error?.error === "string" ? e.error.error : e.message;
    if (e.statusCode === 401 || e.statusCode === 403) {
      return new SuperfaasError("BACKEND_CONFIG", `openwhisk refused the credentials while ${doing} (HTTP ${e.statusCode}): ${body}`, "check --auth / __OW_API_KEY / AUTH in ~/.wskprops and the namespace", { cause: err });
    }
    if (e.statusCode) return new SuperfaasError("BACKEND_CONFIG", `openwhisk answered HTTP ${e.statusCode} while ${doing}: ${body}`, "check the action limits and the deployment's settings", { cause: err });
    return new SuperfaasError("BACKEND_CONFIG", `cannot reach openwhisk at ${this.config.apihost} while ${doing}: ${e.message}`, "check --apihost (and --insecure for self-signed certificates)", { cause: err });
  }

  async invoke(req: InvokeRequest, signal: AbortSignal): Promise<InvokeResult> {
    const transport = this.transport;
    if (!transport || !this.invokePath) throw new SuperfaasError("INTERNAL", "openwhisk backend used before prepare()", "call run(), which prepares the backend");
    // The body is put together by hand: the task is serialised once, for its size and for the request alike.
    let taskJson = req.task === undefined ? undefined : JSON.stringify(req.task);
    let taskRef: string | undefined;
    // A UTF-16 code unit is at most 3 bytes of UTF-8: a short text needs no counting.
    if (taskJson !== undefined && taskJson.length * 3 > INLINE_LIMIT && utf8Bytes(taskJson) > INLINE_LIMIT) {
      if (!this.store) {
        throw new TaskError(`task ${req.taskIndex} is ${utf8Bytes(taskJson)} bytes, over OpenWhisk's 1 MB parameter limit, and no bucket is configured`, {
          retryable: false,
          origin: "platform",
        });
      }
      taskRef = `${this.runPrefix}tasks/${req.taskIndex}.json`;
      await this.store.put(taskRef, taskJson);
      taskJson = undefined;
    }
    let body = `{"taskIndex":${req.taskIndex},"attempt":${req.attempt}`;
    if (taskJson !== undefined) body += `,"task":${taskJson}`;
    if (taskRef !== undefined) body += `,"taskRef":${JSON.stringify(taskRef)}`;
    if (this.store) body += `,"resultKey":${JSON.stringify(`${this.runPrefix}results/${req.taskIndex}-${req.attempt}.json`)},"maxInlineBytes":${INLINE_LIMIT}`;
    body += "}";
    const activation = await this.activate(transport, this.invokePath, body, signal);
    return this.toResult(activation);
  }

  /** Blocking invoke; falls back to polling when the platform's blocking window (60 s) runs out first. */
  private async activate(transport: Transport, path: string, body: string, signal: AbortSignal): Promise<Activation> {
    const startedAt = performance.now();
    let answer: HttpAnswer;
    try {
      // The signal reaches the request: an aborted attempt destroys its connection at once instead of holding one
      // of the pool's connections until the blocking window ends.
      answer = await transport.post(path, body, signal);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw this.networkError(transport, path, err);
    }
    const { status, body: record } = answer;
    if (isRecord(record)) {
      // 200 for a success; an activation that ran and failed comes back with its record too: 502 for application
      // and developer errors, 500 for whisk internal errors. The record says more than the status does.
      if (status < 300 || status === 500 || status === 502) return record;
    } else if (status < 300 && isPending(record)) {
      // 202: the blocking window ran out first, the activation is still running. Poll for its record.
      return this.poll(transport, record.activationId, startedAt, signal);
    }
    throw this.httpError(status, record);
  }

  private async poll(transport: Transport, activationId: string, invokedAt: number, signal: AbortSignal): Promise<Activation> {
    // An activation that is still not recorded well after the action's own time limit is lost: run it again.
    const giveUpAt = invokedAt + this.config.actionTimeoutMs + this.config.activationGraceMs;
    const path = transport.activationPath(activationId);
    for (let i = 0; ; i++) {
      await sleep(Math.min(2_000, 100 * 2 ** i), signal);
      let answer: HttpAnswer | undefined;
      try {
        answer = await transport.get(path, signal);
      } catch {
        if (signal.aborted) throw signal.reason;
        // A network error while polling: the activation goes on regardless, so keep polling (until giveUpAt).
      }
      if (answer) {
        if (answer.status === 200 && isRecord(answer.body)) return answer.body;
        if (answer.status !== 404) {
          const te = this.httpError(answer.status, answer.body);
          if (!te.retryable) throw te;
        }
      }
      if (performance.now() > giveUpAt) {
        throw new TaskError(`activation ${activationId} was never recorded (lost by the platform)`, { retryable: true, origin: "platform" });
      }
    }
  }

  private networkError(transport: Transport, path: string, err: unknown): TaskError {
    const e = err as Error & { code?: string };
    const message = e?.message || e?.code || String(err);
    return new TaskError(`openwhisk system error: cannot reach ${transport.url(path)}: ${message}`, { retryable: true, origin: "platform", cause: err });
  }

  /** A refused request: the controller's JSON `{error}` when there is one, else the status's own words. */
  private httpError(status: number, body: unknown): TaskError {
    const said = body && typeof body === "object" ? (body as { error?: unknown }).error : undefined;
    const text = typeof said === "string" ? said : status >= 400 ? (STATUS_CODES[status] ?? "error") : `unexpected answer ${JSON.stringify(body)?.slice(0, 200)}`;
    if (status === 429) {
      return new TaskError(`openwhisk throttled the invocation: ${text}`, {
        retryable: true,
        origin: "platform",
        throttled: true,
        // The per-minute limit frees up slowly: give it a second; concurrency frees up as activations end.
        retryAfterMs: /minute/i.test(text) ? 1_000 : 0,
      });
    }
    if (status >= 500 || status < 400) return new TaskError(`openwhisk system error (HTTP ${status}): ${text}`, { retryable: true, origin: "platform" });
    if (status === 413) return new TaskError(`openwhisk refused the payload as too large (HTTP 413): ${text}`, { retryable: false, origin: "platform" });
    return new TaskError(`openwhisk refused the invocation (HTTP ${status}): ${text}`, { retryable: false, origin: "platform" });
  }

  private async toResult(a: Activation): Promise<InvokeResult> {
    const response = a.response;
    const status = response?.status;
    const result = response?.result;
    // Success: the envelope is the result. A failed attempt: the action put its envelope in `error` (see entry).
    const envelope = result && typeof result === "object" && "ok" in result ? result : result?.error && typeof result.error === "object" && "ok" in (result.error as object) ? result.error : undefined;
    if (envelope && (status === "success" || status === "application error")) {
      const r = (envelope as { partialRef?: unknown }).partialRef === undefined ? openEnvelope(envelope) : await openEnvelopeWithStore(envelope, this.store);
      // The envelope was parsed from this answer and nobody else holds it: the platform's figures go straight
      // into it rather than into a copy.
      let waitMs: number | undefined;
      let initMs: number | undefined;
      const notes = a.annotations;
      if (notes) {
        for (let i = 0; i < notes.length; i++) {
          const n = notes[i]!;
          if (n.key === "waitTime") waitMs = n.value as number;
          else if (n.key === "initTime") initMs = n.value as number;
        }
      }
      r.platformId = a.activationId;
      if (a.duration !== undefined) {
        r.durationMs = a.duration;
        r.billedMs = a.duration;
      }
      if (waitMs !== undefined) r.waitMs = waitMs;
      if (initMs !== undefined) r.initMs = initMs;
      r.coldStart = initMs !== undefined;
      if (r.workerId === undefined) r.workerId = a.activationId;
      return r;
    }
    const error = result?.error;
    const message = typeof error === "string" ? error : typeof (error as { message?: unknown })?.message === "string" ? (error as { message: string }).message : JSON.stringify(result ?? {});
    if (status === "application error") {
      // An application error without our envelope did not come from map: the platform refused the result (over
      // 1 MB without a bucket) or the action's own code failed outside runTask. Both happen again on a retry.
      throw new TaskError(`openwhisk activation ${a.activationId} failed: ${message}`, { retryable: false, origin: "platform" });
    }
    if (status === "action developer error" && /Initialization has failed|Cannot find module|SyntaxError/.test(message)) {
      throw new TaskError(`openwhisk could not start the action: ${message}`, { retryable: false, origin: "platform" });
    }
    // Container crashes, action timeouts and whisk internal errors: the platform failed this attempt, not the job.
    throw new TaskError(`openwhisk activation ${a.activationId} ended with "${status ?? "no status"}": ${message}`, { retryable: true, origin: "platform" });
  }

  async dispose(): Promise<void> {
    const tasks: Promise<unknown>[] = [];
    if (!this.config.keep) for (const name of this.deployed) tasks.push(this.client.actions.delete({ name }).catch(() => undefined));
    if (this.store) for (const prefix of this.runPrefixes) tasks.push(this.store.deletePrefix(prefix).catch(() => undefined));
    await Promise.all(tasks);
    this.deployed.clear();
    this.runPrefixes.clear();
    this.store?.destroy();
    this.store = undefined;
    this.agent.destroy();
    await this.transport?.close();
    this.transport = undefined;
    this.invokePath = undefined;
  }
}
