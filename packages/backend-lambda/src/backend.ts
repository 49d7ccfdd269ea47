import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  LambdaClient,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type FunctionConfiguration,
  type InvokeCommandOutput,
  type Runtime,
} from "@aws-sdk/client-lambda";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import {
  bundleJob,
  entryModulePath,
  openEnvelopeWithStore,
  SuperfaasError,
  TaskError,
  zipBundle,
  type Backend,
  type BackendFacts,
  type Bundle,
  type InvokeRequest,
  type InvokeResult,
  type PrepareContext,
  type TaskPayload,
} from "@superfaas/core";
import { S3Store } from "@superfaas/store-s3";
import { estimateLambdaCost, MINIMAL_ROLE_HINT, resolveLambdaConfig, type FunctionS3Config, type LambdaConfig, type LambdaOptions } from "./config.js";
import { S3_ENV } from "./wire.js";
import { UndiciHttpHandler } from "./http.js";
import { LambdaInvoker } from "./invoke.js";
import { decodeLogResult, parseReportLine, type LambdaReport } from "./report.js";

/** Lambda's limit on a synchronous invocation's request and response payloads (6 MB). */
export const LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024;
/** Largest task or partial sent inline; the margin covers the envelope around it. */
export const LAMBDA_INLINE_LIMIT = LAMBDA_PAYLOAD_LIMIT - 64 * 1024;

const HANDLER = "index.handler";

/** `superfaas-<job>-<hash>`: at most 64 characters of letters, digits, '-' and '_', as Lambda requires. */
export function lambdaFunctionName(jobName: string, bundleHash: string): string {
  const job = jobName.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 64 - "superfaas-".length - 13);
  return `superfaas-${job}-${bundleHash.slice(0, 12)}`;
}

type AwsError = Error & {
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $fault?: "client" | "server";
  retryAfterSeconds?: string;
  Reason?: string;
  code?: string;
};

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

// Failures of the execution environment, not of the job: another attempt in a fresh environment may succeed.
const RETRYABLE_RUNTIME_ERRORS = new Set(["Runtime.ExitError", "Runtime.Unknown", "Runtime.OutOfMemory"]);
const CREDENTIAL_ERRORS = new Set([
  "AccessDeniedException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "ExpiredTokenException",
  "CredentialsProviderError",
  "MissingAuthenticationTokenException",
]);

/** Usage the backend saw, beyond what each InvokeResult carries. */
export interface LambdaUsage {
  invocations: number;
  coldStarts: number;
  throttled: number;
  billedMs: number;
  /** Highest "Max Memory Used" any REPORT line showed, in MB. */
  maxMemoryUsedMb: number;
}

/** Runs each task as a synchronous invocation of one Lambda function made from the job. */
export class LambdaBackend implements Backend {
  readonly name = "lambda";
  readonly facts: BackendFacts;
  readonly config: LambdaConfig;
  readonly usage: LambdaUsage = { invocations: 0, coldStarts: 0, throttled: 0, billedMs: 0, maxMemoryUsedMb: 0 };
  private readonly control: LambdaClient;
  private readonly data: LambdaClient;
  /** Sends the invocations through `data` (see LambdaInvoker for the two paths). */
  readonly invoker: LambdaInvoker;
  private readonly http: UndiciHttpHandler;
  private readonly store: S3Store | undefined;
  private functionS3: FunctionS3Config | undefined;
  private functionName: string | undefined;
  private runPrefix = "";
  private readonly prefixes = new Set<string>();
  private readonly uploaded = new Set<string>();
  private readonly deployed = new Set<string>();
  // Bundles made by this backend, by job and entry: a backend that runs the same job again skips esbuild unless the
  // job's module file changed since (edits to other files it imports need a new backend).
  private readonly bundles = new Map<string, { mtimeMs: number; bundle: Bundle }>();

