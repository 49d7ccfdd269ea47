// A loopback stand-in for Apache OpenWhisk: the controller's REST API (actions, activations, namespaces, basic
// auth, per-namespace throttles, payload limits, the blocking window) and its invokers (warm containers per
// action, a container cap per invoker with queueing, action time limits). Every container is a real Node.js child
// process running proxy.mjs, which speaks the Node.js runtime protocol (/init, /run), so an action
// zip runs here as it would on the platform. Faults are injected on demand through methods of the emulator.
//
// Plain ESM JavaScript (types in server.d.mts) so that vitest and the benchmarks (plain node) can both use it.
// Run it on its own with `node server.mjs '{"port":3233}'`: it prints {url, auth, namespace} as one JSON line
// (bench/openwhisk-throughput.mjs runs it so, in a process of its own, with `instantActions` for no-op actions).
import { fork } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, createServer, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { readBody } from "../http-body.mjs";
import { checkStraggle, straggles } from "../straggle.mjs";

const PROXY = join(dirname(fileURLToPath(import.meta.url)), "proxy.mjs");
/** The runtime writes this line to stdout and stderr after each activation; the logs of one end there. */
const MARKER = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";
const MB = 1024 * 1024;

/**
 * Deployment profiles, as real deployments ship (PLATFORMS.md): apache/openwhisk's own defaults
 * (ansible/files/runtimes.json: nodejs:18, nodejs:20 default), the Helm chart (openwhisk-deploy-kube: nodejs:14
 * default, nodejs:16) and a custom one whose operator raised the action-concurrency limit and set
 * __OW_ALLOW_CONCURRENT on the invokers. All three have the stock limits otherwise: memory 128–512 MB, time limit
 * 100 ms–300 s, action concurrency 1..1, 30 activations in flight and 60 invocations a minute per namespace.
 * `concurrencyWording` is how the PUT words a refused action concurrency: current controllers say "exceeds allowed
 * threshold of", the releases the Helm chart ships say "out of [min, max]".
 */
export const PROFILES = {
  apache: {
    kinds: [
      { kind: "nodejs:18", image: "openwhisk/action-nodejs-v18:nightly" },
      { kind: "nodejs:20", image: "openwhisk/action-nodejs-v20:nightly", default: true },
    ],
    actionConcurrency: { min: 1, max: 1, std: 1 },
    allowConcurrent: false,
    concurrencyWording: "threshold",
  },
  helm: {
    kinds: [
      { kind: "nodejs:14", image: "openwhisk/action-nodejs-v14:1.21.0", default: true },
      { kind: "nodejs:16", image: "openwhisk/action-nodejs-v16:1.21.0" },
    ],
    actionConcurrency: { min: 1, max: 1, std: 1 },
    allowConcurrent: false,
    concurrencyWording: "range",
  },
  custom: {
    kinds: [
      { kind: "nodejs:18", image: "openwhisk/action-nodejs-v18:nightly" },
      { kind: "nodejs:20", image: "openwhisk/action-nodejs-v20:nightly", default: true },
      { kind: "nodejs:22", image: "example/action-nodejs-v22:latest" },
    ],
    actionConcurrency: { min: 1, max: 500, std: 1 },
    allowConcurrent: true,
    concurrencyWording: "threshold",
  },
};

/** `response.status` by `response.statusCode`, as the platform words them. */
const STATUS = ["success", "application error", "action developer error", "whisk internal error"];
const SUCCESS = 0;
const APPLICATION_ERROR = 1;
const DEVELOPER_ERROR = 2;
const WHISK_ERROR = 3;

// The controller's and invoker's messages, worded as the platform words them (clients match on some of them).
const msg = {
  unauthenticated: "The supplied authentication is invalid.",
  notAuthorized: (ns) => `The supplied authentication is not authorized to access '${ns}'.`,
  notFound: "The requested resource does not exist.",
  exists: "resource already exists",
  // The throttles' texts, from apache/openwhisk at commit 1fae641a (common/scala/src/main/scala/org/apache/openwhisk/
  // http/ErrorResponse.scala, Messages). The legacy controller (LocalEntitlementProvider, ActivationThrottler.scala
  // :60/:66) answers 429 with the counted forms; the FPC controller's concurrency check (FPCEntitlement.scala:72)
  // answers 429 "Too many requests"; the FPC scheduler's MemoryQueue (MemoryQueue.scala:248/:290/:306) does not
  // answer 429 at all: it records the activation as failed (developer error, or whisk error when
  // fail-throttle-as-whisk-error is set) with the uncounted form, duration 0 and no waitTime (generateFallbackActivation).
  tooManyRequests: (count, allowed) => `Too many requests in the last minute (count: ${count}, allowed: ${allowed}).`,
  tooManyConcurrent: (count, allowed) => `Too many concurrent requests in flight (count: ${count}, allowed: ${allowed}).`,
  tooManyRequestsFpc: "Too many requests",
  tooManyConcurrentQueue: "Too many concurrent requests in flight.",
  overloaded: "System is overloaded, try again later.",
  tooBig: (field, size, limit) => `${field} larger than allowed: ${size} > ${limit} bytes.`,
  malformed: (why) => `The request content was malformed:\n${why}`,
  // Pekko HTTP's default rejection handler (RejectionHandler.default, MalformedQueryParamRejection), which the
  // controller wraps as {error, code} (BasicHttpService.customRejectionHandler).
  malformedQuery: (name, why) => `The query parameter '${name}' was malformed:\n${why}`,
  // Messages.invalidTimeout (common/scala/src/main/scala/org/apache/openwhisk/http/ErrorResponse.scala).
  invalidTimeout: (maxMs) => `Timeout must be number of milliseconds up to ${maxMs}.`,
  abnormalInit: "The action did not initialize and exited unexpectedly.",
  abnormalRun: "The action did not produce a valid response and exited unexpectedly.",
  // Messages.memoryExhausted (ErrorResponse.scala:156): recorded as a developer error when the invoker finds the
  // container OOM-killed (ActivationResult.scala:185 during init, :251 during a run).
  memoryExhausted: "The action exhausted its memory and was aborted.",
  invalidInit: (text) => `The action failed during initialization${text ? `: ${text}` : "."}`,
  invalidRun: (text) => `The action did not produce a valid JSON response${text ? `: ${text}` : "."}`,
  truncated: (size, limit) => `The action produced a response that exceeded the allowed length: ${size} > ${limit} bytes.`,
  timedOut: (ms, init) => `The action exceeded its time limits of ${ms} milliseconds${init ? " during initialization." : "."}`,
  removed: "Action could not be found or may have been deleted.",
  unsupportedKind: (kind, valid) => `The specified runtime '${kind}' is not supported by this platform. Valid values are: ${valid.map((k) => `'${k}'`).join(", ")}.`,
  concurrencyRange: (v, r) => `concurrency ${v} out of [${r.min}, ${r.max}]`,
  concurrencyAbove: (v, max) => `concurrency ${v} exceeds allowed threshold of ${max}`,
  concurrencyBelow: (v, min) => `concurrency ${v} below allowed threshold of ${min}`,
};

