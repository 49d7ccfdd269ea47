// Lambda's part of the function lifecycle: the function's deployment (create, wait until Active), the invocation
// transport (synchronous Invoke with the log tail) and what Lambda's answers mean. Everything else is core's
// FunctionBackend.
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  ListFunctionsCommand,
  LambdaClient,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type FunctionConfiguration,
  type InvokeCommandInput,
  type InvokeCommandOutput,
  type Runtime,
} from "@aws-sdk/client-lambda";
import { CloudWatchLogsClient, CreateLogGroupCommand, DeleteLogGroupCommand, PutRetentionPolicyCommand } from "@aws-sdk/client-cloudwatch-logs";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { describeAnswer, entryModulePath, isHtml, functionName, outOfMemoryError, SuperfaasError, TaskError, zipBundle, type Answer, type ForeignAnswer, type AttemptContinuation, type CloudPlatform, type FunctionSpec, type OwnedFunction, type PrepareContext } from "@superfaas/core";
import { S3Store } from "@superfaas/store-s3";
import { estimateLambdaCost, MINIMAL_ROLE_HINT, type FunctionS3Config, type LambdaConfig } from "./config.js";
import { DATA_ENV, S3_ENV } from "./wire.js";
import { keepForeignBodies } from "./foreign-body.js";
import { UndiciHttpHandler } from "./http.js";
import { LambdaInvoker } from "./invoke.js";
import { decodeLogResult, parseReportLine, type LambdaReport } from "./report.js";

/** Lambda's limit on a synchronous invocation's request and response payloads (6 MB). */
export const LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024;
/** Largest task or partial sent inline; the margin covers the envelope around it. */
export const LAMBDA_INLINE_LIMIT = LAMBDA_PAYLOAD_LIMIT - 64 * 1024;

const HANDLER = "index.handler";

/** `superfaas-<job>-<hash>`: at most 64 characters of letters, digits, '-' and '_', as Lambda requires. */
export function lambdaFunctionName(jobName: string, hash: string): string {
  return functionName(jobName, hash, 64);
}

type AwsError = Error & {
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $fault?: "client" | "server";
  retryAfterSeconds?: string;
  Reason?: string;
  /** Set by the SDK when an answer could not be deserialized: the raw answer, and the text it failed to parse. */
  $response?: { statusCode?: number; headers?: Record<string, string | undefined>; body?: unknown };
  $responseBodyText?: string;
};

/**
 * The raw answer behind the SDK's deserialization error, when that is what `e` is: the endpoint answered something
 * that is not Lambda's JSON (a proxy's HTML page, say), which the SDK reports as a bare `SyntaxError`.
 */
function foreignAnswer(e: AwsError): ForeignAnswer | undefined {
  const r = e?.$response;
  if (!r || (e.name !== "SyntaxError" && !/Deserialization error/.test(e.message ?? ""))) return undefined;
  const type = Object.entries(r.headers ?? {}).find(([k]) => k.toLowerCase() === "content-type")?.[1];
  const read = e.$responseBodyText ?? (typeof r.body === "string" ? r.body : r.body instanceof Uint8Array ? Buffer.from(r.body).toString("utf8") : "");
  // The data client keeps no body (a stream the parser consumed): the content type still tells a page.
  const text = read || (/^\s*text\/html\b/i.test(type ?? "") ? "<html>" : "");
  const status = r.statusCode ?? e.$metadata?.httpStatusCode;
  return { ...(status !== undefined ? { status } : {}), contentType: type ?? null, body: text };
}

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

/** An invocation Lambda answered with X-Amz-Function-Error: the payload and what the REPORT line said. */
class FunctionFailure {
  constructor(
    readonly text: string,
    readonly report: LambdaReport | undefined,
    readonly taskIndex: number,
    /** The log tail, which names a JavaScript heap that ran out. */
    readonly log: string,
  ) {}
}

/** One attempt's Invoke: synchronous, with the log tail (its REPORT line has the figures). */
const invokeInput = (name: string, body: string): InvokeCommandInput => ({
  FunctionName: name,
  InvocationType: "RequestResponse",
  LogType: "Tail",
  Payload: Buffer.from(body, "utf8"),
});

