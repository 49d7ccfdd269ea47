// Lambda's part of the function lifecycle, wired together: the clients, and the CloudPlatform methods core's
// FunctionBackend calls, each handing what it needs to deploy.ts (the function's deployment), invoke.ts (the
// invocation), classify.ts (what Lambda's answers mean), discover.ts (what open learns) and cost.ts.
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { entryModulePath, type Answer, type AttemptContinuation, type CloudPlatform, type FunctionSpec, type OwnedFunction, type PrepareContext, type TaskError } from "@superfaas/core";
import { S3Store } from "@superfaas/store-s3";
import { classify } from "./classify.js";
import type { FunctionS3Config, LambdaConfig } from "./config.js";
import { estimateLambdaCost } from "./cost.js";
import { deployFunction, HANDLER, listOwnedFunctions, logGroupOf, removeFunction, removeLogGroup, type ControlPlane } from "./deploy.js";
import { discoverFunctionS3 } from "./discover.js";
import { keepForeignBodies } from "./foreign-body.js";
import { UndiciHttpHandler } from "./http.js";
import { LAMBDA_INLINE_LIMIT, LambdaInvoker, sendInvocation, sendInvocationThen } from "./invoke.js";

/** Deploys the job as a zip function and runs each attempt as one synchronous invocation. */
export class LambdaPlatform implements CloudPlatform {
  readonly name = "lambda";
  readonly facts: CloudPlatform["facts"];
  readonly inlineLimitText = "Lambda's 6 MB invoke limit";
  readonly entry: CloudPlatform["entry"];
  readonly storeModules = ["@superfaas/store-s3"];
  readonly keep: boolean;
  readonly store: S3Store | undefined;
  /** Sends the invocations through `data` (see LambdaInvoker for the two paths). */
  readonly invoker: LambdaInvoker;
  private readonly control: LambdaClient;
  /** CloudWatch Logs, for the retention of the log groups of functions this backend creates. */
  private readonly logs: CloudWatchLogsClient;
  private readonly data: LambdaClient;
  private readonly http: UndiciHttpHandler;
  /** The store's settings as the function receives them (environment), known once the bucket is checked. */
  private functionS3: FunctionS3Config | undefined;

  constructor(readonly config: LambdaConfig) {
    const c = config;
    this.keep = c.keep;
    this.facts = { defaultConcurrency: c.defaultConcurrency, maxConcurrency: c.concurrencyLimit, inlinePayloadBytes: LAMBDA_INLINE_LIMIT };
    this.entry = { path: entryModulePath(import.meta.url, "handler-entry"), nodeTarget: `node${/^nodejs(\d+)/.exec(c.runtime)?.[1] ?? "20"}` };
    const common = { ...(c.region ? { region: c.region } : {}), ...(c.endpoint ? { endpoint: c.endpoint } : {}), ...(c.credentials ? { credentials: c.credentials } : {}) };
    // Invocations share one keep-alive pool sized to the concurrency (resized in open). A synchronous invoke keeps its
    // connection silent until the function returns, so the response timeout must outlast the function's time limit.
    this.http = new UndiciHttpHandler({ connections: Math.min(c.defaultConcurrency, c.concurrencyLimit) + 8, connectTimeoutMs: 10_000, responseTimeoutMs: (c.timeoutSeconds + 30) * 1000 });
    // The scheduler owns retries (with backoff and its throttling window); the SDK must not retry behind its back.
    this.data = new LambdaClient({ ...common, maxAttempts: 1, requestHandler: this.http });
    this.invoker = new LambdaInvoker(this.data);
    keepForeignBodies(this.data);
    this.control = new LambdaClient({
      ...common,
      requestHandler: new NodeHttpHandler({
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 4 }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 4 }),
        connectionTimeout: Math.min(10_000, c.apiTimeoutSeconds * 1000),
        // An endpoint that accepts and never answers: each attempt ends after apiTimeout, the SDK makes 3. Without
        // throwOnRequestTimeout the handler only logs a warning when requestTimeout passes, and the request waits on.
        requestTimeout: c.apiTimeoutSeconds * 1000,
        throwOnRequestTimeout: true,
      }),
    });
    keepForeignBodies(this.control);
    // --endpoint (LocalStack, the loopback server) serves CloudWatch Logs too; otherwise the SDK's chain decides.
    this.logs = new CloudWatchLogsClient({
      ...common,
      requestHandler: new NodeHttpHandler({ connectionTimeout: Math.min(10_000, c.apiTimeoutSeconds * 1000), requestTimeout: c.apiTimeoutSeconds * 1000, throwOnRequestTimeout: true }),
    });
    if (c.s3) {
      this.store = new S3Store({
        bucket: c.s3.bucket,
        ...(c.region ? { region: c.region } : {}),
        ...(c.s3.endpoint ? { endpoint: c.s3.endpoint, forcePathStyle: true } : {}),
        ...(c.credentials ? { credentials: c.credentials } : {}),
      });
    }
  }

  async open(ctx: PrepareContext): Promise<void> {
    const c = this.config;
    this.http.resize(Math.min(ctx.concurrency, c.concurrencyLimit) + 8);
    if (this.store && !this.functionS3) this.functionS3 = await discoverFunctionS3(this.store, c);
  }

  settings(): Record<string, unknown> {
    const c = this.config;
    return { runtime: c.runtime, arch: c.arch, memory: c.memory, timeout: c.timeoutSeconds, role: c.role, handler: HANDLER, s3: this.functionS3, data: c.functionDataEndpoint };
  }

  /** Creates the function (or finds it, made by another run), and waits until it can run. */
  deploy(spec: FunctionSpec, ctx: PrepareContext): Promise<"created" | "found"> {
    return deployFunction(this.controlPlane(), spec, ctx);
  }

  /** What deploy.ts needs: the control-plane clients, the settings, and the store's settings once known. */
  private controlPlane(): ControlPlane {
    return { control: this.control, logs: this.logs, config: this.config, functionS3: this.functionS3 };
  }

  remove(name: string): Promise<void> {
    return removeFunction(this.control, name);
  }

  /** Every `superfaas-*` function tagged by superfaas. */
  listOwned(): Promise<OwnedFunction[]> {
    return listOwnedFunctions(this.control);
  }

  logGroupOf(name: string): string {
    return logGroupOf(name);
  }

  removeLogGroup(group: string): Promise<void> {
    return removeLogGroup(this.logs, group);
  }

  send(name: string, body: string, signal: AbortSignal): Promise<Answer> {
    return sendInvocation(this.invoker, name, body, signal);
  }

  sendThen<T>(name: string, body: string, signal: AbortSignal, next: AttemptContinuation<T>): Promise<T> {
    return sendInvocationThen(this.invoker, name, body, signal, next);
  }

  classify(error: unknown, name: string): TaskError | "missing" {
    return classify(error, name, this.config);
  }

  /** Estimated cost in US dollars: billed GB-seconds at the architecture's price plus the request charge. */
  estimateCost(usage: { invocations: number; billedMs: number }): number {
    return estimateLambdaCost(usage, this.config.memory, this.config.price);
  }

  async close(): Promise<void> {
    this.data.destroy(); // and its request handler's connections
    this.control.destroy();
    this.logs.destroy();
  }
}
