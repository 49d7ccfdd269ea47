import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import openwhisk from "openwhisk";
import {
  bundleJob,
  openEnvelopeWithStore,
  SuperfaasError,
  TaskError,
  utf8Bytes,
  zipBundle,
  type Backend,
  type BackendFacts,
  type InvokeRequest,
  type InvokeResult,
  type PrepareContext,
  type TaskPayload,
} from "@superfaas/core";
import { S3Store } from "@superfaas/store-s3";
import { resolveOpenWhiskConfig, type OpenWhiskConfig, type OpenWhiskOptions } from "./config.js";

/** The platform's documented limits on parameters and results (1 MB each); we keep a margin for the envelope. */
export const OPENWHISK_PAYLOAD_LIMIT = 1024 * 1024;
const INLINE_LIMIT = OPENWHISK_PAYLOAD_LIMIT - 16 * 1024;
const S3_PARAM = "__superfaas_s3";

// The action: a zip whose index.js exports main(params). It loads the job once per container.
const entry = (withStore: boolean) => `
import * as mod from JOB_MODULE;
import { findJob, runTask } from CORE_RUNTIME;
import { hostname } from "node:os";
${withStore ? `import { S3Store } from "@superfaas/store-s3";` : ""}
const job = findJob(mod, JOB_NAME);
const workerId = "openwhisk:" + hostname() + ":" + process.pid;
let store;
export async function main(params) {
  const { ${S3_PARAM}: s3, ...payload } = params;
  ${withStore ? `if (s3 && !store) store = new S3Store(s3);` : ""}
  return runTask(job, payload, workerId, store);
}
`;

interface Activation {
  activationId: string;
  duration?: number;
  response?: { status?: string; statusCode?: number; success?: boolean; result?: Record<string, unknown> };
  annotations?: { key: string; value: unknown }[];
}

