// OpenWhisk's part of the function lifecycle, wired together: what the deployment offers (discover.ts), the action's
// deployment and clean-up (deploy.ts), the invocation (invoke.ts), what the platform's answers mean (classify.ts)
// and what it bills (cost.ts). Everything else is core's FunctionBackend.
import { entryModulePath, SuperfaasError, type TaskError, type Answer, type CloudPlatform, type FunctionSpec, type OwnedFunction, type PrepareContext } from "@superfaas/core";
import type { S3Store } from "@superfaas/store-s3";
import { classify } from "./classify.js";
import type { OpenWhiskConfig } from "./config.js";
import type { Controller } from "./control.js";
import { billedSince, type Billed } from "./cost.js";
import { deployAction, listOwned, removeAction } from "./deploy.js";
import { readDeployment, type Deployment } from "./discover.js";
import { ActionInvoker } from "./invoke.js";
import { proxyFromEnv, Transport } from "./transport.js";


/** The platform's documented limits on parameters and results (1 MB each); we keep a margin for the envelope. */
export const OPENWHISK_PAYLOAD_LIMIT = 1024 * 1024;
const INLINE_LIMIT = OPENWHISK_PAYLOAD_LIMIT - 16 * 1024;
const ENTRY = entryModulePath(import.meta.url, "action-entry");

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
  transport: Transport | undefined;
  /** Read from the controller in the first open. */
  deployment: Deployment | undefined;
  private readonly invoker: ActionInvoker;

  constructor(readonly config: OpenWhiskConfig) {
    this.keep = config.keep;
    this.facts = { defaultConcurrency: config.maxInFlight, inlinePayloadBytes: INLINE_LIMIT };
    // Room for the way there and back below the front proxy's limit (20%, and half of a short limit); the
    // controller waits 60 s at most. 30 s gives 24 s.
    const margin = Math.max(config.proxyTimeoutMs * 0.2, Math.min(5_000, config.proxyTimeoutMs / 2));
    this.invoker = new ActionInvoker(this, Math.max(100, Math.min(60_000, Math.floor(config.proxyTimeoutMs - margin))));
  }

  /** What blocking invocations ask the controller to wait for at most (lowered when it allows less). */
  get blockingTimeoutMs(): number {
    return this.invoker.blockingTimeoutMs;
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
    this.deployment ??= await readDeployment(this.controller(transport), this.config, ctx);
    const l = this.deployment.info?.limits;
    if (typeof l?.concurrent_actions === "number" && l.concurrent_actions > 0) {
      // More activations in flight than the namespace allows would only earn 429s: the run's window stops there.
      this.facts.platformConcurrency = l.concurrent_actions;
      if (!this.config.given.maxInFlight) this.facts.defaultConcurrency = l.concurrent_actions;
    }
    if (typeof l?.actions_per_minute === "number" && l.actions_per_minute > 0) this.facts.maxAutoTasks = this.facts.invocationsPerMinute = l.actions_per_minute;
  }

  private controller(transport: Transport): Controller {
    return { transport, requestTimeoutMs: this.config.requestTimeoutMs };
  }

  /** The pool to the controller, made again when a run's concurrency needs another size. */
  private connect(connections: number): Transport {
    const c = this.config;
    if (this.transport?.connections !== connections) {
      // A new run with another width: the old pool closes once its requests are done.
      void this.transport?.close(true);
      const blockingTimeoutMs = this.invoker.blockingTimeoutMs;
      this.transport = new Transport({
        apihost: c.apihost,
        auth: c.auth,
        namespace: c.namespace,
        insecure: c.insecure,
        connections,
        proxy: proxyFromEnv(),
        blockingTimeoutMs,
        // No answer may take longer than the blocking wait plus the control-plane deadline: an endpoint that
        // accepts connections and never answers fails every request within that.
        headersTimeoutMs: blockingTimeoutMs + c.requestTimeoutMs,
        bodyTimeoutMs: c.requestTimeoutMs,
      });
      this.invoker.reset();
    }
    return this.transport;
  }

  async open(ctx: PrepareContext): Promise<void> {
    const c = this.config;
    // One connection per attempt in flight (a blocking invoke holds its connection until the activation ends), and
    // a few for the polls of activations that outlived the blocking window and for management calls.
    const transport = this.connect(ctx.concurrency + 4);
    this.invoker.log = ctx.log;
    this.deployment ??= await readDeployment(this.controller(transport), c, ctx);
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

  settings(): Record<string, unknown> {
    const c = this.config;
    const d = this.deployment;
    return { kind: d?.kind ?? c.kind, node: d?.nodeMajor, memory: d?.memory ?? c.memory, timeoutMs: d?.actionTimeoutMs ?? c.actionTimeoutMs, concurrency: c.actionConcurrency, s3: c.s3 };
  }

  deploy(spec: FunctionSpec, ctx: PrepareContext): Promise<"created" | "found"> {
    return deployAction(this.controller(this.transport!), this.config, this.deployment!, spec, ctx);
  }

  /** Every action of the namespace with superfaas's owner annotation. */
  async listOwned(): Promise<OwnedFunction[]> {
    return this.transport ? listOwned(this.controller(this.transport)) : [];
  }

  async remove(name: string): Promise<void> {
    if (this.transport) await removeAction(this.controller(this.transport), name);
  }

  /** The activations of the action recorded since `since`: see cost.ts. */
  async billedSince(name: string, since: number, expected: number, signal: AbortSignal): Promise<Billed | undefined> {
    return this.transport ? billedSince(this.transport, name, since, expected, signal) : undefined;
  }

  /** Blocking invoke; falls back to polling when the platform's blocking window (60 s) runs out first. */
  send(name: string, body: string, signal: AbortSignal): Promise<Answer> {
    return this.invoker.send(name, body, signal);
  }

  classify(error: unknown): TaskError | "missing" {
    return classify(error, this);
  }

  async close(): Promise<void> {
    this.store = undefined;
    await this.transport?.close();
    this.transport = undefined;
    this.invoker.reset();
  }
}
