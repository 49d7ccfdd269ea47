// The emulator: one controller, `invokers` invokers, one namespace with one key. This class holds the state and the
// public methods; the parts (http.ts, actions.ts, invoke.ts, activations.ts, placement.ts, container.ts, run.ts,
// memory.ts, faults.ts) do the work on it, and reach one another through it.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkStraggle } from "../straggle.js";
import { complete } from "./activations.js";
import * as faults from "./faults.js";
import { noFaults } from "./faults.js";
import { error, handle, readText, send } from "./http.js";
import { info } from "./info.js";
import type { Action, Activation, Container, Emulator, Faults, Invoker, Outcome, Times } from "./model.js";
import type { ActivationRecord, ControllerInfo, EmulatorContainer, OpenWhiskEmulatorLimits, OpenWhiskEmulatorOptions, OpenWhiskEmulatorSettings, OpenWhiskEmulatorStats, StraggleSpec } from "./options.js";
import { enqueue, kill, killForMemory, pump, retire } from "./placement.js";
import { DEFAULTS, PROFILES } from "./profile.js";
import { hex, sleep } from "./util.js";

/** Starts an emulator on a loopback port (random unless `port` is given) and resolves once it listens. */
export async function startOpenWhiskEmulator(options: OpenWhiskEmulatorOptions = {}): Promise<OpenWhiskEmulator> {
  const emulator = new OpenWhiskEmulator(options);
  await emulator.listen();
  return emulator;
}

/** The emulator: one controller, `invokers` invokers, one namespace with one key. */
export class OpenWhiskEmulator implements Emulator {
  readonly options: OpenWhiskEmulatorSettings;
  /** Offered kinds and `nodejs:default`, each to the kind it runs as. */
  readonly kinds: Map<string, string>;
  readonly limits: OpenWhiskEmulatorLimits;
  readonly namespace: string;
  readonly auth: string;
  readonly subject: string;
  readonly stats: OpenWhiskEmulatorStats;
  /** "ns/name" -> action document (with code). */
  readonly actions = new Map<string, Action>();
  /** id -> record. */
  readonly activations = new Map<string, ActivationRecord>();
  readonly lost = new Set<string>();
  /** id -> in-flight activation. */
  readonly pending = new Map<string, Activation>();
  readonly queue: Activation[] = [];
  readonly invokers: Invoker[];
  readonly ns: { inFlight: number; minute: number; minuteCount: number };
  readonly faults: Faults;
  readonly timers = new Set<NodeJS.Timeout>();
  /** Activations accepted since the straggle rule was set: the rule picks by this count. */
  straggleSeq = 0;
  closed = false;
  readonly root: string;
  readonly childAgent: Agent;
  readonly server: Server;
  memoryTimer: NodeJS.Timeout | undefined;
  /** `http://127.0.0.1:PORT`, once listening. */
  url = "";
  port = 0;

  constructor(options: OpenWhiskEmulatorOptions = {}) {
    const profile = PROFILES[options.profile ?? DEFAULTS.profile];
    if (!profile) throw new Error(`unknown OpenWhisk emulator profile ${options.profile}: pick ${Object.keys(PROFILES).join(", ")}`);
    const o: OpenWhiskEmulatorSettings = { ...DEFAULTS, ...profile, ...options } as OpenWhiskEmulatorSettings;
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
    this.invokers = Array.from({ length: o.invokers }, (_, index) => ({ index, containers: new Set<Container>() }));
    this.ns = { inFlight: 0, minute: -1, minuteCount: 0 };
    this.faults = noFaults();
    this.root = mkdtempSync(join(tmpdir(), "ow-emulator-"));
    this.childAgent = new Agent({ keepAlive: true, maxSockets: Infinity });
    this.server = createServer((req, res) => handle(this, req, res));
    // Longer than any client keeps an idle socket, so a reused socket is never closed under a request; no
    // per-request deadline, since a blocking invocation may legitimately wait out the whole blocking window.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.requestTimeout = 0;
  }

