// What Lambda's answers mean: an invocation's failure (the SDK's error, or the function's own error payload and log
// tail) as a TaskError for the scheduler, and a control call's failure (deploying, looking up) as a SuperfaasError
// that names the setting to fix.
import { describeAnswer, outOfMemoryError, SuperfaasError, TaskError, type ForeignAnswer } from "@superfaas/core";
import { MINIMAL_ROLE_HINT, type LambdaConfig } from "./config.js";
import type { LambdaReport } from "./report.js";

/** An error of the AWS SDK, as far as these functions read it. */
export type AwsError = Error & {
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
export class FunctionFailure {
  constructor(
    readonly text: string,
    readonly report: LambdaReport | undefined,
    readonly taskIndex: number,
    /** The log tail, which names a JavaScript heap that ran out. */
    readonly log: string,
  ) {}
}

/** An invocation's failure as the scheduler takes it: a TaskError, or "missing" when the function is gone. */
export function classify(error: unknown, name: string, config: LambdaConfig): TaskError | "missing" {
  if (error instanceof TaskError) return error;
  if (error instanceof FunctionFailure) return functionError(error.text, error.report, error.taskIndex, { memoryMb: config.memory, timeoutSeconds: config.timeoutSeconds, log: error.log });
  const e = error as AwsError;
  const status = e.$metadata?.httpStatusCode;
  const foreign = foreignAnswer(e);
  if (foreign) {
    // A gateway's error page (5xx) may pass; a login page or another web server will answer the same next time.
    return new TaskError(`lambda: ${where(config)} answered an invocation with ${describeAnswer(foreign)}, not Lambda's JSON: it is not a Lambda API endpoint`, {
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
      throttleLimit: throttleLimit(e.Reason, name, config),
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
function throttleLimit(reason: string | undefined, name: string, config: LambdaConfig): string {
  if (reason?.startsWith("ReservedFunction")) return `the reserved concurrency of function ${name} (aws lambda put-function-concurrency), or remove it`;
  if (reason === "FunctionInvocationRateLimitExceeded") return "Lambda's scaling rate (1,000 new execution environments per 10 s per function; not adjustable)";
  return `the account's Lambda concurrency in ${config.region ?? "the region"} (the "Concurrent executions" quota in Service Quotas, 1,000 by default)`;
}

/** A control call's failure (looking up, creating, waking a function) while `doing`, as the setting to fix. */
export function configError(err: unknown, doing: string, config: LambdaConfig, signal?: AbortSignal): SuperfaasError {
  if (signal?.aborted) return new SuperfaasError("CANCELLED", `lambda: cancelled while ${doing}`, "run again", { cause: err });
  if (err instanceof SuperfaasError) return err;
  const e = err as AwsError;
  const status = e.$metadata?.httpStatusCode;
  const at = where(config);
  const foreign = foreignAnswer(e);
  if (foreign) {
    return new SuperfaasError(
      "BACKEND_CONFIG",
      `lambda: ${at} answered with ${describeAnswer(foreign)} while ${doing}, not Lambda's JSON: it is not a Lambda API endpoint`,
      config.endpoint
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
      `lambda: ${at} refused the request while ${doing} (${e.name}${status ? `, HTTP ${status}` : ""}): ${e.message}`,
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
    `lambda: cannot reach ${at} while ${doing}: ${e.message || e.name}`,
    "check --region / AWS_REGION and, for LocalStack or another Lambda-compatible server, --endpoint / AWS_ENDPOINT_URL_LAMBDA",
    { cause: err },
  );
}

/** Where the Lambda API calls go, as the user named it. */
function where(config: LambdaConfig): string {
  return config.endpoint ?? `AWS Lambda in ${config.region ?? "the SDK's default region"}`;
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