  constructor(options: LambdaOptions = {}) {
    this.config = resolveLambdaConfig(options);
    const c = this.config;
    this.facts = { defaultConcurrency: c.defaultConcurrency, maxConcurrency: c.concurrencyLimit, inlinePayloadBytes: LAMBDA_INLINE_LIMIT };
    const common = {
      ...(c.region ? { region: c.region } : {}),
      ...(c.endpoint ? { endpoint: c.endpoint } : {}),
      ...(c.credentials ? { credentials: c.credentials } : {}),
    };
    // Invocations share one keep-alive pool sized to the concurrency (resized in prepare), so thousands of tasks
    // reuse a few hundred connections. A synchronous invoke keeps its connection silent until the function returns,
    // so the response timeout must outlast the function's own time limit.
    this.http = new UndiciHttpHandler({
      connections: Math.min(c.defaultConcurrency, c.concurrencyLimit) + 8,
      connectTimeoutMs: 10_000,
      responseTimeoutMs: (c.timeoutSeconds + 30) * 1000,
    });
    this.data = new LambdaClient({
      ...common,
      // The scheduler owns retries (with backoff and its throttling window); the SDK must not retry behind its back.
      maxAttempts: 1,
      requestHandler: this.http,
    });
    this.invoker = new LambdaInvoker(this.data);
    this.control = new LambdaClient({
      ...common,
      requestHandler: new NodeHttpHandler({
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 4 }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 4 }),
        connectionTimeout: 10_000,
        requestTimeout: 120_000,
      }),
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

  async prepare(ctx: PrepareContext): Promise<void> {
    const c = this.config;
    const nodeTarget = `node${/^nodejs(\d+)/.exec(c.runtime)?.[1] ?? "20"}`;
    const bundle = await this.bundle(ctx, nodeTarget);
    const name = lambdaFunctionName(ctx.job.jobName, bundle.hash);
    this.functionName = name;
    this.runPrefix = `superfaas/${ctx.runId}/`;
    this.prefixes.add(this.runPrefix);
    this.http.resize(Math.min(ctx.concurrency, c.concurrencyLimit) + 8);
    if (this.store && !this.functionS3) {
      try {
        await this.store.ensureBucket();
        const region = await this.store.client.config.region();
        const endpoint = c.s3!.functionEndpoint;
        this.functionS3 = { bucket: c.s3!.bucket, ...(region ? { region } : {}), ...(endpoint ? { endpoint, forcePathStyle: true } : {}) };
      } catch (err) {
        throw new SuperfaasError(
          "BACKEND_CONFIG",
          `lambda: cannot use bucket ${c.s3!.bucket}: ${(err as Error).message}`,
          "pick a bucket these credentials may read and write (--bucket), or create it first; check AWS_ENDPOINT_URL_S3 for S3-compatible stores",
          { cause: err },
        );
      }
    }
    if (this.deployed.has(name)) return;
    const zip = await zipBundle(bundle, "index.js");
    await this.deploy(name, zip, bundle.hash, ctx);
    this.deployed.add(name);
  }

  private async bundle(ctx: PrepareContext, nodeTarget: string): Promise<Bundle> {
    const key = `${ctx.job.modulePath}\0${ctx.job.jobName}\0${nodeTarget}`;
    let mtimeMs = -1;
    try {
      mtimeMs = statSync(ctx.job.modulePath).mtimeMs;
    } catch {
      /* bundleJob reports a missing module */
    }
    const hit = this.bundles.get(key);
    if (hit && hit.mtimeMs === mtimeMs) return hit.bundle;
    const bundle = await bundleJob({
      job: ctx.job,
      target: `lambda-${this.store ? "s3" : "inline"}`,
      entry: entryModulePath(import.meta.url, "handler-entry"),
      // Without a bucket the function never opens the store: leave the AWS SDK out of its zip.
      ...(this.store ? {} : { external: ["@superfaas/store-s3"] }),
      format: "cjs",
      nodeTarget,
    });
    this.bundles.set(key, { mtimeMs, bundle });
    return bundle;
  }

  /** What the function's configuration should be. */
  private desiredConfiguration(jobName: string, hash: string) {
    const c = this.config;
    const variables: Record<string, string> = this.functionS3 ? { [S3_ENV]: JSON.stringify(this.functionS3) } : {};
    return {
      Runtime: c.runtime as Runtime,
      Handler: HANDLER,
      MemorySize: c.memory,
      Timeout: c.timeoutSeconds,
      Description: `superfaas job ${jobName} (bundle ${hash.slice(0, 12)})`,
      Environment: { Variables: variables },
    };
  }