/** An OpenShift route's (HAProxy's) page for a response it cut at its timeout. */
const GATEWAY_TIMEOUT_PAGE = "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n";

const DEFAULTS = {
  profile: "apache",
  scheduler: "legacy",
  frontProxyTimeoutMs: 0,
  host: "127.0.0.1",
  port: 0,
  namespace: "guest",
  invokers: 1,
  containersPerInvoker: 8,
  concurrentInvocations: 30,
  invocationsPerMinute: 60,
  blockingWindowMs: 60_000,
  maxParameterBytes: MB,
  maxResultBytes: MB,
  maxCodeBytes: 48 * MB,
  memoryMb: { min: 128, max: 512, std: 256 },
  timeoutMs: { min: 100, max: 300_000, std: 60_000 },
  logsMb: { min: 0, max: 10, std: 10 },
  activationsKept: 100_000,
  containerStartTimeoutMs: 30_000,
  log: false,
  clock: () => Date.now(),
  instantActions: false,
  straggle: undefined,
  // Time the controller and invoker add to every activation before it reaches a container (load balancer, message
  // bus, invoker queue): counted in the record's waitTime, as on the platform. 0 on loopback; benchmarks raise it.
  invokeOverheadMs: 0,
  // How often a container's resident memory is checked against its action's memory limit (as a cgroup enforces it).
  memoryCheckMs: 20,
};

const hex = (bytes) => randomBytes(bytes).toString("hex");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts an emulator on a loopback port (random unless `port` is given) and resolves once it listens. */
export async function startOpenWhiskEmulator(options = {}) {
  const emulator = new OpenWhiskEmulator(options);
  await emulator.listen();
  return emulator;
}

/** The emulator: one controller, `invokers` invokers, one namespace with one key. */
export class OpenWhiskEmulator {
  constructor(options = {}) {
    const profile = PROFILES[options.profile ?? DEFAULTS.profile];
    if (!profile) throw new Error(`unknown OpenWhisk emulator profile ${options.profile}: pick ${Object.keys(PROFILES).join(", ")}`);
    const o = { ...DEFAULTS, ...profile, ...options };
    if (o.scheduler !== "legacy" && o.scheduler !== "fpc") throw new Error(`unknown OpenWhisk emulator scheduler ${o.scheduler}: pick legacy or fpc`);
    this.options = o;
    checkStraggle(o.straggle, "OpenWhisk emulator");
    /** Offered kinds, and `nodejs:default` as the alias of the default one (always valid, as on the platform). */
    this.kinds = new Map(o.kinds.map((k) => [k.kind, k.kind]));
    const std = o.kinds.find((k) => k.default) ?? o.kinds[o.kinds.length - 1];
    if (std) this.kinds.set("nodejs:default", std.kind);
    /** Limits in force; tests may change them between runs. */
    this.limits = {
      concurrentInvocations: o.concurrentInvocations,
      invocationsPerMinute: o.invocationsPerMinute,
      blockingWindowMs: o.blockingWindowMs,
      maxParameterBytes: o.maxParameterBytes,
      maxResultBytes: o.maxResultBytes,
      maxCodeBytes: o.maxCodeBytes,
      containersPerInvoker: o.containersPerInvoker,
    };
    this.namespace = o.namespace;
    this.auth = o.auth ?? `${randomUUID()}:${hex(32)}`;
    this.subject = `${this.namespace}@example.com`;
    /** Counters for tests and benchmarks. */
    this.stats = {
      requests: 0,
      infoWithCredentials: 0,
      polls: 0,
      invocations: 0,
      accepted: 0,
      throttled: 0,
      rejected: 0,
      completed: 0,
      coldStarts: 0,
      warmStarts: 0,
      containersStarted: 0,
      containersKilled: 0,
      memoryKills: 0,
      peakContainers: 0,
      peakInFlight: 0,
      straggled: 0,
      byStatus: { success: 0, "application error": 0, "action developer error": 0, "whisk internal error": 0 },
    };
    this.actions = new Map(); // "ns/name" -> action document (with code)
    this.activations = new Map(); // id -> record
    this.lost = new Set();
    this.pending = new Map(); // id -> in-flight activation
    this.queue = [];
    this.invokers = Array.from({ length: o.invokers }, (_, index) => ({ index, containers: new Set() }));
    this.ns = { inFlight: 0, minute: -1, minuteCount: 0 };
    this.faults = { serverError: [], throttle: [], applicationError: [], slow: [], lost: [], crash: [], memory: [] };
    this.timers = new Set();
    /** Activations accepted since the straggle rule was set: the rule picks by this count. */
    this.straggleSeq = 0;
    this.closed = false;
    this.root = mkdtempSync(join(tmpdir(), "ow-emulator-"));
    this.childAgent = new Agent({ keepAlive: true, maxSockets: Infinity });
    this.server = createServer((req, res) => this.handle(req, res));
    // Longer than any client keeps an idle socket, so a reused socket is never closed under a request; no
    // per-request deadline, since a blocking invocation may legitimately wait out the whole blocking window.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.requestTimeout = 0;
  }

