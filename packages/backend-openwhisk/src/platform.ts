// OpenWhisk's part of the function lifecycle: the action's deployment, the invocation transport (blocking invoke,
// activation polling) and what the platform's answers mean. Everything else is core's FunctionBackend.
import { Agent as HttpAgent, STATUS_CODES } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import openwhisk from "openwhisk";
import { entryModulePath, SuperfaasError, TaskError, zipBundle, type Answer, type CloudPlatform, type FunctionSpec, type PrepareContext } from "@superfaas/core";
import type { S3Store } from "@superfaas/store-s3";
import { S3_PARAM } from "./wire.js";
import type { OpenWhiskConfig } from "./config.js";
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

/** An HTTP answer that is not an activation record: what `classify` reads. */
class Refused {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/** A request that never got an answer. */
class Unreachable {
  constructor(
    readonly url: string,
    readonly cause: unknown,
  ) {}
}

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

/** Deploys the job as a zip action and runs each attempt as one blocking activation. */
export class OpenWhiskPlatform implements CloudPlatform {
  readonly name = "openwhisk";
  readonly facts: CloudPlatform["facts"];
  readonly inlineLimitText = "OpenWhisk's 1 MB parameter limit";
  readonly entry = { path: entryModulePath(import.meta.url, "action-entry"), nodeTarget: "node20" };
  readonly storeModules = ["@superfaas/store-s3"];
  readonly keep: boolean;
  /** Made in open when a bucket is configured: runs without one never load the AWS SDK. */
  store: S3Store | undefined;
  /** Management calls (deploy, delete): the `openwhisk` client, a few requests a run. */
  private readonly client: ReturnType<typeof openwhisk>;
  private readonly agent: HttpAgent;
  /** The hot path (invokes and activation polls), with one connection per attempt in flight. */
  private transport: Transport | undefined;
  private readonly paths = new Map<string, string>();

  constructor(readonly config: OpenWhiskConfig) {
    this.keep = config.keep;
    this.facts = { defaultConcurrency: config.maxInFlight, inlinePayloadBytes: INLINE_LIMIT };
    // Keep-alive sockets for the management calls. Idle sockets are closed after 30 s, before proxies in front of the
    // controller (nginx, OpenShift's router) drop them: reusing a socket the other side is closing fails with ECONNRESET.
    const agentOptions = { keepAlive: true, timeout: 30_000, maxSockets: 8, maxFreeSockets: 8 };
    this.agent = config.apihost.startsWith("https:") ? new HttpsAgent({ ...agentOptions, rejectUnauthorized: !config.insecure }) : new HttpAgent(agentOptions);
    this.client = openwhisk({ apihost: config.apihost, api_key: config.auth, namespace: config.namespace, ignore_certs: config.insecure, agent: this.agent } as Parameters<typeof openwhisk>[0]);
  }

  async open(ctx: PrepareContext): Promise<void> {
    const c = this.config;
    if (c.s3 && !this.store) {
      const { S3Store } = await import("@superfaas/store-s3");
      const store = new S3Store(c.s3);
      try {
        await store.ensureBucket();
      } catch (err) {
        store.destroy();
        throw new SuperfaasError("BACKEND_CONFIG", `openwhisk: ${(err as Error).message}`, "pick a bucket these S3 keys may read and write (--bucket), or check --s3-endpoint", { cause: err });
      }
      this.store = store;
    }
    // One connection per attempt in flight (a blocking invoke holds its connection until the activation ends), and
    // a few for the polls of activations that outlived the blocking window.
    const connections = ctx.concurrency + 4;
    if (this.transport?.connections !== connections) {
      // A new run with another width: the old pool closes once its requests are done.
      void this.transport?.close(true);
      this.transport = new Transport({ apihost: c.apihost, auth: c.auth, namespace: c.namespace, insecure: c.insecure, connections, proxy: proxyFromEnv() });
      this.paths.clear();
    }
  }

  settings(): Record<string, unknown> {
    const c = this.config;
    return { kind: c.kind, memory: c.memory, timeoutMs: c.actionTimeoutMs, concurrency: c.actionConcurrency, s3: c.s3 };
  }

  async deploy(spec: FunctionSpec, ctx: PrepareContext): Promise<"created" | "found"> {
    const c = this.config;
    const zip = await zipBundle(spec.bundle, "index.js");
    ctx.log?.(`openwhisk: deploying action ${spec.name} (${(zip.length / 1024).toFixed(0)} KB zip, kind ${c.kind})`);
    try {
      // Without overwrite: an action of this name (same code, same settings) that exists already is another run's.
      await this.client.actions.create({
        name: spec.name,
        overwrite: false,
        action: {
          exec: { kind: c.kind, code: Buffer.from(zip).toString("base64"), binary: true },
          limits: { timeout: c.actionTimeoutMs, memory: c.memory, logs: 10, concurrency: c.actionConcurrency },
          parameters: c.s3 ? [{ key: S3_PARAM, value: c.s3 }] : [],
          annotations: [
            { key: "superfaas-job", value: spec.owner.job },
            { key: "superfaas-hash", value: spec.bundle.hash },
            { key: "superfaas-owner", value: spec.owner },
          ],
        },
      } as never);
      return "created";
    } catch (err) {
      if ((err as OwError).statusCode === 409) return "found";
      throw this.configError(err, `deploying action ${spec.name}`);
    }
  }

