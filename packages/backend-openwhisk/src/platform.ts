// OpenWhisk's part of the function lifecycle: the action's deployment, the invocation transport (blocking invoke,
// activation polling) and what the platform's answers mean. Everything else is core's FunctionBackend.
import { STATUS_CODES } from "node:http";
import { entryModulePath, outOfMemoryError, SuperfaasError, TaskError, zipBundle, type Answer, type CloudPlatform, type FunctionSpec, type OwnedFunction, type OwnerMarker, type PrepareContext } from "@superfaas/core";
import type { S3Store } from "@superfaas/store-s3";
import { S3_PARAM } from "./wire.js";
import type { OpenWhiskConfig } from "./config.js";
import { proxyFromEnv, Transport, type HttpAnswer } from "./transport.js";

/** The platform's documented limits on parameters and results (1 MB each); we keep a margin for the envelope. */
export const OPENWHISK_PAYLOAD_LIMIT = 1024 * 1024;
const INLINE_LIMIT = OPENWHISK_PAYLOAD_LIMIT - 16 * 1024;
const ENTRY = entryModulePath(import.meta.url, "action-entry");

interface Activation {
  activationId: string;
  duration?: number;
  response?: { status?: string; success?: boolean; result?: Record<string, unknown> };
  annotations?: { key: string; value: unknown }[];
}

/** The controller's info document (`GET /`, Controller.scala `info`), as far as the backend reads it. */
export interface ControllerInfo {
  limits?: Partial<Record<"actions_per_minute" | "concurrent_actions" | "min_action_memory" | "max_action_memory" | "min_action_duration" | "max_action_duration", number>>;
  runtimes?: Record<string, { kind: string; default?: boolean; deprecated?: boolean }[]>;
}

/** What the backend settled on for the deployment it talks to (read once per backend, in the first prepare). */
export interface Deployment {
  /** The kind sent with the action: the requested one, or the newest Node.js kind offered. */
  kind: string;
  /** Its Node.js major version (what the bundle targets). */
  nodeMajor: number;
  memory: number;
  actionTimeoutMs: number;
  info: ControllerInfo | undefined;
}

const MB = 1024 * 1024;
/** The oldest Node.js the action's bundle can target: esbuild lowers the syntax, not the missing APIs. */
const OLDEST_NODE = 14;
/** Longest text quoted from the platform in one error line. */
const QUOTE_LIMIT = 300;