  /** Creates the function, or brings an existing one up to date (code and configuration), and waits until it can run. */
  private async deploy(name: string, zip: Uint8Array, hash: string, ctx: PrepareContext): Promise<void> {
    const c = this.config;
    const signal = ctx.signal;
    const sha = createHash("sha256").update(zip).digest("base64");
    const desired = this.desiredConfiguration(ctx.job.jobName, hash);
    let current: FunctionConfiguration | undefined;
    try {
      current = (await this.control.send(new GetFunctionCommand({ FunctionName: name }), { abortSignal: signal })).Configuration;
    } catch (err) {
      if ((err as Error).name !== "ResourceNotFoundException") throw this.configError(err, `looking up function ${name}`, signal);
    }
    if (!current) {
      if (!c.role) {
        throw new SuperfaasError("BACKEND_CONFIG", `lambda: function ${name} does not exist yet and no execution role is set to create it`, MINIMAL_ROLE_HINT);
      }
      ctx.log?.(`lambda: creating function ${name} (${(zip.length / 1024).toFixed(0)} KB zip, ${c.runtime}, ${c.arch}, ${c.memory} MB, ${c.timeoutSeconds} s)`);
      const created = await this.create(name, zip, desired, signal);
      if (created) {
        await this.waitFor("active", name, signal);
        return;
      }
      // Another run created it between our look-up and our create: take it as it is and bring it up to date.
      current = (await this.control.send(new GetFunctionCommand({ FunctionName: name }), { abortSignal: signal })).Configuration;
    }
    if (current?.State === "Pending") await this.waitFor("active", name, signal);
    if (current?.State === "Failed") {
      throw new SuperfaasError("BACKEND_CONFIG", `lambda: function ${name} is in state Failed: ${current.StateReason ?? "no reason given"}`, `delete it (aws lambda delete-function --function-name ${name}) and run again`);
    }
    if (current?.LastUpdateStatus === "InProgress") await this.waitFor("updated", name, signal);
    if (current?.CodeSha256 !== sha || current?.Architectures?.[0] !== c.arch) {
      ctx.log?.(`lambda: updating the code of ${name}`);
      await this.control
        .send(new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: zip, Architectures: [c.arch] }), { abortSignal: signal })
        .catch((err: unknown) => Promise.reject(this.configError(err, `updating the code of ${name}`, signal)));
      await this.waitFor("updated", name, signal);
    }
    const env = (x: Record<string, string> | undefined) => JSON.stringify(Object.entries(x ?? {}).sort());
    const differs =
      current?.MemorySize !== desired.MemorySize ||
      current?.Timeout !== desired.Timeout ||
      current?.Runtime !== desired.Runtime ||
      current?.Handler !== desired.Handler ||
      env(current?.Environment?.Variables) !== env(desired.Environment.Variables) ||
      (c.role !== undefined && current?.Role !== c.role);
    if (differs) {
      ctx.log?.(`lambda: updating the configuration of ${name} (${c.memory} MB, ${c.timeoutSeconds} s, ${c.runtime})`);
      await this.control
        .send(new UpdateFunctionConfigurationCommand({ FunctionName: name, ...desired, ...(c.role ? { Role: c.role } : {}) }), { abortSignal: signal })
        .catch((err: unknown) => Promise.reject(this.configError(err, `updating the configuration of ${name}`, signal)));
      await this.waitFor("updated", name, signal);
    }
  }

  /** CreateFunction; false when it already exists. Retries while a new role is not yet assumable (IAM propagates slowly). */
  private async create(name: string, zip: Uint8Array, desired: ReturnType<LambdaBackend["desiredConfiguration"]>, signal?: AbortSignal): Promise<boolean> {
    const c = this.config;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.control.send(
          new CreateFunctionCommand({ FunctionName: name, Role: c.role!, Code: { ZipFile: zip }, Architectures: [c.arch], PackageType: "Zip", ...desired }),
          { abortSignal: signal },
        );
        return true;
      } catch (err) {
        const e = err as AwsError;
        if (e.name === "ResourceConflictException") return false;
        if (e.name === "InvalidParameterValueException" && /cannot be assumed/i.test(e.message) && attempt < 8) {
          await sleep(2_000 * attempt, signal);
          continue;
        }
        throw this.configError(err, `creating function ${name}`, signal);
      }
    }
  }

  private async waitFor(what: "active" | "updated", name: string, signal?: AbortSignal): Promise<void> {
    const w = this.config.waiter;
    const params = { client: this.control, minDelay: w.minDelay, maxDelay: w.maxDelay, maxWaitTime: w.maxWaitTime, ...(signal ? { abortSignal: signal } : {}) };
    try {
      if (what === "active") await waitUntilFunctionActiveV2(params, { FunctionName: name });
      else await waitUntilFunctionUpdatedV2(params, { FunctionName: name });
    } catch (err) {
      if (signal?.aborted) throw new SuperfaasError("CANCELLED", `lambda: cancelled while waiting for ${name}`, "nothing ran; run again", { cause: err });
      const conf = await this.control.send(new GetFunctionCommand({ FunctionName: name })).then(
        (r) => r.Configuration,
        () => undefined,
      );
      const reason = what === "active" ? conf?.StateReason : conf?.LastUpdateStatusReason;
      throw new SuperfaasError(
        "BACKEND_CONFIG",
        `lambda: function ${name} did not become ${what === "active" ? "Active" : "Updated"} (state ${conf?.State ?? "unknown"}, last update ${conf?.LastUpdateStatus ?? "unknown"})${reason ? `: ${reason}` : ""}`,
        "check the function in the Lambda console or with `aws lambda get-function`; a role the function cannot assume or a bad runtime are the usual causes",
        { cause: err },
      );
    }
  }

  private configError(err: unknown, doing: string, signal?: AbortSignal): SuperfaasError {
    if (signal?.aborted) return new SuperfaasError("CANCELLED", `lambda: cancelled while ${doing}`, "run again", { cause: err });
    if (err instanceof SuperfaasError) return err;
    const e = err as AwsError;
    const status = e.$metadata?.httpStatusCode;
    const where = this.config.endpoint ?? `AWS Lambda in ${this.config.region ?? "the SDK's default region"}`;
    if (/region is missing/i.test(e.message ?? "")) {
      return new SuperfaasError("BACKEND_CONFIG", `lambda: no AWS region is set while ${doing}`, "pass --region, set AWS_REGION, or set region in the AWS profile", { cause: err });
    }
    if (CREDENTIAL_ERRORS.has(e.name) || status === 401 || status === 403) {
      return new SuperfaasError(
        "BACKEND_CONFIG",
        `lambda: ${where} refused the request while ${doing} (${e.name}${status ? `, HTTP ${status}` : ""}): ${e.message}`,
        "check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO) and that they allow lambda:GetFunction, lambda:CreateFunction, " +
          "lambda:UpdateFunctionCode, lambda:UpdateFunctionConfiguration, lambda:InvokeFunction, lambda:DeleteFunction and iam:PassRole on the execution role",
        { cause: err },
      );
    }
    if (e.name === "InvalidParameterValueException" || e.name === "ValidationException") {
      return new SuperfaasError("BACKEND_CONFIG", `lambda: ${e.name} while ${doing}: ${e.message}`, /role/i.test(e.message) ? MINIMAL_ROLE_HINT : "check --role, --runtime, --memory and --function-timeout", { cause: err });
    }
    if (status) return new SuperfaasError("BACKEND_CONFIG", `lambda: ${e.name} (HTTP ${status}) while ${doing}: ${e.message}`, "check the function's settings and the account's Lambda quotas", { cause: err });
    return new SuperfaasError(
      "BACKEND_CONFIG",
      `lambda: cannot reach ${where} while ${doing}: ${e.message || e.name}`,
      "check --region / AWS_REGION and, for LocalStack or another Lambda-compatible server, --endpoint / AWS_ENDPOINT_URL_LAMBDA",
      { cause: err },
    );
  }

  async invoke(req: InvokeRequest, signal: AbortSignal): Promise<InvokeResult> {
    const name = this.functionName;
    if (!name) throw new SuperfaasError("INTERNAL", "lambda backend used before prepare()", "call run(), which prepares the backend");
    const payload: TaskPayload = { task: req.task, taskIndex: req.taskIndex, attempt: req.attempt };
    if (this.store) {
      payload.resultKey = `${this.runPrefix}results/${req.taskIndex}-${req.attempt}.json`;
      payload.maxInlineBytes = LAMBDA_INLINE_LIMIT;
    }
    // Encoded once: its length is the size check, and the bytes are the request body.
    let body: Uint8Array = Buffer.from(JSON.stringify(payload), "utf8");
    if (body.length > LAMBDA_INLINE_LIMIT) body = await this.taskByReference(req, payload, body.length, signal);
    let out: InvokeCommandOutput;
    try {
      out = await this.invoker.invoke({ FunctionName: name, InvocationType: "RequestResponse", LogType: "Tail", Payload: body }, signal);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw this.invokeError(err as AwsError, name);
    }
    this.usage.invocations++;
    const report = parseReportLine(decodeLogResult(out.LogResult));
    const p = out.Payload;
    // A view on the response bytes, decoded once (no copy into a new Buffer first).
    const text = p ? Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString("utf8") : "";
    if (out.FunctionError) throw functionError(text, report, req.taskIndex);
    let envelope: unknown;
    try {
      envelope = JSON.parse(text);
    } catch {
      throw new TaskError(`lambda returned an answer that is not JSON: ${text.slice(0, 200)}`, { retryable: true, origin: "platform" });
    }
    const result = await openEnvelopeWithStore(envelope, this.store);
    this.addStats(result, report, out.$metadata.requestId);
    return result;
  }

  /** Uploads a task too large to send inline and returns the request body that names it instead. */
  private async taskByReference(req: InvokeRequest, payload: TaskPayload, bytes: number, signal: AbortSignal): Promise<Uint8Array> {
    if (!this.store) {
      throw new TaskError(`task ${req.taskIndex} is ${bytes} bytes as JSON, over Lambda's 6 MB invoke limit, and no bucket is configured: pass --bucket`, {
        retryable: false,
        origin: "platform",
      });
    }
    const key = `${this.runPrefix}tasks/${req.taskIndex}.json`;
    if (!this.uploaded.has(key)) {
      try {
        await this.store.put(key, JSON.stringify(req.task));
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        throw new TaskError(`could not upload task ${req.taskIndex} to the bucket: ${(err as Error).message}`, { retryable: true, origin: "platform", cause: err });
      }
      this.uploaded.add(key);
    }
    delete payload.task;
    payload.taskRef = key;
    return Buffer.from(JSON.stringify(payload), "utf8");
  }

  /** Adds what the REPORT line says (or at least the request id) to the result, and counts it in the usage. */
  private addStats(result: InvokeResult, report: LambdaReport | undefined, requestId: string | undefined): void {
    const id = report?.requestId ?? requestId;
    if (id) result.platformId = id;
    if (!report) return;
    const cold = report.initMs !== undefined;
    const usage = this.usage;
    if (cold) usage.coldStarts++;
    usage.billedMs += report.billedMs;
    if (report.maxMemoryUsedMb !== undefined && report.maxMemoryUsedMb > usage.maxMemoryUsedMb) usage.maxMemoryUsedMb = report.maxMemoryUsedMb;
    result.durationMs = report.durationMs;
    result.billedMs = report.billedMs;
    result.coldStart = cold;
    if (cold) result.initMs = report.initMs;
  }

  private invokeError(e: AwsError, name: string): TaskError {
    const status = e.$metadata?.httpStatusCode;
    const what = `${e.name}${status ? ` (HTTP ${status})` : ""}: ${e.message}`;
    if (e.name === "TooManyRequestsException" || status === 429) {
      this.usage.throttled++;
      const after = Number(e.retryAfterSeconds);
      return new TaskError(`lambda throttled the invocation${e.Reason ? ` (${e.Reason})` : ""}: ${e.message}`, {
        retryable: true,
        origin: "platform",
        throttled: true,
        ...(Number.isFinite(after) && after > 0 ? { retryAfterMs: after * 1000 } : {}),
      });
    }
    if (e.name === "ResourceConflictException" || e.name === "ResourceNotReadyException") {
      // The function is being created or updated (or woken from Inactive): it will take invocations shortly.
      return new TaskError(`lambda function ${name} is not ready: ${what}`, { retryable: true, origin: "platform", retryAfterMs: 1_000 });
    }
    if (e.name === "RequestTooLargeException" || status === 413) {
      return new TaskError(`lambda refused the request as too large: ${what}`, { retryable: false, origin: "platform" });
    }
    if (e.name === "ResourceNotFoundException") {
      return new TaskError(`lambda function ${name} no longer exists (deleted during the run?): ${what}`, { retryable: false, origin: "platform" });
    }
    if (status === undefined || status >= 500 || e.$fault === "server") {
      // 5xx, EC2/ENI/KMS trouble on Lambda's side, or the network: transient.
      return new TaskError(`lambda invocation failed: ${what}`, { retryable: true, origin: "platform", cause: e });
    }
    return new TaskError(`lambda refused the invocation: ${what}`, { retryable: false, origin: "platform", cause: e });
  }

  /** Estimated cost in US dollars: billed GB-seconds at the architecture's price plus the request charge. */
  estimateCost(usage: { invocations: number; billedMs: number }): number {
    return estimateLambdaCost(usage, this.config.memory, this.config.price);
  }

  async dispose(): Promise<void> {
    const tasks: Promise<unknown>[] = [];
    if (!this.config.keep) {
      for (const name of this.deployed) {
        tasks.push(this.control.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => undefined));
      }
    }
    if (this.store) for (const prefix of this.prefixes) tasks.push(this.store.deletePrefix(prefix).catch(() => undefined));
    await Promise.all(tasks);
    this.deployed.clear();
    this.prefixes.clear();
    this.uploaded.clear();
    this.functionName = undefined;
    this.store?.destroy();
    this.data.destroy(); // and its request handler's connections
    this.control.destroy();
  }
}