  listen() {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host, () => {
        const { port } = this.server.address();
        this.port = port;
        this.url = `http://${this.options.host}:${port}`;
        resolve(this);
      });
    });
  }

  /** Settings for OpenWhiskBackend (apihost, auth, namespace). */
  get clientOptions() {
    return { apihost: this.url, auth: this.auth, namespace: this.namespace };
  }

  // ---- fault injection: each applies to the next `count` invocations (POST .../actions/NAME) -------------------

  /**
   * The next invocations are throttled as the platform throttles them (`reason`): "concurrent" or "minute" answer 429
   * with the controller's message (of the `scheduler` chosen); "queue" is the FPC scheduler's MemoryQueue: the
   * invocation is accepted and its activation recorded as failed without running ("action developer error", or with
   * `whiskError` "whisk internal error"), which a blocking invoke answers with 502 (500) and the record.
   */
  throttleNext(count = 1, { reason = "concurrent", whiskError = false } = {}) {
    if (!["concurrent", "minute", "queue"].includes(reason)) throw new Error(`throttleNext: reason ${reason}: pick concurrent, minute or queue`);
    this.faults.throttle.push({ left: count, reason, whiskError });
  }
  /** The next invocations answer a 5xx: 502 and 504 as an HTML page (a proxy in front), others as JSON. */
  failNext(count = 1, { status = 503 } = {}) {
    this.faults.serverError.push({ left: count, status });
  }
  /** The next activations end as "application error" with `{error: message}`, without running. */
  applicationErrorNext(count = 1, { message = "injected application error" } = {}) {
    this.faults.applicationError.push({ left: count, message });
  }
  /** The next activations wait `delayMs` in the invoker's queue before they run (default: past the blocking window). */
  slowNext(count = 1, { delayMs } = {}) {
    this.faults.slow.push({ left: count, delayMs: delayMs ?? this.limits.blockingWindowMs + 300 });
  }
  /** The next activations are accepted but never run nor recorded: GET answers 404 for ever. */
  loseNext(count = 1) {
    this.faults.lost.push({ left: count });
  }
  /** The next activations' containers die (SIGKILL) `afterMs` after the run request reaches them. */
  crashNext(count = 1, { afterMs = 0 } = {}) {
    this.faults.crash.push({ left: count, afterMs });
  }
  /** Sets (or with undefined, clears) the `straggle` rule; it picks from the next activation on, as if newly started. */
  setStraggle(spec) {
    this.options.straggle = checkStraggle(spec, "OpenWhisk emulator");
    this.straggleSeq = 0;
  }
  /** The next activations' containers are killed for exceeding their memory `afterMs` after the run request reaches them. */
  exhaustMemoryNext(count = 1, { afterMs = 0 } = {}) {
    this.faults.memory.push({ left: count, afterMs });
  }
  /** Drops every fault not yet used. */
  clearFaults() {
    for (const list of Object.values(this.faults)) list.length = 0;
  }
  /** Kills every container (an invoker restart); activations running in them fail as the platform reports it. */
  killContainers() {
    for (const c of this.containers()) this.kill(c, "killed by the test");
  }

  takeFault(kind) {
    const list = this.faults[kind];
    const f = list[0];
    if (!f) return undefined;
    if (--f.left <= 0) list.shift();
    return f;
  }

  /** Every live container. */
  containers() {
    return this.invokers.flatMap((i) => [...i.containers]);
  }

  // ---- HTTP -----------------------------------------------------------------------------------------------

  send(res, status, body, headers = {}) {
    if (res.headersSent || res.destroyed) return;
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, {
      "content-type": typeof body === "string" ? "text/html" : "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  error(res, status, error, headers) {
    this.send(res, status, { error, code: hex(16) }, headers);
  }

  /** Reads a body, keeping at most `limit` bytes as text; `size` counts all of it. */
  async readBody(req, limit) {
    const { buf, size, tooLarge } = await readBody(req, limit);
    return { size, tooLarge, text: buf.toString("utf8") };
  }

  authorized(req) {
    const h = req.headers.authorization ?? "";
    const m = /^Basic\s+(\S+)$/i.exec(h);
    if (!m) return false;
    return Buffer.from(m[1], "base64").toString("utf8") === this.auth;
  }

  handle(req, res) {
    this.stats.requests++;
    const cutMs = this.options.frontProxyTimeoutMs;
    if (cutMs > 0) {
      // A front proxy (an OpenShift route, an ingress) that cuts a response taking longer: the client gets its HTML
      // 504 and the connection closes, while whatever the controller was doing (an activation) goes on.
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (res.headersSent || res.destroyed) return;
        this.stats.cut = (this.stats.cut ?? 0) + 1;
        this.send(res, 504, GATEWAY_TIMEOUT_PAGE, { connection: "close" });
      }, cutMs);
      this.timers.add(t);
      res.once("close", () => {
        clearTimeout(t);
        this.timers.delete(t);
      });
    }
    this.route(req, res).catch((err) => {
      this.error(res, 500, `emulator failure: ${err?.stack ?? err}`);
    });
  }

  async route(req, res) {
    const url = new URL(req.url ?? "/", "http://emulator");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (parts.length === 0 && req.method === "GET") {
      // Served to anyone (Controller.scala `routes`: `pathSingleSlash` outside authentication). Credentials sent here
      // are counted: a client has no reason to hand its key to whatever answers at the host's root.
      if (req.headers.authorization !== undefined) this.stats.infoWithCredentials++;
      return this.send(res, 200, this.info());
    }
    if (parts[0] !== "api" || parts[1] !== "v1") return this.error(res, 404, msg.notFound);
    if (parts.length === 2) {
      return this.send(res, 200, { description: "OpenWhisk API", api_version: "1.0.0", api_version_path: "v1", build: "emulator", buildno: "emulator", swagger_paths: { ui: "/docs", "api-docs": "/api/v1/api-docs" } });
    }
    if (!this.authorized(req)) return this.error(res, 401, msg.unauthenticated);
    if (parts[2] !== "namespaces") return this.error(res, 404, msg.notFound);
    if (parts.length === 3) return req.method === "GET" ? this.send(res, 200, [this.namespace]) : this.error(res, 405, "Method not allowed.");
    const ns = parts[3] === "_" ? this.namespace : parts[3];
    if (ns !== this.namespace) return this.error(res, 403, msg.notAuthorized(ns));
    const collection = parts[4];
    const rest = parts.slice(5);
    if (collection === "actions") return this.actionsRoute(req, res, url, ns, rest);
    if (collection === "activations") return this.activationsRoute(req, res, url, ns, rest);
    return this.error(res, 404, msg.notFound);
  }

  /** The controller's info document (`GET /`, Controller.scala `info`): runtimes and limits, no action concurrency. */
  info() {
    const o = this.options;
    const l = this.limits;
    const bounds = {
      min_action_duration: o.timeoutMs.min,
      max_action_duration: o.timeoutMs.max,
      min_action_memory: o.memoryMb.min * MB,
      max_action_memory: o.memoryMb.max * MB,
      min_action_logs: o.logsMb.min * MB,
      max_action_logs: o.logsMb.max * MB,
    };
    return {
      description: "OpenWhisk",
      support: { github: "https://github.com/apache/openwhisk/issues", slack: "http://slack.openwhisk.org" },
      api_paths: ["/api/v1"],
      limits: {
        actions_per_minute: l.invocationsPerMinute,
        triggers_per_minute: 60,
        concurrent_actions: l.concurrentInvocations,
        sequence_length: 50,
        ...Object.fromEntries(Object.entries(bounds).map(([k, v]) => [`default_${k}`, v])),
        ...bounds,
      },
      runtimes: {
        nodejs: o.kinds.map((k) => ({ kind: k.kind, image: k.image ?? `openwhisk/action-${k.kind.replace(":", "-v")}:nightly`, deprecated: k.deprecated ?? false, default: k.default ?? false, attached: false, requireMain: false })),
      },
    };
  }

  // ---- actions ----------------------------------------------------------------------------------------------

  async actionsRoute(req, res, url, ns, rest) {
    if (rest.length === 0) {
      if (req.method !== "GET") return this.error(res, 405, "Method not allowed.");
      // The controller pages collections: `limit` (default 30, at most 200) and `skip`; newest first.
      const limit = url.searchParams.has("limit") ? Number(url.searchParams.get("limit")) : 30;
      const skip = url.searchParams.has("skip") ? Number(url.searchParams.get("skip")) : 0;
      if (!Number.isInteger(limit) || limit < 0 || limit > 200) return this.error(res, 400, `The value '${url.searchParams.get("limit")}' is not in the range of 0 to 200.`);
      if (!Number.isInteger(skip) || skip < 0) return this.error(res, 400, `The value '${url.searchParams.get("skip")}' is not a non-negative integer.`);
      const all = [...this.actions.values()].filter((a) => a.namespace === ns).reverse();
      const list = all.slice(skip, skip + (limit === 0 ? 200 : limit)).map((a) => this.actionView(a, false));
      return this.send(res, 200, list);
    }
    const name = rest.join("/");
    const key = `${ns}/${name}`;
    switch (req.method) {
      case "GET": {
        const a = this.actions.get(key);
        if (!a) return this.error(res, 404, msg.notFound);
        return this.send(res, 200, this.actionView(a, url.searchParams.get("code") !== "false"));
      }
      case "PUT":
        return this.putAction(req, res, url, ns, name, key);
      case "DELETE": {
        const a = this.actions.get(key);
        if (!a) return this.error(res, 404, msg.notFound);
        this.actions.delete(key);
        for (const c of this.containers()) if (c.key === key) this.retire(c, "action deleted");
        this.pump();
        return this.send(res, 200, this.actionView(a, false));
      }
      case "POST":
        return this.invoke(req, res, url, ns, name, key);
      default:
        return this.error(res, 405, "Method not allowed.");
    }
  }

  actionView(a, withCode) {
    const { code, ...exec } = a.exec;
    return { ...a, exec: withCode ? { ...exec, code } : exec };
  }

  async putAction(req, res, url, ns, name, key) {
    if (!/^[\w@ .-]+(\/[\w@ .-]+)?$/.test(name) || /^[ .@-]|[ ]$/.test(name)) return this.error(res, 400, "The name of the entity contains illegal characters.");
    const body = await this.readBody(req, Math.ceil(this.limits.maxCodeBytes * 1.4) + MB);
    if (body.tooLarge) return this.error(res, 413, msg.tooBig("Request", body.size, Math.ceil(this.limits.maxCodeBytes * 1.4) + MB));
    let doc;
    try {
      doc = body.text ? JSON.parse(body.text) : {};
    } catch (err) {
      return this.error(res, 400, msg.malformed(err.message));
    }
    const existing = this.actions.get(key);
    const overwrite = url.searchParams.get("overwrite") === "true";
    if (existing && !overwrite) return this.error(res, 409, msg.exists);
    const o = this.options;
    const exec = doc.exec ?? existing?.exec;
    if (!exec || typeof exec !== "object") return this.error(res, 400, "exec undefined");
    const kind = this.kinds.get(exec.kind);
    if (!kind) return this.error(res, 400, msg.unsupportedKind(exec.kind, o.kinds.map((k) => k.kind)));
    if (typeof exec.code !== "string" || !exec.code) return this.error(res, 400, "exec malformed: code is required");
    const codeBytes = Buffer.byteLength(exec.code);
    if (codeBytes > this.limits.maxCodeBytes) return this.error(res, 413, msg.tooBig("Exec", codeBytes, this.limits.maxCodeBytes));
    // Base64 that opens like a zip ("PK\x03\x04") is taken as a zip, as on the platform.
    const binary = exec.binary === true || exec.code.startsWith("UEsDB");
    const given = { ...(existing?.limits ?? {}), ...(doc.limits ?? {}) };
    const limits = {
      timeout: given.timeout ?? o.timeoutMs.std,
      memory: given.memory ?? o.memoryMb.std,
      logs: given.logs ?? o.logsMb.std,
      concurrency: given.concurrency ?? o.actionConcurrency.std,
    };
    const range = (what, v, r, unit) => {
      if (!Number.isInteger(v)) return `${what} must be an integer`;
      if (v < r.min) return `${what} ${v} ${unit} below allowed threshold of ${r.min} ${unit}`;
      if (v > r.max) return `${what} ${v} ${unit} exceeds allowed threshold of ${r.max} ${unit}`;
      return undefined;
    };
    const bad = range("timeout", limits.timeout, o.timeoutMs, "ms") ?? range("memory", limits.memory, o.memoryMb, "MB") ?? range("logs", limits.logs, o.logsMb, "MB");
    if (bad) return this.error(res, 400, `The request content was malformed:\nrequirement failed: ${bad}.`);
    const cc = limits.concurrency;
    const r = o.actionConcurrency;
    if (!Number.isInteger(cc) || cc < r.min || cc > r.max) {
      // The Helm chart's releases check the range while reading the request; current controllers check it against the
      // namespace's limits afterwards, with other words. Neither shows in the info document.
      if (o.concurrencyWording === "range") return this.error(res, 400, `The request content was malformed:\nrequirement failed: ${msg.concurrencyRange(cc, r)}`);
      return this.error(res, 400, cc > r.max ? msg.concurrencyAbove(cc, r.max) : msg.concurrencyBelow(cc, r.min));
    }
    const version = existing ? bumpPatch(existing.version) : "0.0.1";
    const action = {
      namespace: ns,
      name,
      version,
      publish: false,
      exec: { kind, code: exec.code, binary, ...(exec.main ? { main: exec.main } : {}) },
      annotations: [...(Array.isArray(doc.annotations) ? doc.annotations : existing?.annotations ?? []), { key: "exec", value: kind.split(":")[0] }],
      parameters: Array.isArray(doc.parameters) ? doc.parameters : existing?.parameters ?? [],
      limits,
      updated: Date.now(),
    };
    this.actions.set(key, action);
    // Containers of the old code never serve again (placement matches the version).
    for (const c of this.containers()) if (c.key === key) this.retire(c, "action updated");
    this.pump();
    return this.send(res, 200, this.actionView(action, true));
  }

  // ---- invocations ------------------------------------------------------------------------------------------

  async invoke(req, res, url, ns, _name, key) {
    this.stats.invocations++;
    const failure = this.takeFault("serverError");
    if (failure) {
      this.stats.rejected++;
      req.resume();
      if (failure.status === 502 || failure.status === 504) {
        const title = failure.status === 502 ? "502 Bad Gateway" : "504 Gateway Time-out";
        return this.send(res, failure.status, `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`);
      }
      return this.error(res, failure.status, failure.status === 503 ? msg.overloaded : "Internal server error");
    }
    const body = await this.readBody(req, this.limits.maxParameterBytes);
    if (body.tooLarge) {
      this.stats.rejected++;
      return this.error(res, 413, msg.tooBig("Request", body.size, this.limits.maxParameterBytes));
    }
    const action = this.actions.get(key);
    if (!action) return this.error(res, 404, msg.notFound);
    let params;
    try {
      params = body.text.trim() ? JSON.parse(body.text) : {};
    } catch (err) {
      return this.error(res, 400, msg.malformed(err.message));
    }
    if (params === null || typeof params !== "object" || Array.isArray(params)) return this.error(res, 400, msg.malformed("parameters must be a JSON object"));

    // Throttles: the per-minute count (fixed wall-clock minutes, counting refused calls too), then the
    // activations in flight, as the controller checks them.
    const injected = this.takeFault("throttle");
    const minute = Math.floor(this.options.clock() / 60_000);
    if (minute !== this.ns.minute) {
      this.ns.minute = minute;
      this.ns.minuteCount = 0;
    }
    this.ns.minuteCount++;
    const perMinute = this.limits.invocationsPerMinute;
    const concurrent = this.limits.concurrentInvocations;
    if (injected?.reason === "minute" || this.ns.minuteCount > perMinute) {
      this.stats.throttled++;
      return this.error(res, 429, msg.tooManyRequests(Math.max(this.ns.minuteCount, perMinute + 1), perMinute));
    }
    if ((injected && injected.reason !== "queue") || this.ns.inFlight >= concurrent) {
      this.stats.throttled++;
      return this.error(res, 429, this.options.scheduler === "fpc" ? msg.tooManyRequestsFpc : msg.tooManyConcurrent(Math.max(this.ns.inFlight, concurrent), concurrent));
    }

    // The `timeout` query parameter is read as the request is routed, blocking or not: an integer from 1 to the
    // configured maximum (controller.activation.max-wait-for-blocking-activation, 60 s by default), anything else is
    // refused with 400 before the activation is made, never clamped (Actions.scala, `stringToFiniteDuration`).
    let windowMs = this.limits.blockingWindowMs;
    if (url.searchParams.has("timeout")) {
      const given = url.searchParams.get("timeout");
      const ms = /^[+-]?\d+$/.test(given) ? Number(given) : Number.NaN;
      if (!(ms > 0 && ms <= this.limits.blockingWindowMs && ms <= 2 ** 31 - 1)) {
        this.stats.rejected++;
        return this.error(res, 400, msg.malformedQuery("timeout", msg.invalidTimeout(this.limits.blockingWindowMs)));
      }
      windowMs = ms;
    }

    const act = {
      id: hex(16),
      key,
      ns,
      action,
      // Bound parameters first: invocation parameters override them.
      params: { ...Object.fromEntries(action.parameters.map((p) => [p.key, p.value])), ...params },
      acceptedAt: Date.now(),
      waiters: new Set(),
      logs: [],
    };
    this.stats.accepted++;
    // A straggler (the `straggle` option), picked by the order activations are accepted in: see run().
    if (this.options.straggle && straggles(this.options.straggle, this.straggleSeq++)) act.slowBy = this.options.straggle.factor;
    this.ns.inFlight++;
    this.stats.peakInFlight = Math.max(this.stats.peakInFlight, this.ns.inFlight);
    this.pending.set(act.id, act);

    if (this.takeFault("lost")) {
      // Accepted, then dropped on the way to an invoker: it never runs and is never recorded.
      this.pending.delete(act.id);
      this.ns.inFlight--;
      this.lost.add(act.id);
    } else {
      const appError = this.takeFault("applicationError");
      const slow = this.takeFault("slow");
      const crash = this.takeFault("crash");
      if (crash) act.crashAfterMs = crash.afterMs;
      const memory = crash ? undefined : this.takeFault("memory");
      if (memory) {
        act.crashAfterMs = memory.afterMs;
        act.memoryKill = true;
      }
      if (injected?.reason === "queue") {
        const now = Date.now();
        this.stats.throttled++;
        this.complete(act, { statusCode: injected.whiskError ? WHISK_ERROR : DEVELOPER_ERROR, result: { error: msg.tooManyConcurrentQueue } }, { start: now, end: now, fallback: true });
      } else if (appError) {
        const now = Date.now();
        this.complete(act, { statusCode: APPLICATION_ERROR, result: { error: appError.message } }, { start: now, end: now });
      } else if (slow) {
        // Held back by the wall clock (what the record's waitTime counts): a timer may fire a millisecond early.
        const due = act.acceptedAt + slow.delayMs;
        const release = () => (Date.now() >= due ? this.enqueue(act) : this.later(due - Date.now(), release));
        this.later(slow.delayMs, release);
      } else if (this.options.invokeOverheadMs > 0) {
        this.later(this.options.invokeOverheadMs, () => this.enqueue(act));
      } else {
        this.enqueue(act);
      }
    }

    const blocking = url.searchParams.get("blocking") === "true";
    const resultOnly = url.searchParams.get("result") === "true";
    if (!blocking) return this.send(res, 202, { activationId: act.id });
    const record = await this.waitFor(act, windowMs, res);
    if (!record) return this.send(res, 202, { activationId: act.id });
    const code = STATUS.indexOf(record.response.status);
    const status = code === SUCCESS ? 200 : code === WHISK_ERROR ? 500 : 502;
    return this.send(res, status, resultOnly ? record.response.result : record);
  }

  /** Resolves with the record once the activation completes, or undefined when the window runs out first. */
  waitFor(act, windowMs, res) {
    const done = this.activations.get(act.id);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => {
      const finish = (record) => {
        clearTimeout(timer);
        this.timers.delete(timer);
        act.waiters.delete(finish);
        resolve(record);
      };
      const timer = setTimeout(() => finish(undefined), windowMs);
      this.timers.add(timer);
      act.waiters.add(finish);
      res.once("close", () => finish(undefined));
    });
  }

  later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  // ---- activations ------------------------------------------------------------------------------------------

  activationsRoute(req, res, url, _ns, rest) {
    if (req.method !== "GET") return this.error(res, 405, "Method not allowed.");
    if (rest.length === 0) {
      const limit = Math.min(200, Number(url.searchParams.get("limit") ?? 30) || 30);
      const skip = Number(url.searchParams.get("skip") ?? 0) || 0;
      const docs = url.searchParams.get("docs") === "true";
      const name = url.searchParams.get("name");
      // `since`/`upto` bound the activations' start (epoch ms), as the controller's list does.
      const since = Number(url.searchParams.get("since") ?? 0) || 0;
      const upto = Number(url.searchParams.get("upto") ?? 0) || Infinity;
      const all = [...this.activations.values()].filter((r) => (!name || r.name === name) && r.start >= since && r.start <= upto).reverse();
      return this.send(res, 200, all.slice(skip, skip + limit).map((r) => (docs ? r : { ...r, response: undefined, logs: undefined })));
    }
    this.stats.polls++;
    const record = this.activations.get(rest[0]);
    if (!record) return this.error(res, 404, msg.notFound);
    if (rest[1] === "result") return this.send(res, 200, record.response);
    if (rest[1] === "logs") return this.send(res, 200, { logs: record.logs });
    if (rest.length > 1) return this.error(res, 404, msg.notFound);
    return this.send(res, 200, record);
  }

  /** Records an activation's outcome and answers whoever waits for it. */
  complete(act, response, { start, end, waitTime, initTime, timedOut = false, fallback = false }) {
    if (!this.pending.has(act.id)) return;
    this.pending.delete(act.id);
    this.ns.inFlight--;
    const a = act.action;
    const resultText = response.result === undefined ? "" : JSON.stringify(response.result);
    const record = {
      namespace: act.ns,
      name: a.name,
      version: a.version,
      subject: this.subject,
      activationId: act.id,
      start,
      end,
      duration: Math.max(0, end - start),
      // As the controller presents records (WhiskActivation.toExtendedJson): the status code stays internal, the
      // response says `status` and `success` instead.
      response: {
        status: STATUS[response.statusCode],
        success: response.statusCode === SUCCESS,
        result: response.result ?? {},
        size: response.size ?? resultText.length,
      },
      logs: act.logs,
      // A record the scheduler made without an invoker (MemoryQueue.generateFallbackActivation) has path, kind and
      // limits only.
      annotations: fallback
        ? [
            { key: "path", value: `${act.ns}/${a.name}` },
            { key: "kind", value: a.exec.kind },
            { key: "limits", value: a.limits },
          ]
        : [
            { key: "path", value: `${act.ns}/${a.name}` },
            { key: "waitTime", value: Math.max(0, waitTime ?? start - act.acceptedAt) },
            { key: "kind", value: a.exec.kind },
            { key: "timeout", value: timedOut },
            { key: "limits", value: a.limits },
            ...(initTime !== undefined ? [{ key: "initTime", value: initTime }] : []),
          ],
      publish: false,
    };
    this.activations.set(act.id, record);
    if (this.activations.size > this.options.activationsKept) this.activations.delete(this.activations.keys().next().value);
    this.stats.completed++;
    this.stats.byStatus[record.response.status]++;
    for (const w of [...act.waiters]) w(record);
  }

  // ---- invokers and containers ------------------------------------------------------------------------------

  enqueue(act) {
    if (this.options.instantActions && act.crashAfterMs === undefined) {
      // Benchmarks only: the no-op job's answer (its task as the partial), without a container or a run request.
      const now = Date.now();
      this.stats.warmStarts++;
      const envelope = { ok: true, partial: act.params.task, workerId: "openwhisk:emulator:instant", coldStart: false, durationMs: 0 };
      return this.complete(act, { statusCode: SUCCESS, result: envelope }, { start: now, end: now, waitTime: 0 });
    }
    this.queue.push(act);
    this.pump();
  }

  /** Places queued activations on containers: a warm one of the action, a new one, or one that evicts an idle container. */
  pump() {
    if (this.closed) return;
    // Once one activation of an action finds no container, the later ones of that action will not either: skip
    // them, so a long queue costs one look per action, not one per queued activation.
    const full = new Set();
    let noNewContainers = false;
    for (let i = 0; i < this.queue.length; ) {
      const act = this.queue[i];
      if (full.has(act.key)) {
        i++;
        continue;
      }
      const placed = this.place(act, noNewContainers);
      if (placed === "placed") this.queue.splice(i, 1);
      else {
        full.add(act.key);
        noNewContainers = true;
        i++;
      }
    }
  }

  /** @returns "placed", or "full" when no container can be had for it now. */
  place(act, noNewContainers) {
    const action = this.actions.get(act.key);
    if (!action) {
      const now = Date.now();
      this.complete(act, { statusCode: WHISK_ERROR, result: { error: msg.removed } }, { start: now, end: now });
      return "placed";
    }
    act.action = action;
    const warm = this.containers()
      .filter((c) => c.key === act.key && !c.retiring && c.version === action.version && c.state === "ready" && c.running.size < action.limits.concurrency)
      .sort((x, y) => x.running.size - y.running.size || y.lastUsed - x.lastUsed)[0];
    if (warm) {
      this.stats.warmStarts++;
      void this.run(warm, act, {}).catch((err) => this.internalError(err));
      return "placed";
    }
    // A container still starting for this action takes more activations when the action allows concurrency.
    const starting = this.containers().find((c) => c.key === act.key && !c.retiring && c.version === action.version && c.state === "starting" && c.backlog.length + 1 < action.limits.concurrency);
    if (starting) {
      starting.backlog.push(act);
      return "placed";
    }
    if (noNewContainers) return "full";
    const cap = this.limits.containersPerInvoker;
    let invoker = this.invokers.filter((i) => i.containers.size < cap).sort((x, y) => x.containers.size - y.containers.size)[0];
    if (!invoker) {
      // At capacity: an idle container (of another action, or an old version) makes room, least recently used first.
      const idle = this.containers()
        .filter((c) => c.state === "ready" && c.running.size === 0)
        .sort((x, y) => x.lastUsed - y.lastUsed)[0];
      if (!idle) return "full";
      this.kill(idle, "evicted for another action");
      invoker = idle.invoker;
    }
    this.startContainer(invoker, action, act);
    return "placed";
  }

  startContainer(invoker, action, first) {
    const dir = join(this.root, `c-${hex(6)}`);
    mkdirSync(dir);
    const c = {
      id: hex(6),
      invoker,
      key: `${action.namespace}/${action.name}`,
      version: action.version,
      state: "starting",
      running: new Set(),
      backlog: [],
      lastUsed: Date.now(),
      dir,
      port: 0,
      child: undefined,
      runs: 0,
      marks: { stdout: 0, stderr: 0 },
      markWaiters: new Set(),
      logTarget: undefined,
      memoryMb: action.limits.memory,
      memoryKilled: false,
    };
    invoker.containers.add(c);
    this.stats.containersStarted++;
    this.stats.peakContainers = Math.max(this.stats.peakContainers, this.containers().length);
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dir,
      TMPDIR: dir,
      // The AWS SDK nags about Node versions on stderr; that noise would only fill the activation logs.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      // Set on the invokers by an operator who allows concurrent activations per container; without it the Node.js
      // proxy refuses a second simultaneous /run with 403 "System not ready".
      ...(this.options.allowConcurrent ? { __OW_ALLOW_CONCURRENT: "true" } : {}),
    };
    // The kind's Node.js major version: the proxy takes away the globals that version lacks (fetch before 18...).
    const major = /^nodejs:(\d+)$/.exec(action.exec.kind)?.[1] ?? "20";
    const child = fork(PROXY, [dir, major], {
      // A container's memory limit, approximated by the heap limit of its Node.js.
      execArgv: [`--max-old-space-size=${action.limits.memory}`],
      env,
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
    });
    c.child = child;
    this.watchMemory();
    const partial = { stdout: "", stderr: "" };
    const collect = (stream) => (chunk) => {
      const text = partial[stream] + String(chunk);
      const lines = text.split("\n");
      partial[stream] = lines.pop() ?? "";
      for (const line of lines) {
        if (line === MARKER) {
          c.marks[stream]++;
          for (const w of [...c.markWaiters]) w();
          continue;
        }
        if (this.options.log) process.stderr.write(`[ow ${c.id} ${stream}] ${line}\n`);
        // Logs belong to an activation only when one runs at a time in the container (concurrency 1), as on the platform.
        const act = c.logTarget;
        if (act && act.logs.length < 1000) act.logs.push(`${new Date().toISOString()} ${stream}: ${line}`);
      }
    };
    child.stdout.on("data", collect("stdout"));
    child.stderr.on("data", collect("stderr"));
    const ready = new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("container did not start")), this.options.containerStartTimeoutMs);
      child.once("message", (m) => {
        clearTimeout(t);
        if (m && typeof m.port === "number") resolve(m.port);
        else reject(new Error("container sent no port"));
      });
      child.once("exit", () => {
        clearTimeout(t);
        reject(new Error("container exited"));
      });
    });
    c.exited = new Promise((resolve) => child.once("exit", resolve));
    child.once("exit", () => {
      c.state = "dead";
      if (c.invoker.containers.delete(c)) this.stats.containersKilled++;
      rmSync(c.dir, { recursive: true, force: true });
      this.pump();
    });
    child.on("error", () => undefined);
    ready.catch(() => undefined);
    void this.initialize(c, action, first, ready).catch((err) => this.internalError(err));
  }

  /** A bug in the emulator itself: say so loudly rather than leave an activation hanging without a word. */
  internalError(err) {
    process.stderr.write(`openwhisk emulator: internal error: ${err?.stack ?? err}\n`);
  }

  async initialize(c, action, first, ready) {
    const waitTime = Date.now() - first.acceptedAt;
    const start = Date.now();
    let port;
    try {
      port = await ready;
    } catch {
      this.fail([first, ...c.backlog.splice(0)], DEVELOPER_ERROR, msg.abnormalInit, { start, waitTime });
      this.kill(c, "did not start");
      return;
    }
    c.port = port;
    this.stats.coldStarts++;
    const initStart = Date.now();
    let timedOut = false;
    const timer = this.later(action.limits.timeout, () => {
      timedOut = true;
      this.kill(c, "init timed out");
    });
    let answer;
    try {
      answer = await this.post(c, "/init", {
        value: {
          name: action.name,
          main: action.exec.main ?? "main",
          code: action.exec.code,
          binary: action.exec.binary,
          env: {
            __OW_API_HOST: this.url,
            __OW_NAMESPACE: action.namespace,
            __OW_ACTION_NAME: `/${action.namespace}/${action.name}`,
            __OW_ACTION_VERSION: action.version,
          },
        },
      });
    } catch {
      answer = undefined;
    } finally {
      clearTimeout(timer);
      this.timers.delete(timer);
    }
    const initTime = Date.now() - initStart;
    const everyone = [first, ...c.backlog.splice(0)];
    if (answer?.status !== 200) {
      let error;
      if (timedOut) error = msg.timedOut(action.limits.timeout, true);
      else if (c.memoryKilled) error = msg.memoryExhausted;
      else if (!answer) error = msg.abnormalInit;
      else {
        const parsed = parseObject(answer.text);
        error = parsed && "error" in parsed ? parsed.error : msg.invalidInit(answer.text);
      }
      this.fail(everyone, DEVELOPER_ERROR, error, { start, waitTime, initTime, timedOut });
      this.kill(c, "init failed");
      return;
    }
    if (c.state === "dead") {
      this.fail(everyone, DEVELOPER_ERROR, c.memoryKilled ? msg.memoryExhausted : msg.abnormalInit, { start, waitTime, initTime });
      return;
    }
    c.state = "ready";
    for (const act of everyone) void this.run(c, act, { start, waitTime, initTime }).catch((err) => this.internalError(err));
  }

  fail(acts, code, error, times) {
    const end = Date.now();
    for (const act of acts) this.complete(act, { statusCode: code, result: { error } }, { end, ...times, start: times.start ?? end });
  }

  async run(c, act, cold) {
    const action = act.action;
    c.running.add(act);
    c.lastUsed = Date.now();
    const runNumber = ++c.runs;
    const collectsLogs = action.limits.concurrency === 1;
    if (collectsLogs) c.logTarget = act;
    const start = cold.start ?? Date.now();
    const waitTime = cold.waitTime ?? start - act.acceptedAt;
    const timeout = action.limits.timeout;
    let timedOut = false;
    const timer = this.later(timeout, () => {
      timedOut = true;
      this.kill(c, "action timed out");
    });
    let answer;
    const ranFrom = Date.now();
    try {
      answer = await this.post(
        c,
        "/run",
        {
          value: act.params,
          namespace: act.ns,
          action_name: `/${act.ns}/${action.name}`,
          action_version: action.version,
          activation_id: act.id,
          transaction_id: hex(16),
          deadline: String(start + timeout),
        },
        act.crashAfterMs !== undefined ? () => this.later(act.crashAfterMs, () => (act.memoryKill ? this.killForMemory(c) : this.kill(c, "injected crash"))) : undefined,
      );
      if (act.slowBy && answer) {
        // A slow container: the action has answered, and the container holds the answer back (factor − 1) times its
        // run time, busy all the while and under the action's time limit, which may end it first.
        this.stats.straggled++;
        const holdMs = Math.min((act.slowBy - 1) * (Date.now() - ranFrom), start + timeout - Date.now() + 5);
        await new Promise((resolve) => {
          const t = setTimeout(() => {
            this.timers.delete(t);
            resolve();
          }, Math.max(0, holdMs));
          this.timers.add(t);
        });
      }
    } catch {
      answer = undefined;
    } finally {
      clearTimeout(timer);
      this.timers.delete(timer);
      c.running.delete(act);
      c.lastUsed = Date.now();
    }
    const end = Date.now();
    if (act.crashAfterMs !== undefined) answer = undefined; // whatever it said, the container died under it
    // The invoker reads the activation's logs up to the runtime's end markers before it records the activation.
    if (answer && collectsLogs) await this.markers(c, runNumber);
    if (c.logTarget === act) c.logTarget = undefined;
    const times = { start, end, waitTime, ...(cold.initTime !== undefined ? { initTime: cold.initTime } : {}) };
    if (timedOut) this.complete(act, { statusCode: DEVELOPER_ERROR, result: { error: msg.timedOut(timeout, false) } }, { ...times, timedOut: true });
    else if (!answer) this.complete(act, { statusCode: DEVELOPER_ERROR, result: { error: c.memoryKilled ? msg.memoryExhausted : msg.abnormalRun } }, times);
    else this.complete(act, interpretRun(answer, this.limits.maxResultBytes), times);
    if (c.retiring && c.running.size === 0) this.kill(c, c.retiring);
    this.pump();
  }

  /** Resolves once both streams carry `n` end markers, the container is gone, or 1 s passed. */
  markers(c, n) {
    const seen = () => c.state === "dead" || (c.marks.stdout >= n && c.marks.stderr >= n);
    if (seen()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (!seen() && !timedOut) return;
        clearTimeout(t);
        this.timers.delete(t);
        c.markWaiters.delete(done);
        resolve();
      };
      let timedOut = false;
      const t = setTimeout(() => {
        timedOut = true;
        done();
      }, 1_000);
      this.timers.add(t);
      c.markWaiters.add(done);
    });
  }

  /** POSTs JSON to a container; resolves {status, text, size, truncated}, rejects when the container dies. */
  post(c, path, body, onSent) {
    return new Promise((resolve, reject) => {
      if (c.state === "dead") return reject(new Error("container is gone"));
      const payload = JSON.stringify(body);
      const limit = this.limits.maxResultBytes;
      const req = httpRequest(
        { host: "127.0.0.1", port: c.port, path, method: "POST", agent: this.childAgent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
        (res) => {
          const chunks = [];
          let size = 0;
          res.on("data", (chunk) => {
            size += chunk.length;
            if (size <= limit) chunks.push(chunk);
          });
          res.on("error", reject);
          res.on("aborted", () => reject(new Error("container closed the response")));
          res.on("end", () => resolve({ status: res.statusCode, size, truncated: size > limit, text: Buffer.concat(chunks).toString("utf8") }));
        },
      );
      req.on("error", reject);
      req.end(payload, onSent);
    });
  }

  /**
   * Enforces each container's memory limit as its cgroup would: a container whose processes' resident memory goes over
   * the action's memory is killed (SIGKILL), and its activations are recorded as the invoker records an OOM kill. One
   * sweeping timer for all containers, running only while there are any. Linux only (it reads /proc); elsewhere the
   * heap limit each container's Node.js gets is the only bound.
   */
  watchMemory() {
    if (this.memoryTimer || process.platform !== "linux") return;
    this.memoryTimer = setInterval(() => {
      const live = this.containers();
      if (live.length === 0 || this.closed) {
        clearInterval(this.memoryTimer);
        this.memoryTimer = undefined;
        return;
      }
      for (const c of live) {
        // Only a process still running: once it has exited, its pid may belong to another process.
        if (c.state === "dead" || !c.child || c.child.exitCode !== null || c.child.signalCode !== null) continue;
        const rssMb = residentMb(c.child.pid);
        if (rssMb !== undefined && rssMb > c.memoryMb) this.killForMemory(c);
      }
    }, this.options.memoryCheckMs);
    this.memoryTimer.unref?.();
  }

  killForMemory(c) {
    if (c.state === "dead") return;
    c.memoryKilled = true;
    this.stats.memoryKills++;
    this.kill(c, "memory exhausted");
  }

  /**
   * A container of an action that was deleted or updated: as on the stock invoker, what it runs goes on to its end (the
   * activation is billed and recorded as usual; deleting an action cancels nothing), then the container is removed. An
   * idle one goes at once.
   */
  retire(c, why) {
    if (c.state === "dead") return;
    if (c.running.size === 0 && c.backlog.length === 0 && c.state !== "starting") return this.kill(c, why);
    c.retiring = why;
  }

  kill(c, _why) {
    if (c.state === "dead") return;
    c.state = "dead";
    for (const w of [...(c.markWaiters ?? [])]) w();
    if (c.invoker.containers.delete(c)) this.stats.containersKilled++;
    c.child?.kill("SIGKILL");
  }

  /** Stops the server, kills every container and removes their files. Safe to call twice. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.memoryTimer) clearInterval(this.memoryTimer);
    const all = this.containers();
    const exits = all.map((c) => c.exited ?? Promise.resolve());
    for (const c of all) this.kill(c, "emulator closed");
    for (const act of this.pending.values()) for (const w of [...act.waiters]) w(undefined);
    const closed = new Promise((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    this.childAgent.destroy();
    await Promise.race([Promise.all([closed, ...exits]), sleep(5_000)]);
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Resident memory of a process in MB (VmRSS), or undefined when it cannot be read (gone, or not Linux). */
function residentMb(pid) {
  if (!pid) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

function bumpPatch(version) {
  const [a, b, c] = String(version).split(".").map(Number);
  return `${a}.${b}.${(c || 0) + 1}`;
}

function parseObject(text) {
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** How the invoker reads a container's answer to /run (200 + object, {error}, non-200, truncated). */
function interpretRun(answer, limit) {
  if (answer.truncated) {
    // The invoker quotes the response it read, up to the limit: a message of about 1 MB.
    const excerpt = answer.text;
    return { statusCode: APPLICATION_ERROR, result: { error: `${msg.truncated(answer.size, limit)} The truncated response was: ${excerpt}` }, size: answer.size };
  }
  const parsed = parseObject(answer.text);
  if (!parsed) return { statusCode: DEVELOPER_ERROR, result: { error: msg.invalidRun(answer.text) }, size: answer.size };
  if (answer.status === 200) {
    return "error" in parsed
      ? { statusCode: APPLICATION_ERROR, result: { error: parsed.error }, size: answer.size }
      : { statusCode: SUCCESS, result: parsed, size: answer.size };
  }
  return { statusCode: DEVELOPER_ERROR, result: { error: "error" in parsed ? parsed.error : msg.invalidRun(answer.text) }, size: answer.size };
}

// `node server.mjs '{"port":3233,...}'`: serve until SIGINT/SIGTERM or until stdin closes (when a parent pipes it).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = process.argv[2] ? JSON.parse(process.argv[2]) : {};
  const emulator = await startOpenWhiskEmulator(options);
  process.stdout.write(`${JSON.stringify({ url: emulator.url, auth: emulator.auth, namespace: emulator.namespace, pid: process.pid })}\n`);
  const stop = async () => {
    await emulator.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // The stats, with this process's CPU time and memory, so a benchmark can tell whether the emulator kept up.
  process.on("message", (m) => {
    if (m === "stats") process.send?.({ stats: emulator.stats, cpu: process.cpuUsage(), memory: process.memoryUsage() });
  });
  if (!process.stdin.isTTY) {
    process.stdin.on("end", stop);
    process.stdin.resume();
  }
}