  async remove(name: string): Promise<void> {
    await this.client.actions.delete({ name });
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

  /** Blocking invoke; falls back to polling when the platform's blocking window (60 s) runs out first. */
  async send(name: string, body: string, signal: AbortSignal): Promise<Answer> {
    const transport = this.transport!;
    let path = this.paths.get(name);
    if (path === undefined) this.paths.set(name, (path = transport.invokePath(name)));
    const startedAt = performance.now();
    let answer: HttpAnswer;
    try {
      // The signal reaches the request: an aborted attempt destroys its connection at once.
      answer = await transport.post(path, body, signal);
    } catch (err) {
      throw new Unreachable(transport.url(path), err);
    }
    const { status, body: record } = answer;
    // 200 for a success; an activation that ran and failed comes back with its record too: 502 for application and
    // developer errors, 500 for whisk internal errors. The record says more than the status does.
    if (isRecord(record) && (status < 300 || status === 500 || status === 502)) return this.answer(record);
    // 202: the blocking window ran out first, the activation is still running. Poll for its record.
    if (status < 300 && isPending(record)) return this.answer(await this.poll(transport, record.activationId, startedAt, signal));
    throw new Refused(status, record);
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
          const te = this.classify(new Refused(answer.status, answer.body));
          if (te !== "missing" && !te.retryable) throw te;
        }
      }
      if (performance.now() > giveUpAt) throw new TaskError(`activation ${activationId} was never recorded (lost by the platform)`, { retryable: true, origin: "platform" });
    }
  }

  /** The record's envelope (success, or the job's error in `error`: see action-entry) or the record as a failure. */
  private answer(a: Activation): Answer {
    const response = a.response;
    const status = response?.status;
    const result = response?.result;
    const envelope =
      result && typeof result === "object" && "ok" in result ? result : result?.error && typeof result.error === "object" && "ok" in (result.error as object) ? result.error : undefined;
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
    return {
      ...(envelope && (status === "success" || status === "application error") ? { envelope } : { failure: a }),
      platformId: a.activationId,
      workerId: a.activationId,
      durationMs: a.duration,
      billedMs: a.duration,
      waitMs,
      initMs,
      coldStart: initMs !== undefined,
    };
  }

  classify(error: unknown): TaskError | "missing" {
    if (error instanceof TaskError) return error;
    if (error instanceof Unreachable) {
      const e = error.cause as Error & { code?: string };
      return new TaskError(`openwhisk system error: cannot reach ${error.url}: ${e?.message || e?.code || String(e)}`, { retryable: true, origin: "platform", cause: e });
    }
    if (error instanceof Refused) return this.refused(error.status, error.body);
    if (isRecord(error)) return this.failedActivation(error);
    return new TaskError(`openwhisk: ${(error as Error)?.message ?? String(error)}`, { retryable: true, origin: "platform", cause: error });
  }

  /** A refused request: the controller's JSON `{error}` when there is one, else the status's own words. */
  private refused(status: number, body: unknown): TaskError | "missing" {
    const said = body && typeof body === "object" ? (body as { error?: unknown }).error : undefined;
    const text = typeof said === "string" ? said : status >= 400 ? (STATUS_CODES[status] ?? "error") : `unexpected answer ${JSON.stringify(body)?.slice(0, 200)}`;
    if (status === 429) {
      // The per-minute limit frees up slowly: give it a second; concurrency frees up as activations end.
      return new TaskError(`openwhisk throttled the invocation: ${text}`, { retryable: true, origin: "platform", throttled: true, retryAfterMs: /minute/i.test(text) ? 1_000 : 0 });
    }
    if (status === 404) return "missing";
    if (status >= 500 || status < 400) return new TaskError(`openwhisk system error (HTTP ${status}): ${text}`, { retryable: true, origin: "platform" });
    if (status === 413) return new TaskError(`openwhisk refused the payload as too large (HTTP 413): ${text}`, { retryable: false, origin: "platform" });
    return new TaskError(`openwhisk refused the invocation (HTTP ${status}): ${text}`, { retryable: false, origin: "platform" });
  }

  private failedActivation(a: Activation): TaskError {
    const status = a.response?.status;
    const result = a.response?.result;
    const error = result?.error;
    const message = typeof error === "string" ? error : typeof (error as { message?: unknown })?.message === "string" ? (error as { message: string }).message : JSON.stringify(result ?? {});
    if (status === "application error") {
      // An application error without our envelope did not come from map: the platform refused the result (over 1 MB
      // without a bucket) or the action's own code failed outside runTask. Both happen again on a retry.
      return new TaskError(`openwhisk activation ${a.activationId} failed: ${message}`, { retryable: false, origin: "platform" });
    }
    if (status === "action developer error" && /Initialization has failed|Cannot find module|SyntaxError/.test(message)) {
      return new TaskError(`openwhisk could not start the action: ${message}`, { retryable: false, origin: "platform" });
    }
    // Container crashes, action timeouts and whisk internal errors: the platform failed this attempt, not the job.
    return new TaskError(`openwhisk activation ${a.activationId} ended with "${status ?? "no status"}": ${message}`, { retryable: true, origin: "platform" });
  }

  async close(): Promise<void> {
    this.store = undefined;
    this.agent.destroy();
    await this.transport?.close();
    this.transport = undefined;
    this.paths.clear();
  }
}