/** Turns Lambda's function-error payload `{errorType, errorMessage, trace}` into the right TaskError. */
export function functionError(text: string, report: LambdaReport | undefined, taskIndex: number): TaskError {
  let e: { errorType?: string; errorMessage?: string; trace?: unknown; stackTrace?: unknown } = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object") e = parsed as typeof e;
  } catch {
    /* not JSON: keep the text as the message */
  }
  const type = e.errorType ?? report?.errorType ?? "Unknown";
  const message = typeof e.errorMessage === "string" ? e.errorMessage : text.slice(0, 1000);
  const lines = Array.isArray(e.trace) ? e.trace : Array.isArray(e.stackTrace) ? e.stackTrace : undefined;
  const stack = lines?.map(String).join("\n");
  if (type === "Sandbox.Timedout" || report?.status === "timeout" || /Task timed out after/.test(message)) {
    return new TaskError(`the function hit its own time limit: ${message} (raise --function-timeout)`, { retryable: true, origin: "timeout" });
  }
  if (RETRYABLE_RUNTIME_ERRORS.has(type) || type.startsWith("Sandbox.")) {
    return new TaskError(`the execution environment failed (${type}): ${message}`, { retryable: true, origin: "platform" });
  }
  if (type === "Function.ResponseSizeTooLarge") {
    return new TaskError(`the partial of task ${taskIndex} is over Lambda's 6 MB response limit: ${message} (pass --bucket to return large partials through S3)`, {
      retryable: false,
      origin: "platform",
    });
  }
  if (type.startsWith("Runtime.") && type !== "Runtime.UnhandledPromiseRejection") {
    return new TaskError(`lambda could not run the function (${type}): ${message}`, { retryable: false, origin: "platform" });
  }
  // The job's own code threw past the runtime wrapper: report it like any error of map.
  return new TaskError(message, { retryable: false, origin: "remote", remoteName: type, ...(stack ? { remoteStack: stack } : {}) });
}