const answered = <T>(out: InvokeCommandOutput, next: AttemptContinuation<T>) => next.answered(toAnswer(out, next.taskIndex));
const failed = <T>(err: unknown, next: AttemptContinuation<T>) => next.failed(err);

/** What an Invoke answered: the REPORT line's figures, and the envelope or the function's failure. */
function toAnswer(out: InvokeCommandOutput, taskIndex: number): Answer {
  const log = decodeLogResult(out.LogResult);
  const report = parseReportLine(log);
  const p = out.Payload;
  // A view on the response bytes, decoded once (no copy into a new Buffer first).
  const text = p ? Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString("utf8") : "";
  const answer: Answer = { platformId: report?.requestId ?? out.$metadata.requestId };
  if (report) {
    answer.durationMs = report.durationMs;
    answer.billedMs = report.billedMs;
    answer.coldStart = report.initMs !== undefined;
    if (report.initMs !== undefined) answer.initMs = report.initMs;
    if (report.maxMemoryUsedMb !== undefined) answer.maxMemoryUsedMb = report.maxMemoryUsedMb;
  }
  if (out.FunctionError) {
    answer.failure = new FunctionFailure(text, report, taskIndex, log);
    return answer;
  }
  try {
    answer.envelope = JSON.parse(text);
  } catch {
    // Our handler always returns JSON: an HTML page is a proxy's or another server's, and says so rather than its markup.
    answer.failure = isHtml(text)
      ? new TaskError(`lambda: an invocation was answered with ${describeAnswer({ ...(out.StatusCode !== undefined ? { status: out.StatusCode } : {}), body: text })}, not the function's JSON: the endpoint is not a Lambda API`, { retryable: false, origin: "platform" })
      : new TaskError(`lambda returned an answer that is not JSON: ${text.slice(0, 200)}`, { retryable: true, origin: "platform" });
  }
  return answer;
}

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
  }

  settings(): Record<string, unknown> {
    const c = this.config;
    return { runtime: c.runtime, arch: c.arch, memory: c.memory, timeout: c.timeoutSeconds, role: c.role, handler: HANDLER, s3: this.functionS3, data: c.functionDataEndpoint };
  }

  /** Creates the function (or finds it, made by another run), and waits until it can run. */
  async deploy(spec: FunctionSpec, ctx: PrepareContext): Promise<"created" | "found"> {
    const c = this.config;
    const { name } = spec;
    const signal = ctx.signal;
    let current: FunctionConfiguration | undefined;
    try {
      current = (await this.control.send(new GetFunctionCommand({ FunctionName: name }), { abortSignal: signal })).Configuration;
    } catch (err) {
      if ((err as Error).name !== "ResourceNotFoundException") throw this.configError(err, `looking up function ${name}`, signal);
    }
    let how: "created" | "found" = "found";
    if (!current) {
      if (!c.role) throw new SuperfaasError("BACKEND_CONFIG", `lambda: function ${name} does not exist yet and no execution role is set to create it`, MINIMAL_ROLE_HINT);
      const zip = await zipBundle(spec.bundle, "index.js");
      ctx.log?.(`lambda: creating function ${name} (${(zip.length / 1024).toFixed(0)} KB zip, ${c.runtime}, ${c.arch}, ${c.memory} MB, ${c.timeoutSeconds} s)`);
      await this.prepareLogGroup(spec, ctx);
      try {
        how = (await this.create(spec, zip, signal)) ? "created" : "found";
      } catch (err) {
        // Cancelled while CreateFunction was in flight: Lambda may have made the function all the same.
        if (signal?.aborted) await this.removeIfOurs(name, spec.owner.runId);
        throw err;
      }
      try {
        await this.waitFor("active", name, signal);
      } catch (err) {
        // Cancelled (Ctrl-C) or never Active: the caller never learns it was created, so it would be left behind.
        if (how === "created") await this.remove(name).catch(() => undefined);
        throw err;
      }
      return how;
    }
    if (current.State === "Failed") {
      throw new SuperfaasError("BACKEND_CONFIG", `lambda: function ${name} is in state Failed: ${current.StateReason ?? "no reason given"}`, `delete it (aws lambda delete-function --function-name ${name}) and run again`);
    }
    if (current.State === "Inactive") await this.wake(name, signal);
    if (current.State !== "Active") await this.waitFor("active", name, signal);
    if (current.LastUpdateStatus === "InProgress") await this.waitFor("updated", name, signal);
    return how;
  }

  /**
   * Creates the log group of a function about to be created, with a retention, so runs do not keep logs forever (Lambda
   * would create it on the first log write, with none, and it outlives the function). A refusal (the caller may lack
   * logs:CreateLogGroup or logs:PutRetentionPolicy) does not stop the run: it is said, and the logs stay until deleted.
   */
  private async prepareLogGroup(spec: FunctionSpec, ctx: PrepareContext): Promise<void> {
    const group = `/aws/lambda/${spec.name}`;
    const days = this.config.logRetentionDays;
    const say = (err: unknown) => {
      if (ctx.signal?.aborted) throw this.configError(err, `creating log group ${group}`, ctx.signal);
      const e = err as AwsError;
      ctx.log?.(
        `lambda: could not give log group ${group} a ${days}-day retention (${e.name}: ${e.message}); its logs are kept until it is deleted. ` +
          "Allow logs:CreateLogGroup and logs:PutRetentionPolicy on arn:aws:logs:REGION:ACCOUNT:log-group:/aws/lambda/superfaas-* (see the backend-lambda README)",
      );
    };
    try {
      await this.logs.send(new CreateLogGroupCommand({ logGroupName: group, tags: { superfaas: spec.owner.tool, "superfaas-run": spec.owner.runId } }), {
        ...(ctx.signal ? { abortSignal: ctx.signal } : {}),
      });
    } catch (err) {
      if ((err as Error).name !== "ResourceAlreadyExistsException") return say(err);
    }
    try {
      await this.logs.send(new PutRetentionPolicyCommand({ logGroupName: group, retentionInDays: days }), { ...(ctx.signal ? { abortSignal: ctx.signal } : {}) });
    } catch (err) {
      say(err);
    }
  }

  /** CreateFunction; false when it already exists. Retries while a new role is not yet assumable (IAM propagates slowly). */
  private async create(spec: FunctionSpec, zip: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    const c = this.config;
    const variables: Record<string, string> = {
      ...(this.functionS3 ? { [S3_ENV]: JSON.stringify(this.functionS3) } : {}),
      ...(c.functionDataEndpoint ? { [DATA_ENV]: JSON.stringify({ endpoint: c.functionDataEndpoint }) } : {}),
    };
    const input = {
      FunctionName: spec.name,
      Role: c.role!,
      Code: { ZipFile: zip },
      Architectures: [c.arch],
      PackageType: "Zip" as const,
      Runtime: c.runtime as Runtime,
      Handler: HANDLER,
      MemorySize: c.memory,
      Timeout: c.timeoutSeconds,
      Description: `superfaas job ${spec.owner.job} (bundle ${spec.bundle.hash.slice(0, 12)})`,
      Environment: { Variables: variables },
      Tags: {
        superfaas: spec.owner.tool,
        "superfaas-run": spec.owner.runId,
        "superfaas-created": spec.owner.createdAt,
        "superfaas-job": spec.owner.job,
        ...(spec.owner.kept ? { "superfaas-kept": "true" } : {}),
      },
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.control.send(new CreateFunctionCommand(input), { abortSignal: signal });
        return true;
      } catch (err) {
        const e = err as AwsError;
        if (e.name === "ResourceConflictException") return false;
        if (e.name === "InvalidParameterValueException" && /cannot be assumed/i.test(e.message) && attempt < 8) {
          await sleep(2_000 * attempt, signal);
          continue;
        }
        throw this.configError(err, `creating function ${spec.name}`, signal);
      }
    }
  }

  /**
   * An Inactive function (idle for long, its resources reclaimed) comes back when invoked: the invocation fails with
   * ResourceConflictException and the function turns Pending, then Active. A DryRun invocation runs no code.
   */
  private async wake(name: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.control.send(new InvokeCommand({ FunctionName: name, InvocationType: "DryRun" }), { abortSignal: signal });
    } catch (err) {
      if ((err as Error).name !== "ResourceConflictException") throw this.configError(err, `waking up the Inactive function ${name}`, signal);
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

  /** Deletes the function if it carries this run's owner tag (best effort: a clean-up after a cancelled create). */
  private async removeIfOurs(name: string, runId: string): Promise<void> {
    try {
      const found = await this.control.send(new GetFunctionCommand({ FunctionName: name }));
      if (found.Tags?.["superfaas-run"] === runId) await this.remove(name);
    } catch {
      // Not there (it was never made), or unreachable: nothing more to do.
    }
  }

  async remove(name: string): Promise<void> {
    await this.control.send(new DeleteFunctionCommand({ FunctionName: name }));
  }

  /** Every `superfaas-*` function tagged by superfaas: ListFunctions page by page (Marker), then its tags (GetFunction). */
  async listOwned(): Promise<OwnedFunction[]> {
    const out: OwnedFunction[] = [];
    let marker: string | undefined;
    do {
      const page = await this.control.send(new ListFunctionsCommand({ MaxItems: 50, ...(marker ? { Marker: marker } : {}) }));
      for (const f of page.Functions ?? []) {
        const name = f.FunctionName;
        if (!name?.startsWith("superfaas-")) continue;
        const tags = await this.control.send(new GetFunctionCommand({ FunctionName: name })).then(
          (r) => r.Tags ?? {},
          () => ({}) as Record<string, string>,
        );
        const runId = tags["superfaas-run"];
        if (tags.superfaas !== "superfaas" || !runId) continue;
        out.push({ name, owner: { tool: "superfaas", runId, createdAt: tags["superfaas-created"] ?? "", job: tags["superfaas-job"] ?? "", ...(tags["superfaas-kept"] === "true" ? { kept: true as const } : {}) } });
      }
      marker = page.NextMarker;
    } while (marker);
    return out;
  }

  logGroupOf(name: string): string {
    return `/aws/lambda/${name}`;
  }

  async removeLogGroup(group: string): Promise<void> {
    try {
      await this.logs.send(new DeleteLogGroupCommand({ logGroupName: group }));
    } catch (err) {
      if ((err as Error).name !== "ResourceNotFoundException") throw err;
    }
  }

  send(name: string, body: string, signal: AbortSignal): Promise<Answer> {
    // The body starts `{"taskIndex":N,` (see FunctionBackend.invoke): the index names the task in a failure's message.
    return this.invoker.invokeThen(invokeInput(name, body), signal, toAnswer, Number.parseInt(body.slice(13), 10));
  }

  sendThen<T>(name: string, body: string, signal: AbortSignal, next: AttemptContinuation<T>): Promise<T> {
    // Not an async function, and no continuation of its own: `next` rides with the invocation until it is answered.
    return this.invoker.invokeThen(invokeInput(name, body), signal, answered, next, failed);
  }

  classify(error: unknown, name: string): TaskError | "missing" {
    if (error instanceof TaskError) return error;
    if (error instanceof FunctionFailure) return functionError(error.text, error.report, error.taskIndex, { memoryMb: this.config.memory, timeoutSeconds: this.config.timeoutSeconds, log: error.log });
    const e = error as AwsError;
    const status = e.$metadata?.httpStatusCode;
    const foreign = foreignAnswer(e);
    if (foreign) {
      // A gateway's error page (5xx) may pass; a login page or another web server will answer the same next time.
      return new TaskError(`lambda: ${this.where()} answered an invocation with ${describeAnswer(foreign)}, not Lambda's JSON: it is not a Lambda API endpoint`, {
        retryable: (foreign.status ?? 0) >= 500,
        origin: "platform",
        cause: e,
      });
    }
    const what = `${e.name}${status ? ` (HTTP ${status})` : ""}: ${e.message}`;
    if (e.name === "TooManyRequestsException" || status === 429) {
      const after = Number(e.retryAfterSeconds);
      return new TaskError(`lambda throttled the invocation${e.Reason ? ` (${e.Reason})` : ""}: ${e.message}`, {
        retryable: true,
        origin: "platform",
        throttled: true,
        throttleLimit: this.throttleLimit(e.Reason, name),
        ...(Number.isFinite(after) && after > 0 ? { retryAfterMs: after * 1000 } : {}),
      });
    }
    if (e.name === "ResourceConflictException" || e.name === "ResourceNotReadyException") {
      // The function is being created or updated (or woken from Inactive): it will take invocations shortly.
      return new TaskError(`lambda function ${name} is not ready: ${what}`, { retryable: true, origin: "platform", retryAfterMs: 1_000 });
    }
    if (e.name === "RequestEntityTooLargeException" || e.name === "RequestTooLargeException" || status === 413) return new TaskError(`lambda refused the request as too large: ${what}`, { retryable: false, origin: "platform" });
    if (e.name === "ResourceNotFoundException") return "missing";
    // 5xx, EC2/ENI/KMS trouble on Lambda's side, or the network: transient.
    if (status === undefined || status >= 500 || e.$fault === "server") return new TaskError(`lambda invocation failed: ${what}`, { retryable: true, origin: "platform", cause: e });
    return new TaskError(`lambda refused the invocation: ${what}`, { retryable: false, origin: "platform", cause: e });
  }

  /** The Lambda limit a 429's Reason names, and where it is raised (named when throttling outlasts --throttle-timeout). */
  private throttleLimit(reason: string | undefined, name: string): string {
    if (reason?.startsWith("ReservedFunction")) return `the reserved concurrency of function ${name} (aws lambda put-function-concurrency), or remove it`;
    if (reason === "FunctionInvocationRateLimitExceeded") return "Lambda's scaling rate (1,000 new execution environments per 10 s per function; not adjustable)";
    return `the account's Lambda concurrency in ${this.config.region ?? "the region"} (the "Concurrent executions" quota in Service Quotas, 1,000 by default)`;
  }

  private configError(err: unknown, doing: string, signal?: AbortSignal): SuperfaasError {
    if (signal?.aborted) return new SuperfaasError("CANCELLED", `lambda: cancelled while ${doing}`, "run again", { cause: err });
    if (err instanceof SuperfaasError) return err;
    const e = err as AwsError;
    const status = e.$metadata?.httpStatusCode;
    const where = this.where();
    const foreign = foreignAnswer(e);
    if (foreign) {
      return new SuperfaasError(
        "BACKEND_CONFIG",
        `lambda: ${where} answered with ${describeAnswer(foreign)} while ${doing}, not Lambda's JSON: it is not a Lambda API endpoint`,
        this.config.endpoint
          ? "point --endpoint (or AWS_ENDPOINT_URL_LAMBDA) at the Lambda API itself, not at a web page or a login proxy"
          : "check the HTTPS proxy between here and AWS (HTTPS_PROXY), or point --endpoint at a Lambda-compatible server",
        { cause: err },
      );
    }
    if (/region is missing/i.test(e.message ?? "")) {
      return new SuperfaasError("BACKEND_CONFIG", `lambda: no AWS region is set while ${doing}`, "pass --region, set AWS_REGION, or set region in the AWS profile", { cause: err });
    }
    if (CREDENTIAL_ERRORS.has(e.name) || status === 401 || status === 403) {
      return new SuperfaasError(
        "BACKEND_CONFIG",
        `lambda: ${where} refused the request while ${doing} (${e.name}${status ? `, HTTP ${status}` : ""}): ${e.message}`,
        "check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO) and that they allow lambda:GetFunction, lambda:CreateFunction, " +
          "lambda:TagResource, lambda:InvokeFunction, lambda:DeleteFunction and iam:PassRole on the execution role",
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

  /** Where the Lambda API calls go, as the user named it. */
  private where(): string {
    return this.config.endpoint ?? `AWS Lambda in ${this.config.region ?? "the SDK's default region"}`;
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

/** Lambda's largest function memory, in MB. */
const LAMBDA_MAX_MEMORY_MB = 10_240;

/**
 * Whether an invocation's environment ran out of memory, and the evidence. Lambda kills the runtime when it reaches the
 * function's memory: the answer is `Runtime.OutOfMemory` ("Runtime exited with error: signal: killed"), or, as older
 * deployments said it, `Runtime.ExitError` with that message and a REPORT whose Max Memory Used reached Memory Size.
 * Node.js may also stop first at its own heap limit (set below the memory by the runtime): the log tail then says
 * "JavaScript heap out of memory" and the runtime exits.
 */
function outOfMemoryEvidence(type: string, message: string, report: LambdaReport | undefined, log: string): string | undefined {
  const used = report?.maxMemoryUsedMb !== undefined && report.memorySizeMb !== undefined ? ` (Max Memory Used ${report.maxMemoryUsedMb} MB of ${report.memorySizeMb} MB)` : "";
  if (type === "Runtime.OutOfMemory" || report?.errorType === "Runtime.OutOfMemory") return `Runtime.OutOfMemory: ${message}${used}`;
  if (!type.startsWith("Runtime.")) return undefined;
  if (/signal: killed/.test(message) && report?.maxMemoryUsedMb !== undefined && report.memorySizeMb !== undefined && report.maxMemoryUsedMb >= report.memorySizeMb) {
    return `${type}: ${message}${used}`;
  }
  if (/JavaScript heap out of memory|Reached heap limit/.test(log)) return `${type}: ${message}; the log says "JavaScript heap out of memory"${used}`;
  return undefined;
}

/** Lambda's longest function time limit, in seconds. */
const LAMBDA_MAX_TIMEOUT_S = 900;

/**
 * What the function itself wrote to the log tail, line by line: the runtime's own lines (START, END, REPORT, its exit
 * notice) left out, and the `time\trequest id\tLEVEL\t` prefix of console output taken off.
 */
function functionLogLines(log: string): string[] {
  const lines: string[] = [];
  for (const line of log.split("\n")) {
    if (!line.trim() || /^(INIT_START|START|END|REPORT) /.test(line) || /^RequestId: \S+ Error: Runtime exited/.test(line) || /^Runtime\.\w+$/.test(line)) continue;
    const printed = /^\d{4}-\d\d-\d\dT[\d:.]+Z\t\S+\t[A-Z]+\t(.*)$/.exec(line);
    lines.push(printed ? printed[1]! : line);
  }
  return lines;
}

/** Turns Lambda's function-error payload `{errorType, errorMessage, trace}` into the right TaskError. */
export function functionError(text: string, report: LambdaReport | undefined, taskIndex: number, env: { memoryMb?: number; timeoutSeconds?: number; log?: string } = {}): TaskError {
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
    // The function's own limit fired, not the run's --timeout: the hint names --function-timeout.
    const seconds = env.timeoutSeconds ?? Number(/Task timed out after ([\d.]+) seconds/.exec(message)?.[1]);
    const timeLimit = Number.isFinite(seconds) ? { setting: "--function-timeout", seconds, maxSeconds: LAMBDA_MAX_TIMEOUT_S } : undefined;
    return new TaskError(`the function hit its own time limit${timeLimit ? ` of ${seconds} s` : ""}: ${message}`, { retryable: true, origin: "timeout", ...(timeLimit ? { timeLimit } : {}) });
  }
  const oom = outOfMemoryEvidence(type, message, report, env.log ?? "");
  const memoryMb = report?.memorySizeMb ?? env.memoryMb;
  if (oom && memoryMb !== undefined) {
    return outOfMemoryError({ memoryMb, what: "function memory", setting: "--memory", maxMb: LAMBDA_MAX_MEMORY_MB, evidence: oom });
  }
  const exit = type === "Runtime.ExitError" ? /exit status (\d+)/.exec(message) : null;
  if (exit) {
    // The process ended with a status, not a signal: the job chose it (process.exit(3)), and chooses it again on
    // every attempt. One retry, in case its environment was at fault; then the job's last words and that status.
    const said = functionLogLines(env.log ?? "");
    const last = said.at(-1);
    return new TaskError(`the process exited with status ${exit[1]}${last ? `; its last log line: ${JSON.stringify(last.slice(0, 300))}` : ""}`, {
      retryable: true,
      maxRetries: 1,
      origin: "remote",
      remoteName: type,
      ...(said.length ? { remoteStack: said.join("\n") } : {}),
    });
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