/** Platform text cut to a readable length, saying how much was left out. */
export function quote(text: string, limit = QUOTE_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length - limit} more characters)`;
}

const nodeMajorOf = (kind: string): number | undefined => {
  const m = /^nodejs:(\d+)$/.exec(kind);
  return m ? Number(m[1]) : undefined;
};

const isHtml = (body: unknown) => typeof body === "string" && /<\s*(!doctype|html|head|body)\b/i.test(body);

const configError = (message: string, hint: string, cause?: unknown) => new SuperfaasError("BACKEND_CONFIG", `openwhisk: ${message}`, hint, cause === undefined ? undefined : { cause });

/** A deadline for one control-plane call, that the run's own signal (Ctrl-C) also ends. */
const deadline = (ms: number, signal: AbortSignal | undefined) => (signal ? AbortSignal.any([signal, AbortSignal.timeout(ms)]) : AbortSignal.timeout(ms));

/**
 * What the invoker records (a developer error) when the action's container was killed for exceeding its memory:
 * Messages.memoryExhausted, apache/openwhisk common/scala/.../http/ErrorResponse.scala, set in ActivationResult.scala.
 */
const MEMORY_EXHAUSTED = "The action exhausted its memory and was aborted.";

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

/**
 * The longest blocking wait the controller allows, from its 400 for a larger `timeout` query parameter: Pekko HTTP's
 * "The query parameter 'timeout' was malformed:" around Messages.invalidTimeout ("Timeout must be number of
 * milliseconds up to 60000.", apache/openwhisk common/scala/.../http/ErrorResponse.scala), in the JSON `{error, code}`.
 */
const maxBlockingWait = (body: unknown): number | undefined => {
  const said = body && typeof body === "object" ? (body as { error?: unknown }).error : undefined;
  if (typeof said !== "string" || !/\btimeout\b/i.test(said)) return undefined;
  const m = /milliseconds up to (\d+)/i.exec(said);
  const ms = m ? Number(m[1]) : Number.NaN;
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
};

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
  readonly storeModules = ["@superfaas/store-s3"];
  readonly keep: boolean;
  /** Made in open when a bucket is configured: runs without one never load the AWS SDK. */
  store: S3Store | undefined;
  /** Every request to the controller: one connection per attempt in flight, a few more for polls and management. */
  private transport: Transport | undefined;
  private readonly paths = new Map<string, string>();
  /** Read from the controller in the first open. */
  deployment: Deployment | undefined;
  /**
   * Blocking invocations ask the controller to answer within this: below any front proxy's limit, and at most the
   * longest wait the controller allows (60 s by default, lowered when it says its maximum is less).
   */
  blockingTimeoutMs: number;
  /** The run's progress log (from open), for the one line saying the controller's maximum wait was found lower. */
  private log: ((message: string) => void) | undefined;
  /** Invocations sent and not yet answered, and the most the namespace allows in flight (its concurrent_actions). */
  private sending = 0;
  private sendLimit = Number.POSITIVE_INFINITY;
  private readonly sendQueue: (() => void)[] = [];

  constructor(readonly config: OpenWhiskConfig) {
    this.keep = config.keep;
    this.facts = { defaultConcurrency: config.maxInFlight, inlinePayloadBytes: INLINE_LIMIT };
    // Room for the way there and back below the front proxy's limit (20%, and half of a short limit); the
    // controller waits 60 s at most. 30 s gives 24 s.
    const margin = Math.max(config.proxyTimeoutMs * 0.2, Math.min(5_000, config.proxyTimeoutMs / 2));
    this.blockingTimeoutMs = Math.max(100, Math.min(60_000, Math.floor(config.proxyTimeoutMs - margin)));
  }

  /** The action's entry, built for the Node.js version of the kind in use (known after the first open). */
  get entry(): { path: string; nodeTarget: string } {
    return { path: ENTRY, nodeTarget: `node${this.deployment?.nodeMajor ?? 20}` };
  }

  /**
   * Reads the deployment's info document before the run is planned: without --concurrency a run keeps the namespace's
   * concurrent_actions in flight, and `tasks: "auto"` makes at most its actions_per_minute tasks, so that a default
   * run fits in a minute of a stock namespace instead of being throttled.
   */
  async discover(ctx: { signal?: AbortSignal; log?: (message: string) => void }): Promise<void> {
    const transport = this.connect(this.transport?.connections ?? this.config.maxInFlight + 4);
    this.deployment ??= await this.read(transport, ctx);
    const l = this.deployment.info?.limits;
    if (!this.config.given.maxInFlight && typeof l?.concurrent_actions === "number" && l.concurrent_actions > 0) this.facts.defaultConcurrency = l.concurrent_actions;
    if (typeof l?.actions_per_minute === "number" && l.actions_per_minute > 0) this.facts.maxAutoTasks = this.facts.invocationsPerMinute = l.actions_per_minute;
  }

  /** The pool to the controller, made again when a run's concurrency needs another size. */
  private connect(connections: number): Transport {
    const c = this.config;
    if (this.transport?.connections !== connections) {
      // A new run with another width: the old pool closes once its requests are done.
      void this.transport?.close(true);
      this.transport = new Transport({
        apihost: c.apihost,
        auth: c.auth,
        namespace: c.namespace,
        insecure: c.insecure,
        connections,
        proxy: proxyFromEnv(),
        blockingTimeoutMs: this.blockingTimeoutMs,
        // No answer may take longer than the blocking wait plus the control-plane deadline: an endpoint that
        // accepts connections and never answers fails every request within that.
        headersTimeoutMs: this.blockingTimeoutMs + c.requestTimeoutMs,
        bodyTimeoutMs: c.requestTimeoutMs,
      });
      this.paths.clear();
    }
    return this.transport;
  }

  async open(ctx: PrepareContext): Promise<void> {
    const c = this.config;
    // One connection per attempt in flight (a blocking invoke holds its connection until the activation ends), and
    // a few for the polls of activations that outlived the blocking window and for management calls.
    const transport = this.connect(ctx.concurrency + 4);
    this.log = ctx.log;
    this.deployment ??= await this.read(transport, ctx);
    const allowed = this.deployment.info?.limits?.concurrent_actions;
    if (typeof allowed === "number" && allowed > 0) {
      // More attempts in flight than the namespace allows would only earn 429s: the rest wait here for a slot.
      this.sendLimit = allowed;
      if (ctx.concurrency > allowed) ctx.log?.(`openwhisk: the namespace allows ${allowed} activations in flight (concurrent_actions): at most ${allowed} of the ${ctx.concurrency} attempts in flight are sent at once`);
    }
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
  }

  /**
   * Reads the controller's info document (runtimes and limits) and settles the kind, memory and time limit against
   * it: anything the deployment does not offer or allow is refused here, before anything is deployed.
   */
  private async read(transport: Transport, ctx: { signal?: AbortSignal; log?: (message: string) => void }): Promise<Deployment> {
    const c = this.config;
    const path = transport.infoPath;
    // The controller serves it to anyone (Controller.scala's `info` route is outside authentication): no credentials.
    const answer = await this.control(transport, "GET without credentials", path, null, ctx.signal, "reading the controller's info document (GET /)");
    let info: ControllerInfo | undefined;
    if (answer.status < 300) {
      const body = answer.body as ControllerInfo | undefined;
      if (!body || typeof body !== "object" || (typeof body.runtimes !== "object" && typeof body.limits !== "object")) throw this.notController(transport.url(path), "GET /", answer);
      info = body;
    } else {
      ctx.log?.(`openwhisk: no info document at ${transport.url(path)} (HTTP ${answer.status}): kinds and limits are not checked before deploying`);
    }
    const { kind, nodeMajor } = this.chooseKind(info);
    const l = info?.limits ?? {};
    const memory = this.bounded("--memory", c.memory, c.given.memory, l.min_action_memory, l.max_action_memory, MB, "MB", "max_action_memory");
    const actionTimeoutMs = this.bounded("--action-timeout", c.actionTimeoutMs, c.given.actionTimeout, l.min_action_duration, l.max_action_duration, 1, "ms", "max_action_duration");
    return { kind, nodeMajor, memory, actionTimeoutMs, info };
  }

  /** The requested kind if the deployment offers it, else (none requested) the newest Node.js kind it offers. */
  private chooseKind(info: ControllerInfo | undefined): { kind: string; nodeMajor: number } {
    const requested = this.config.kind;
    const runtimes = info?.runtimes?.nodejs ?? [];
    const offered = runtimes.map((r) => r.kind).filter((k) => nodeMajorOf(k) !== undefined);
    const all = Object.values(info?.runtimes ?? {}).flatMap((family) => (Array.isArray(family) ? family.map((r) => r.kind) : []));
    const valid = [...offered, ...(offered.length ? ["nodejs:default"] : [])].join(", ");
    let kind: string;
    let nodeMajor: number | undefined;
    if (requested && requested !== "nodejs:default") {
      if (info?.runtimes && !offered.includes(requested)) {
        throw configError(`this deployment does not offer --kind ${requested}: its Node.js kinds are ${valid || "none"}`, offered.length ? `pass --kind ${offered.at(-1)}, or leave --kind out for the newest` : `its runtimes are ${all.join(", ") || "none"}: ask the operator to add a Node.js runtime`);
      }
      kind = requested;
      nodeMajor = nodeMajorOf(requested);
    } else if (requested === "nodejs:default" || !info?.runtimes) {
      kind = "nodejs:default";
      const std = runtimes.find((r) => r.default)?.kind;
      // Without the document the default kind's version is unknown: build for the oldest one the bundles support.
      nodeMajor = std ? nodeMajorOf(std) : OLDEST_NODE;
      if (info?.runtimes && !std) throw configError(`this deployment has no default Node.js kind: its Node.js kinds are ${valid || "none"}`, "pass --kind with one of them");
    } else {
      const usable = runtimes.filter((r) => !r.deprecated && nodeMajorOf(r.kind) !== undefined);
      const newest = (usable.length ? usable : runtimes.filter((r) => nodeMajorOf(r.kind) !== undefined)).sort((a, b) => nodeMajorOf(b.kind)! - nodeMajorOf(a.kind)!)[0];
      if (!newest) throw configError(`this deployment offers no Node.js kind (its kinds: ${all.join(", ") || "none"})`, "ask the operator to add a Node.js runtime (nodejs:18 or later) to the runtimes manifest");
      kind = newest.kind;
      nodeMajor = nodeMajorOf(kind);
    }
    if (nodeMajor === undefined || nodeMajor < OLDEST_NODE) {
      throw configError(`kind ${kind} runs Node.js ${nodeMajor}, older than Node.js ${OLDEST_NODE}, the oldest the action's bundle can run on`, `pass --kind with a newer Node.js kind${valid ? ` (${valid})` : ""}, or ask the operator to add nodejs:20`);
    }
    return { kind, nodeMajor };
  }

  /** A limit checked against the deployment's bounds: a given value outside is refused, the default moves inside. */
  private bounded(flag: string, value: number, given: boolean, min: number | undefined, max: number | undefined, unit: number, unitName: string, maxName: string): number {
    const lo = typeof min === "number" ? Math.ceil(min / unit) : undefined;
    const hi = typeof max === "number" ? Math.floor(max / unit) : undefined;
    if ((lo === undefined || value >= lo) && (hi === undefined || value <= hi)) return value;
    if (!given) return Math.min(hi ?? value, Math.max(lo ?? value, value));
    const show = (v: number | undefined) => (v === undefined ? "?" : unitName === "ms" ? `${v / 1000} s` : `${v} MB`);
    const shown = unitName === "ms" ? `${value / 1000} s` : `${value} MB`;
    throw configError(
      `${flag} ${shown} is outside this deployment's action limits (${show(lo)} to ${show(hi)}, from its info document)`,
      `pass ${flag} within them, or ask the operator to raise ${maxName}`,
    );
  }

  /** One call to the controller that is not an invocation: with its deadline, ended at once by the run's signal. */
  private async control(transport: Transport, method: "GET" | "GET without credentials" | "PUT" | "DELETE", path: string, body: string | null, signal: AbortSignal | undefined, doing: string, extraMs = 0): Promise<HttpAnswer> {
    const ms = this.config.requestTimeoutMs + extraMs;
    const s = deadline(ms, signal);
    try {
      return await (method === "GET" ? transport.get(path, s) : method === "GET without credentials" ? transport.getPublic(path, s) : method === "PUT" ? transport.put(path, body!, s) : transport.delete(path, s));
    } catch (err) {
      if (signal?.aborted) {
        throw signal.reason instanceof SuperfaasError ? signal.reason : new SuperfaasError("CANCELLED", `run cancelled while ${doing}`, "nothing ran; run again to get a result", { cause: signal.reason });
      }
      if (s.aborted || (err as { code?: string })?.code === "UND_ERR_HEADERS_TIMEOUT") {
        throw configError(
          `${transport.url(path)} accepted the connection but did not answer within ${ms / 1000} s while ${doing}`,
          "check --apihost (a firewall or a proxy that swallows requests looks like this); --request-timeout sets this bound",
          err,
        );
      }
      const e = err as Error & { code?: string };
      throw configError(`cannot reach ${transport.url(path)} while ${doing}: ${e?.message || e?.code || String(e)}`, "check --apihost (and --insecure for self-signed certificates)", err);
    }
  }

  /** An answer that no OpenWhisk controller gives: an HTML page, or JSON of another shape. */
  private notController(url: string, doing: string, answer: HttpAnswer): SuperfaasError {
    const what = isHtml(answer.body) ? "an HTML page" : typeof answer.body === "string" ? `text (${quote(answer.body, 80)})` : `JSON of another shape (${quote(JSON.stringify(answer.body), 80)})`;
    return configError(
      `${url} answered ${doing} with ${what} (HTTP ${answer.status}), not the controller's JSON: it is not an OpenWhisk API host`,
      "point --apihost at the controller's route (what `wsk property get --apihost` shows), not at a web page or a login proxy",
    );
  }

  settings(): Record<string, unknown> {
    const c = this.config;
    const d = this.deployment;
    return { kind: d?.kind ?? c.kind, node: d?.nodeMajor, memory: d?.memory ?? c.memory, timeoutMs: d?.actionTimeoutMs ?? c.actionTimeoutMs, concurrency: c.actionConcurrency, s3: c.s3 };
  }

  async deploy(spec: FunctionSpec, ctx: PrepareContext): Promise<"created" | "found"> {
    const c = this.config;
    const d = this.deployment!;
    const transport = this.transport!;
    const zip = await zipBundle(spec.bundle, "index.js");
    ctx.log?.(`openwhisk: deploying action ${spec.name} (${(zip.length / 1024).toFixed(0)} KB zip, kind ${d.kind})`);
    const body = JSON.stringify({
      exec: { kind: d.kind, code: Buffer.from(zip).toString("base64"), binary: true },
      limits: { timeout: d.actionTimeoutMs, memory: d.memory, logs: 10, concurrency: c.actionConcurrency },
      parameters: c.s3 ? [{ key: S3_PARAM, value: c.s3 }] : [],
      annotations: [
        { key: "superfaas-job", value: spec.owner.job },
        { key: "superfaas-hash", value: spec.bundle.hash },
        { key: "superfaas-owner", value: spec.owner },
        // The invoker hands the namespace's key to every container unless told not to: the job does not need it.
        { key: "provide-api-key", value: false },
      ],
    });
    // Without overwrite: an action of this name (same code, same settings) that exists already is another run's.
    // A large zip gets time to travel (100 KB/s at least) on top of the control-plane deadline.
    const path = `${transport.actionPath(spec.name)}?overwrite=false`;
    const doing = `deploying action ${spec.name}`;
    let answer: HttpAnswer;
    try {
      answer = await this.control(transport, "PUT", path, body, ctx.signal, doing, Math.ceil(body.length / 100));
    } catch (err) {
      // Cancelled while the PUT was in flight: the controller may have made the action all the same.
      if (ctx.signal?.aborted) await this.removeIfOurs(spec.name, spec.owner.runId);
      throw err;
    }
    const { status } = answer;
    if (status < 300) {
      const a = answer.body as { name?: unknown; exec?: unknown } | string;
      if (typeof a !== "object" || a === null || typeof a.name !== "string") throw this.notController(transport.url(path), "the deploy (PUT)", answer);
      return "created";
    }
    if (status === 409) return "found";
    const said = this.said(answer);
    if (status === 400 && /concurrency/i.test(said)) {
      throw configError(
        `this deployment refused --action-concurrency ${c.actionConcurrency} (HTTP 400: ${quote(said)})`,
        c.actionConcurrency > 1
          ? "leave --action-concurrency at 1 (stock deployments allow 1..1), or ask the operator to raise the action-concurrency limit and run the invokers with __OW_ALLOW_CONCURRENT=true"
          : "ask the operator which action concurrency the namespace allows",
      );
    }
    if (status === 400 && /not supported by this platform/.test(said)) throw configError(`this deployment refused kind ${d.kind}: ${quote(said)}`, "pass --kind with one of the valid values, or leave --kind out");
    if (status === 401 || status === 403) throw configError(`the controller refused the credentials while ${doing} (HTTP ${status}): ${quote(said)}`, "check --auth / __OW_API_KEY / AUTH in ~/.wskprops and the namespace");
    if (status === 413) throw configError(`the action is too large for this deployment (HTTP 413): ${quote(said)}`, "a smaller job module (fewer dependencies) makes a smaller zip; the stock limit is 48 MB of code");
    throw configError(`the controller answered HTTP ${status} while ${doing}: ${quote(said)}`, "check the action limits (--memory, --action-timeout, --action-concurrency) and the deployment's settings");
  }

  /** The controller's JSON `error`, or the status's name (a proxy's HTML page is not quoted). */
  private said(answer: HttpAnswer): string {
    const e = answer.body && typeof answer.body === "object" ? (answer.body as { error?: unknown }).error : undefined;
    return typeof e === "string" ? e : (STATUS_CODES[answer.status] ?? `HTTP ${answer.status}`);
  }

  /** Every action of the namespace with superfaas's owner annotation, page by page (`limit` at most 200, `skip`). */
  async listOwned(): Promise<OwnedFunction[]> {
    const transport = this.transport;
    if (!transport) return [];
    const out: OwnedFunction[] = [];
    const limit = 200;
    const base = transport.actionPath("").replace(/\/$/, "");
    for (let skip = 0; ; skip += limit) {
      const answer = await this.control(transport, "GET", `${base}?limit=${limit}&skip=${skip}`, null, undefined, "listing actions");
      if (answer.status >= 300) throw configError(`the controller answered HTTP ${answer.status} while listing actions: ${quote(this.said(answer))}`, "check --auth and --namespace");
      const page = Array.isArray(answer.body) ? (answer.body as { name?: unknown; annotations?: { key: string; value: unknown }[] }[]) : [];
      for (const a of page) {
        const owner = a.annotations?.find((n) => n.key === "superfaas-owner")?.value as Partial<OwnerMarker> | undefined;
        if (typeof a.name === "string" && owner?.tool === "superfaas" && typeof owner.runId === "string") out.push({ name: a.name, owner: owner as OwnerMarker });
      }
      if (page.length < limit) return out;
    }
  }

  /** Deletes the action if its owner annotation names this run (best effort: a clean-up after a cancelled deploy). */
  private async removeIfOurs(name: string, runId: string): Promise<void> {
    const transport = this.transport;
    if (!transport) return;
    try {
      const answer = await this.control(transport, "GET", transport.actionPath(name), null, undefined, `looking up action ${name}`);
      const notes = (answer.body as { annotations?: { key: string; value: unknown }[] } | undefined)?.annotations;
      const owner = notes?.find((n) => n.key === "superfaas-owner")?.value as { runId?: unknown } | undefined;
      if (answer.status < 300 && owner?.runId === runId) await this.remove(name);
    } catch {
      // Not there (never made), or unreachable: nothing more to do.
    }
  }

  async remove(name: string): Promise<void> {
    const transport = this.transport;
    if (!transport) return;
    const answer = await this.control(transport, "DELETE", transport.actionPath(name), null, undefined, `deleting action ${name}`);
    if (answer.status >= 300 && answer.status !== 404) throw configError(`the controller answered HTTP ${answer.status} while deleting action ${name}: ${quote(this.said(answer))}`, `delete it with \`wsk action delete ${name}\``);
  }

  /**
   * The activations of the action recorded since `since` (their count and summed duration, what OpenWhisk bills),
   * from the activation list (`GET …/activations?name=…&since=…`, 200 a page). Records appear as activations end, so
   * it looks again, backing off, until `expected` are there or `signal` ends the wait: then the last listing counts.
   */
  async billedSince(name: string, since: number, expected: number, signal: AbortSignal): Promise<{ invocations: number; billedMs: number; complete: boolean } | undefined> {
    const transport = this.transport;
    if (!transport) return undefined;
    let last: { invocations: number; billedMs: number; complete: boolean } | undefined;
    for (let i = 0; !signal.aborted; i++) {
      const seen = await this.listBilled(transport, name, since, signal).catch(() => undefined);
      if (seen) last = seen;
      if (last?.complete && last.invocations >= expected) break;
      await sleep(Math.min(1_000, 100 * 2 ** i), signal).catch(() => undefined);
    }
    return last;
  }

  private async listBilled(transport: Transport, name: string, since: number, signal: AbortSignal) {
    const PAGE = 200;
    let invocations = 0;
    let billedMs = 0;
    // At most 50 pages (10,000 activations): beyond that the listing is called incomplete and the caller estimates.
    for (let page = 0; page < 50; page++) {
      const path = `${transport.actionPath(name).replace(/actions\/[^/]*$/, "activations")}?name=${encodeURIComponent(name)}&since=${Math.floor(since)}&limit=${PAGE}&skip=${page * PAGE}`;
      const answer = await transport.get(path, signal);
      if (answer.status !== 200 || !Array.isArray(answer.body)) return undefined;
      for (const a of answer.body as { duration?: unknown }[]) {
        invocations++;
        if (typeof a?.duration === "number") billedMs += a.duration;
      }
      if (answer.body.length < PAGE) return { invocations, billedMs, complete: true };
    }
    return { invocations, billedMs, complete: false };
  }

  /** Blocking invoke; falls back to polling when the platform's blocking window (60 s) runs out first. */
  async send(name: string, body: string, signal: AbortSignal): Promise<Answer> {
    const transport = this.transport!;
    // An activation counts against the namespace's concurrent_actions until it ends, polls included.
    const wait = this.acquire(signal);
    if (wait) await wait;
    // The path carries the blocking timeout: both read together, after any wait for a slot.
    let path = this.paths.get(name);
    if (path === undefined) this.paths.set(name, (path = transport.invokePath(name)));
    try {
      const startedAt = performance.now();
      const post = (to: string) =>
        // The signal reaches the request: an aborted attempt destroys its connection at once.
        transport.post(to, body, signal).catch((err: unknown) => {
          throw new Unreachable(transport.url(to), err);
        });
      const asked = this.blockingTimeoutMs;
      let answer = await post(path);
      const allowed = answer.status === 400 ? maxBlockingWait(answer.body) : undefined;
      if (allowed !== undefined && allowed < asked) {
        // The controller waits less than we asked for (its max-wait-for-blocking-activation is below 60 s) and refused
        // the invocation before making an activation: ask for its maximum from now on (the invocations sent meanwhile
        // learn the same), and send this one again.
        this.lowerBlockingTimeout(allowed);
        path = this.paths.get(name) ?? transport.invokePath(name);
        this.paths.set(name, path);
        answer = await post(path);
      }
      const { status, body: record } = answer;
      // 200 for a success; an activation that ran and failed comes back with its record too: 502 for application and
      // developer errors, 500 for whisk internal errors. The record says more than the status does.
      if (isRecord(record) && (status < 300 || status === 500 || status === 502)) return this.answer(record);
      // 202: the blocking window ran out first, the activation is still running. Poll for its record.
      if (status < 300 && isPending(record)) return this.answer(await this.poll(transport, record.activationId, startedAt, signal));
      throw new Refused(status, record);
    } finally {
      this.release();
    }
  }

  /** Blocking invocations ask for at most `ms` from now on (every action's path is made again). */
  private lowerBlockingTimeout(ms: number): void {
    if (ms >= this.blockingTimeoutMs) return;
    this.log?.(`openwhisk: the controller waits at most ${ms} ms for a blocking invocation (it refused timeout=${this.blockingTimeoutMs}): blocking invocations ask for ${ms} ms, longer activations are polled`);
    this.blockingTimeoutMs = ms;
    if (this.transport) this.transport.blockingTimeout = ms;
    this.paths.clear();
  }

  /** Takes a slot of the namespace's concurrent_actions: at once (undefined), or a promise of one handed over later. */
  private acquire(signal: AbortSignal): Promise<void> | undefined {
    if (this.sending < this.sendLimit) {
      this.sending++;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const go = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.sendQueue.indexOf(go);
        if (i >= 0) this.sendQueue.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.sendQueue.push(go);
    });
  }

  /** Hands the slot to the next waiting invocation, or gives it back. */
  private release(): void {
    const next = this.sendQueue.shift();
    if (next) next();
    else this.sending--;
  }

  private async poll(transport: Transport, activationId: string, invokedAt: number, signal: AbortSignal): Promise<Activation> {
    // An activation that is still not recorded well after the action's own time limit is lost: run it again.
    const giveUpAt = invokedAt + (this.deployment?.actionTimeoutMs ?? this.config.actionTimeoutMs) + this.config.activationGraceMs;
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
    if (status < 300 && typeof body === "string") {
      return new TaskError(`openwhisk: ${this.config.apihost} answered an invocation with ${isHtml(body) ? "an HTML page" : "text"} (HTTP ${status}), not the controller's JSON: it is not an OpenWhisk API host`, {
        retryable: false,
        origin: "platform",
      });
    }
    const text = quote(typeof said === "string" ? said : status >= 400 ? (STATUS_CODES[status] ?? "error") : `unexpected answer ${JSON.stringify(body)?.slice(0, 200)}`);
    // 429 is throttling whatever it says (the legacy controller counts, the FPC controller says "Too many requests").
    if (status === 429) return this.throttled(text, /minute/i.test(text));
    if (status === 404) return "missing";
    // 408 and 504 come from proxies in front of the controller that gave up waiting: the activation may have run.
    if (status >= 500 || status < 400 || status === 408) return new TaskError(`openwhisk system error (HTTP ${status}): ${text}`, { retryable: true, origin: "platform" });
    if (status === 413) return new TaskError(`openwhisk refused the payload as too large (HTTP 413): ${text}`, { retryable: false, origin: "platform" });
    return new TaskError(`openwhisk refused the invocation (HTTP ${status}): ${text}`, { retryable: false, origin: "platform" });
  }

  /** A throttled invocation: retried after the limit frees up, until core's throttle bound names `throttleLimit`. */
  private throttled(text: string, perMinute: boolean): TaskError {
    const l = this.deployment?.info?.limits;
    // The limit core names when nothing but throttling outlasts --throttle-timeout (the operator raises it).
    const throttleLimit = perMinute
      ? `the namespace's ${l?.actions_per_minute ?? ""} invocations a minute (actions_per_minute; WHISK_ACTIONS_INVOKES_PER_MINUTE on OpenShift; ask the operator)`
      : `the namespace's ${l?.concurrent_actions ?? ""} activations in flight (concurrent_actions; WHISK_ACTIONS_INVOKES_CONCURRENT on OpenShift; ask the operator)`;
    // The per-minute limit frees up slowly: give it a second; concurrency frees up as activations end.
    return new TaskError(`openwhisk throttled the invocation: ${text}`, { retryable: true, origin: "platform", throttled: true, retryAfterMs: perMinute ? 1_000 : 0, throttleLimit: throttleLimit.replace("  ", " ") });
  }

  private failedActivation(a: Activation): TaskError {
    const status = a.response?.status;
    const result = a.response?.result;
    const error = result?.error;
    const full = typeof error === "string" ? error : typeof (error as { message?: unknown })?.message === "string" ? (error as { message: string }).message : JSON.stringify(result ?? {});
    // A refused result quotes up to 1 MB of the response: cut it to a readable length.
    const message = quote(full);
    if ((status === "action developer error" || status === "whisk internal error") && neverRan(a) && /^Too many concurrent requests/.test(full)) {
      // The FPC scheduler's queue throttles by recording the activation as failed without running it (MemoryQueue's
      // fallback activation: duration 0, no waitTime): throttling, as a 429 is, not a failed attempt.
      return this.throttled(message, false);
    }
    if (status === "application error") {
      // An application error without our envelope did not come from map: the platform refused the result (over 1 MB
      // without a bucket) or the action's own code failed outside runTask. Both happen again on a retry.
      const tooLong = /exceeded the allowed length/.test(full);
      return new TaskError(`openwhisk activation ${a.activationId} failed: ${message}${tooLong && !this.config.s3 ? " — pass --bucket so that partials over 1 MB go through the object store" : ""}`, {
        retryable: false,
        origin: "platform",
      });
    }
    if (/System not ready/.test(full)) {
      // The Node.js proxy refuses a second simultaneous activation unless the invokers allow concurrency.
      return new TaskError(
        `openwhisk activation ${a.activationId} was refused by its container ("${message}"): the deployment accepts --action-concurrency ${this.config.actionConcurrency}, but its invokers do not run concurrent activations (they need __OW_ALLOW_CONCURRENT=true); use --action-concurrency 1`,
        { retryable: false, origin: "platform" },
      );
    }
    if (status === "action developer error" && full === MEMORY_EXHAUSTED) {
      // The invoker found the container killed by its memory limit (Docker's OOMKilled): the same memory would run out again.
      const maxBytes = this.deployment?.info?.limits?.max_action_memory;
      return outOfMemoryError({
        memoryMb: this.deployment?.memory ?? this.config.memory,
        what: "action memory",
        setting: "--memory",
        ...(maxBytes !== undefined ? { maxMb: Math.floor(maxBytes / MB) } : {}),
        evidence: `activation ${a.activationId}: "${full}"`,
      });
    }
    if (status === "action developer error" && /Initialization has failed|Cannot find module|SyntaxError/.test(message)) {
      return new TaskError(`openwhisk could not start the action: ${message}`, { retryable: false, origin: "platform" });
    }
    // Container crashes, action timeouts and whisk internal errors: the platform failed this attempt, not the job.
    return new TaskError(`openwhisk activation ${a.activationId} ended with "${status ?? "no status"}": ${message}`, { retryable: true, origin: "platform" });
  }

  async close(): Promise<void> {
    this.store = undefined;
    await this.transport?.close();
    this.transport = undefined;
    this.paths.clear();
  }
}

/**
 * An activation no invoker ran: the scheduler's own record (duration 0, no waitTime annotation, which every activation
 * that reached an invoker has).
 */
function neverRan(a: Activation): boolean {
  return (a.duration ?? 0) === 0 && !a.annotations?.some((n) => n.key === "waitTime");
}