interface OwError extends Error {
  statusCode?: number;
  error?: Record<string, unknown> & { error?: unknown; response?: Activation["response"]; activationId?: string };
  activationId?: string;
}

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
  private readonly client: ReturnType<typeof openwhisk>;
  private readonly agent: HttpAgent;
  private readonly store: S3Store | undefined;
  private action: string | undefined;
  private runPrefix = "";
  private readonly deployed = new Set<string>();

  constructor(options: OpenWhiskOptions = {}) {
    this.config = resolveOpenWhiskConfig(options);
    this.facts = { defaultConcurrency: this.config.maxInFlight, inlinePayloadBytes: INLINE_LIMIT };
    // One keep-alive pool for every call: thousands of tasks reuse a few sockets instead of opening thousands.
    const agentOptions = { keepAlive: true, maxSockets: this.config.maxInFlight + 4, maxFreeSockets: this.config.maxInFlight + 4 };
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
    this.store = this.config.s3 ? new S3Store(this.config.s3) : undefined;
  }

  async prepare(ctx: PrepareContext): Promise<void> {
    const bundle = await bundleJob({ job: ctx.job, target: "openwhisk", entry: entry(Boolean(this.store)), format: "cjs", nodeTarget: "node20" });
    const name = `superfaas-${ctx.job.jobName}-${bundle.hash.slice(0, 12)}`;
    this.runPrefix = `superfaas/${ctx.runId}/`;
    this.agent.maxSockets = ctx.concurrency + 4;
    this.agent.maxFreeSockets = ctx.concurrency + 4;
    this.action = name;
    if (this.deployed.has(name)) return;
    if (this.store) await this.store.ensureBucket();
    const zip = await zipBundle(bundle, "index.js");
    ctx.log?.(`openwhisk: deploying action ${name} (${(zip.length / 1024).toFixed(0)} KB zip, kind ${this.config.kind})`);
    try {
      const exists = await this.client.actions.get({ name }).then(
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
    const name = this.action;
    if (!name) throw new SuperfaasError("INTERNAL", "openwhisk backend used before prepare()", "call run(), which prepares the backend");
    const payload: TaskPayload = { taskIndex: req.taskIndex, attempt: req.attempt, task: req.task };
    const taskJson = JSON.stringify(req.task);
    if (utf8Bytes(taskJson) > INLINE_LIMIT) {
      if (!this.store) {
        throw new TaskError(`task ${req.taskIndex} is ${utf8Bytes(taskJson)} bytes, over OpenWhisk's 1 MB parameter limit, and no bucket is configured`, {
          retryable: false,
          origin: "platform",
        });
      }
      const key = `${this.runPrefix}tasks/${req.taskIndex}.json`;
      await this.store.put(key, taskJson);
      delete payload.task;
      payload.taskRef = key;
    }
    if (this.store) {
      payload.resultKey = `${this.runPrefix}results/${req.taskIndex}-${req.attempt}.json`;
      payload.maxInlineBytes = INLINE_LIMIT;
    }
    const activation = await this.activate(name, payload, signal);
    return this.toResult(activation);
  }

  /** Blocking invoke; falls back to polling when the platform's blocking window (60 s) runs out first. */
  private async activate(name: string, params: TaskPayload, signal: AbortSignal): Promise<Activation> {
    const call = this.client.actions.invoke({ name, params: params as never, blocking: true, result: false }) as Promise<Activation>;
    let aborted: (() => void) | undefined;
    const abort = new Promise<never>((_, reject) => {
      aborted = () => reject(signal.reason);
      signal.addEventListener("abort", aborted, { once: true });
    });
    try {
      return await Promise.race([call, abort]);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const e = err as OwError;
      // The client rejects a 202 (blocking window over) with the plain {activationId} object.
      const pending = !(err instanceof Error) && typeof (err as { activationId?: unknown }).activationId === "string";
      if (pending) return this.poll((err as { activationId: string }).activationId, signal);
      if (e.statusCode === 502 && e.error?.response) return e.error as unknown as Activation;
      throw this.invokeError(e);
    } finally {
      if (aborted) signal.removeEventListener("abort", aborted);
      call.catch(() => undefined);
    }
  }

  private async poll(activationId: string, signal: AbortSignal): Promise<Activation> {
    // An activation that is still not recorded well after the action's own time limit is lost: run it again.
    const giveUpAt = performance.now() + this.config.actionTimeoutMs + 60_000;
    for (let i = 0; ; i++) {
      await sleep(Math.min(2_000, 100 * 2 ** i), signal);
      try {
        return (await this.client.activations.get({ name: activationId } as never)) as Activation;
      } catch (err) {
        const e = err as OwError;
        if (e.statusCode !== 404) {
          const te = this.invokeError(e);
          if (!te.retryable) throw te;
        }
        if (performance.now() > giveUpAt) {
          throw new TaskError(`activation ${activationId} was never recorded (lost by the platform)`, { retryable: true, origin: "platform" });
        }
      }
    }
  }

  private invokeError(e: OwError): TaskError {
    const body = e.error && typeof e.error.error === "string" ? e.error.error : e.message;
    const status = e.statusCode;
    if (status === 429) {
      return new TaskError(`openwhisk throttled the invocation: ${body}`, {
        retryable: true,
        origin: "platform",
        throttled: true,
        // The per-minute limit frees up slowly: give it a second; concurrency frees up as activations end.
        retryAfterMs: /minute/i.test(body) ? 1_000 : 0,
      });
    }
    if (status === undefined || status >= 500) return new TaskError(`openwhisk system error${status ? ` (HTTP ${status})` : ""}: ${body}`, { retryable: true, origin: "platform", cause: e });
    if (status === 413) return new TaskError(`openwhisk refused the payload as too large (HTTP 413): ${body}`, { retryable: false, origin: "platform" });
    return new TaskError(`openwhisk refused the invocation (HTTP ${status}): ${body}`, { retryable: false, origin: "platform" });
  }

  private async toResult(a: Activation): Promise<InvokeResult> {
    const status = a.response?.status;
    const result = a.response?.result;
    const note = (k: string) => a.annotations?.find((x) => x.key === k)?.value as number | undefined;
    const stats = {
      platformId: a.activationId,
      ...(a.duration !== undefined ? { durationMs: a.duration, billedMs: a.duration } : {}),
      ...(note("waitTime") !== undefined ? { waitMs: note("waitTime") } : {}),
      ...(note("initTime") !== undefined ? { initMs: note("initTime") } : {}),
      coldStart: note("initTime") !== undefined,
    };
    const envelope = result && typeof result === "object" && "ok" in result ? result : result?.error && typeof result.error === "object" && "ok" in (result.error as object) ? result.error : undefined;
    if (envelope && (status === "success" || status === "application error")) {
      const r = await openEnvelopeWithStore(envelope, this.store);
      return { ...r, ...stats, workerId: r.workerId ?? a.activationId };
    }
    const message = typeof result?.error === "string" ? result.error : JSON.stringify(result ?? {});
    if (status === "action developer error" && /Initialization has failed|Cannot find module|SyntaxError/.test(message)) {
      throw new TaskError(`openwhisk could not start the action: ${message}`, { retryable: false, origin: "platform" });
    }
    // Container crashes, action timeouts and whisk internal errors: the platform failed this attempt, not the job.
    throw new TaskError(`openwhisk activation ${a.activationId} ended with "${status ?? "no status"}": ${message}`, { retryable: true, origin: "platform" });
  }

  async dispose(): Promise<void> {
    const tasks: Promise<unknown>[] = [];
    if (!this.config.keep) for (const name of this.deployed) tasks.push(this.client.actions.delete({ name }).catch(() => undefined));
    if (this.store && this.runPrefix) tasks.push(this.store.deletePrefix(this.runPrefix).catch(() => undefined));
    await Promise.all(tasks);
    this.deployed.clear();
    this.store?.destroy();
    this.agent.destroy();
  }
}