  listen(): Promise<this> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host, () => {
        const { port } = this.server.address() as AddressInfo;
        this.port = port;
        this.url = `http://${this.options.host}:${port}`;
        resolve(this);
      });
    });
  }

  /** Settings for OpenWhiskBackend (apihost, auth, namespace). */
  get clientOptions(): { apihost: string; auth: string; namespace: string } {
    return { apihost: this.url, auth: this.auth, namespace: this.namespace };
  }

  /** The controller's info document, as GET / answers it. */
  info(): ControllerInfo {
    return info(this);
  }

  // ---- fault injection (faults.ts): each applies to the next `count` invocations (POST .../actions/NAME) ---------

  /** The next invocations are throttled: "concurrent"/"minute" answer 429; "queue" records the activation as the FPC MemoryQueue does (failed, not run). */
  throttleNext(count = 1, opts: { reason?: "concurrent" | "minute" | "queue"; whiskError?: boolean } = {}): void {
    faults.throttleNext(this, count, opts);
  }
  /** The next invocations answer a 5xx (502/504 as a proxy's HTML page, others as JSON). */
  failNext(count = 1, opts: { status?: number } = {}): void {
    faults.failNext(this, count, opts);
  }
  /** The next activations end as "application error" with `{error: message}`, without running. */
  applicationErrorNext(count = 1, opts: { message?: string } = {}): void {
    faults.applicationErrorNext(this, count, opts);
  }
  /** The next activations wait `delayMs` (default: the blocking window + 300 ms) before they run. */
  slowNext(count = 1, opts: { delayMs?: number } = {}): void {
    faults.slowNext(this, count, opts);
  }
  /** The next activations are accepted, never run and never recorded. */
  loseNext(count = 1): void {
    faults.loseNext(this, count);
  }
  /** The next activations' containers are killed `afterMs` after the run request reaches them. */
  crashNext(count = 1, opts: { afterMs?: number } = {}): void {
    faults.crashNext(this, count, opts);
  }
  /** Sets (or with undefined, clears) the `straggle` rule; it picks from the next activation on, as if newly started. */
  setStraggle(spec: StraggleSpec | undefined): void {
    faults.setStraggle(this, spec);
  }
  /** The next activations' containers are killed for exceeding their memory `afterMs` after the run request reaches them. */
  exhaustMemoryNext(count = 1, opts: { afterMs?: number } = {}): void {
    faults.exhaustMemoryNext(this, count, opts);
  }
  /** Drops every fault not yet used. */
  clearFaults(): void {
    faults.clearFaults(this);
  }
  /** Kills every container (an invoker restart); activations running in them fail as the platform reports it. */
  killContainers(): void {
    for (const c of this.live()) this.kill(c, "killed by the test");
  }

  /** Every live container. */
  containers(): EmulatorContainer[] {
    return this.live();
  }
  live(): Container[] {
    return this.invokers.flatMap((i) => [...i.containers]);
  }

  // ---- what the parts ask of one another -------------------------------------------------------------------------

  send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
    send(res, status, body, headers);
  }
  error(res: ServerResponse, status: number, message: string, headers?: Record<string, string>): void {
    error(res, status, message, headers);
  }
  readBody(req: IncomingMessage, limit: number): Promise<{ size: number; tooLarge: boolean; text: string }> {
    return readText(req, limit);
  }
  complete(act: Activation, response: Outcome, times: Times): void {
    complete(this, act, response, times);
  }
  enqueue(act: Activation): void {
    enqueue(this, act);
  }
  pump(): void {
    pump(this);
  }
  retire(c: Container, why: string): void {
    retire(this, c, why);
  }
  kill(c: Container, why: string): void {
    kill(this, c, why);
  }
  killForMemory(c: Container): void {
    killForMemory(this, c);
  }
  later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
    return t;
  }
  /** A bug in the emulator itself: say so loudly rather than leave an activation hanging without a word. */
  internalError(err: unknown): void {
    process.stderr.write(`openwhisk emulator: internal error: ${(err as Error | undefined)?.stack ?? err}\n`);
  }

  /** Stops the server, kills every container and removes their files. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.memoryTimer) clearInterval(this.memoryTimer);
    const all = this.live();
    const exits = all.map((c) => c.exited ?? Promise.resolve());
    for (const c of all) this.kill(c, "emulator closed");
    for (const act of this.pending.values()) for (const w of [...act.waiters]) w(undefined);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    this.childAgent.destroy();
    await Promise.race([Promise.all([closed, ...exits]), sleep(5_000)]);
    rmSync(this.root, { recursive: true, force: true });
  }
}
