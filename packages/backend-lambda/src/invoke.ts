// Lambda's invocation: one attempt is one synchronous Invoke with the log tail, sent by LambdaInvoker on one of its two
// paths (the SDK's `client.send()`, or the direct path of invoke-direct.ts), and its answer read into core's Answer.
import { InvokeCommand, type InvokeCommandInput, type InvokeCommandOutput, type LambdaClient } from "@aws-sdk/client-lambda";
import { describeAnswer, isHtml, taskIndexOf, TaskError, type Answer, type AttemptContinuation } from "@superfaas/core";
import { FunctionFailure } from "./classify.js";
import { learnDirect, same, sendDirect, type Direct, type HttpRequestLike, type Otherwise, type StackContext, type Then } from "./invoke-direct.js";
import { decodeLogResult, parseReportLine } from "./report.js";

export type { Otherwise, Then } from "./invoke-direct.js";

/** Lambda's limit on a synchronous invocation's request and response payloads (6 MB). */
export const LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024;
/** Largest task or partial sent inline; the margin covers the envelope around it. */
export const LAMBDA_INLINE_LIMIT = LAMBDA_PAYLOAD_LIMIT - 64 * 1024;

/**
 * How an invocation travels: "sdk" is `client.send(new InvokeCommand(...))` through the client's whole middleware
 * stack; "direct" is the same client's protocol, signer and request handler called in a row, with what the stack
 * resolves per call (endpoint, auth scheme, signing region and name, user agent) taken from a call it already made.
 */
export type InvokePath = "sdk" | "direct";

/**
 * Invokes Lambda functions through one `LambdaClient`. The first invocations go through `client.send()`, whose
 * middleware resolves the endpoint (ruleset, custom endpoint or the profile's endpoint_url), the credentials and
 * auth scheme, and the signing region and service; a middleware of ours reads them off that call. From then on each
 * invocation is the client's own protocol serialising the InvokeCommand input, the client's SigV4 signer signing it
 * (credentials still come from the client's provider, so they refresh as usual), the client's request handler
 * sending it, and the protocol deserialising the answer or throwing the modelled exception — without rebuilding the
 * middleware chain, copying the client configuration into a context and building a signer per call, the retry,
 * user-agent and logger middlewares, or an endpoint and auth-scheme resolution per call. If the client is not what
 * this expects (another protocol or auth scheme, endpoint headers), every invocation stays on `client.send()`.
 */
export class LambdaInvoker {
  private direct: Direct | undefined;
  private learning: Promise<void> | undefined;
  private learnDirect: boolean;

  constructor(
    private readonly client: LambdaClient,
    opts: { direct?: boolean } = {},
  ) {
    this.learnDirect = opts.direct ?? true;
    if (this.learnDirect) {
      client.middlewareStack.add(
        (next, context) => (args) => {
          if (this.learnDirect && !this.learning) this.learning = this.learn(context as StackContext, args.request as HttpRequestLike);
          return next(args);
        },
        { step: "finalizeRequest", priority: "low", name: "superfaasLearnInvokePath" },
      );
    }
  }

  /** The path the next invocation takes. */
  get path(): InvokePath {
    return this.direct ? "direct" : "sdk";
  }

  /** The path once what the first invocation resolved has been taken up (or found unusable). */
  async settled(): Promise<InvokePath> {
    await this.learning;
    return this.path;
  }

  /** Resolves with the output as `client.send(new InvokeCommand(input))` would, or rejects with what it would throw. */
  invoke(input: InvokeCommandInput, signal: AbortSignal): Promise<InvokeCommandOutput> {
    return this.invokeThen(input, signal, same as Then<InvokeCommandOutput, undefined>, undefined);
  }

  /**
   * `invoke(input, signal).then((out) => then(out, arg), (err) => otherwise(err, arg))`, with no continuation of its
   * own while the answer is awaited: `then`, `otherwise` and `arg` ride with the invocation.
   */
  invokeThen<T, A>(input: InvokeCommandInput, signal: AbortSignal, then: Then<T, A>, arg: A, otherwise?: Otherwise<T, A>): Promise<T> {
    const direct = this.direct;
    if (direct) return sendDirect(direct, input, signal, then, arg, otherwise);
    const sent = this.client.send(new InvokeCommand(input), { abortSignal: signal });
    if ((then as unknown) === same && !otherwise) return sent as Promise<T>;
    return sent.then((out) => then(out, arg), otherwise && ((e: unknown) => otherwise(e, arg)));
  }

  /** Why the direct path was given up for the rest of this invoker's life, if it was. */
  abandoned: unknown;

  /** Every later invocation goes through `client.send()`. */
  abandonDirect(err: unknown): void {
    if (!this.direct) return;
    this.direct = undefined;
    this.learnDirect = false;
    this.abandoned = err;
  }

  /** Reads what the stack resolved for an Invoke; the direct path takes over once the signer is built. */
  private async learn(context: StackContext, request: HttpRequestLike): Promise<void> {
    const direct = await learnDirect(this.client, (err) => this.abandonDirect(err), context, request);
    if (direct) this.direct = direct;
    else this.learnDirect = false;
  }
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

/** Sends one attempt's body to function `name` and reads the answer (CloudPlatform.send). */
export function sendInvocation(invoker: LambdaInvoker, name: string, body: string, signal: AbortSignal): Promise<Answer> {
  // The body starts `{"taskIndex":N,` (see FunctionBackend.invoke): the index names the task in a failure's message.
  return invoker.invokeThen(invokeInput(name, body), signal, toAnswer, taskIndexOf(body));
}

/** `sendInvocation` going on with `next` (CloudPlatform.sendThen). */
export function sendInvocationThen<T>(invoker: LambdaInvoker, name: string, body: string, signal: AbortSignal, next: AttemptContinuation<T>): Promise<T> {
  // Not an async function, and no continuation of its own: `next` rides with the invocation until it is answered.
  return invoker.invokeThen(invokeInput(name, body), signal, answered, next, failed);
}
