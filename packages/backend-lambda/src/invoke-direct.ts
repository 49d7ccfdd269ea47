// The direct invocation path (see LambdaInvoker, invoke.ts): each Invoke is the Lambda client's own protocol, SigV4
// signer and request handler called in a row, with what the middleware stack resolves per call (endpoint, auth scheme,
// signing region and name, user agent) read once off a call the stack made.
import { InvokeCommand, type InvokeCommandInput, type InvokeCommandOutput, type LambdaClient } from "@aws-sdk/client-lambda";
import { Exchange, type SdkHttpRequest, type SdkHttpResponse, UndiciHttpHandler } from "./http.js";

// The parts of the client's resolved configuration the direct path calls. They are the client's own (its protocol
// instance for restJson1, the SigV4 signer factory of @aws-sdk/core, the request handler it was given), typed here
// only as far as they are used.
export interface HttpRequestLike {
  hostname: string;
  port?: number;
  headers: Record<string, string>;
  body?: unknown;
}
interface HttpResponseLike {
  statusCode: number;
  headers: Record<string, string | undefined>;
}
interface EndpointV1 {
  protocol: string;
  hostname: string;
  port: number | undefined;
  path: string;
  query?: Record<string, string>;
}
interface OperationSchema {
  name: string;
  namespace: string;
  traits: unknown;
  input: unknown;
  output: unknown;
}
interface Protocol {
  serializeRequest(operation: OperationSchema, input: unknown, context: unknown): Promise<HttpRequestLike>;
  deserializeResponse(operation: OperationSchema, context: unknown, response: HttpResponseLike): Promise<unknown>;
}
interface Signer {
  sign(request: HttpRequestLike, options: { signingDate: Date; signingRegion?: string; signingService?: string }): Promise<HttpRequestLike>;
}
interface ClientConfig {
  protocol?: unknown;
  signer?: (authScheme?: unknown) => Promise<Signer>;
  requestHandler: { handle(request: HttpRequestLike, options: { abortSignal?: AbortSignal }): Promise<{ response: HttpResponseLike }> };
  systemClockOffset: number;
  disableClockSkewCorrection?: () => Promise<boolean>;
}
/** What the middleware stack put in the handler context of an Invoke. */
export interface StackContext {
  commandName?: string;
  endpointV2?: { url: URL; headers?: Record<string, string[]>; properties?: { authSchemes?: unknown[] } };
  __smithy_context?: {
    operationSchema?: unknown;
    selectedHttpAuthScheme?: { httpAuthOption?: { schemeId?: string; signingProperties?: { signingRegion?: string; signingName?: string } } };
  };
}

/** Everything the direct path needs, resolved once. */
export interface Direct {
  /** The client whose protocol, signer and request handler these are; its `send()` takes over if this path fails. */
  client: LambdaClient;
  /** Gives the direct path up: every later invocation goes through `client.send()`. */
  abandon: (err: unknown) => void;
  protocol: Protocol;
  operation: OperationSchema;
  /** Serde context: the client's configuration with the endpoint fixed. */
  context: Record<string, unknown>;
  signer: Signer;
  signingRegion: string | undefined;
  signingService: string | undefined;
  host: string;
  userAgent: string | undefined;
  amzUserAgent: string | undefined;
  sampleClock: boolean;
  /** The latest x-amz-date sent: requests signed within the same second share the string undici keeps with each. */
  lastDate: string;
}

/** The identity continuation: `invoke()`'s, which needs no `then` of its own. */
export const same = <T>(out: T): T => out;

/** What an invocation goes on with once answered, and once failed (see `LambdaInvoker.invokeThen`). */
export type Then<T, A> = (out: InvokeCommandOutput, arg: A) => T | Promise<T>;
export type Otherwise<T, A> = (err: unknown, arg: A) => T | Promise<T>;

/** One invocation on the direct path while its answer is awaited; on the answer it goes on to deserialise. */
class DirectCall<T, A> extends Exchange {
  resolve!: (out: T | Promise<T>) => void;
  reject!: (err: unknown) => void;
  sentAt = 0;

  constructor(
    signal: AbortSignal,
    private readonly d: Direct,
    private readonly then: Then<T, A>,
    private readonly arg: A,
    private readonly otherwise: Otherwise<T, A> | undefined,
  ) {
    super(signal);
  }

  protected done(response: SdkHttpResponse): void {
    const out = finish(this.d, response, this.sentAt);
    const { then, arg, otherwise } = this;
    if ((then as unknown) === same && !otherwise) this.resolve(out as Promise<T>);
    else this.resolve(out.then((o) => then(o, arg), otherwise && ((e: unknown) => otherwise(e, arg))));
  }

  /** The request failed (or could not be signed): rejects, or goes on with `otherwise`. */
  protected fail(err: unknown): void {
    const otherwise = this.otherwise;
    if (!otherwise) {
      this.reject(err);
      return;
    }
    try {
      this.resolve(otherwise(err, this.arg));
    } catch (e) {
      this.reject(e);
    }
  }

  /** Signing failed: the request never went out. */
  unsent(err: unknown): void {
    this.fail(err);
  }
}

/** Errors as the SDK's deserializer middleware hands them on: `$metadata` from the response when the protocol set none. */
type ResponseError = Error & { $metadata?: { httpStatusCode?: number; requestId?: string } };

/** Sends one invocation on the direct path; `invoke(...).then(then, otherwise)` with `arg` riding along. */
export function sendDirect<T, A>(d: Direct, input: InvokeCommandInput, signal: AbortSignal, then: Then<T, A>, arg: A, otherwise: Otherwise<T, A> | undefined): Promise<T> {
  const handler = (d.client.config as unknown as ClientConfig).requestHandler;
  if (!(handler instanceof UndiciHttpHandler)) {
    return sendThrough(d, input, signal).then((out) => then(out, arg), otherwise && ((e: unknown) => otherwise(e, arg)));
  }
  // While the answer is awaited, an invocation holds its DirectCall (undici's handler and the signal's listener in
  // one), the promise it settles and undici's own request: the serialised and signed requests are garbage by then.
  const call = new DirectCall<T, A>(signal, d, then, arg, otherwise);
  const out = new Promise<T>((resolve, reject) => {
    call.resolve = resolve;
    call.reject = reject;
  });
  sign(d, input).then(
    (signed) => {
      call.sentAt = Date.now();
      handler.dispatch(signed as unknown as SdkHttpRequest, call);
    },
    (err: unknown) => {
      // The request never went out. The direct path leans on SDK internals (protocol, operation schema, signer): a
      // failure there is no reason to fail the task, so this invocation and every later one take client.send(),
      // which fails on its own terms if the cause was not ours (credentials, say).
      d.abandon(err);
      if (signal.aborted) return call.unsent(signal.reason);
      d.client.send(new InvokeCommand(input), { abortSignal: signal }).then(
        (o) => {
          try {
            call.resolve(then(o, arg));
          } catch (e) {
            call.reject(e);
          }
        },
        (e: unknown) => call.unsent(e),
      );
    },
  );
  return out;
}

/** Any other request handler: its own `handle()`. */
async function sendThrough(d: Direct, input: InvokeCommandInput, signal: AbortSignal): Promise<InvokeCommandOutput> {
  const config = d.client.config as unknown as ClientConfig;
  const signed = await sign(d, input);
  const sentAt = Date.now();
  const { response } = await config.requestHandler.handle(signed, { abortSignal: signal });
  return finish(d, response, sentAt);
}

/** The request as the stack would hand it to the request handler: serialised, with the build step's headers, signed. */
async function sign(d: Direct, input: InvokeCommandInput): Promise<HttpRequestLike> {
  const request = await d.protocol.serializeRequest(d.operation, input, d.context);
  // What the build-step middlewares add: content-length, host and the user agent.
  const headers = request.headers;
  const body = request.body;
  if (body instanceof Uint8Array) headers["content-length"] = String(body.byteLength);
  else if (typeof body === "string") headers["content-length"] = String(Buffer.byteLength(body));
  headers.host = d.host;
  if (d.userAgent) headers["user-agent"] = d.userAgent;
  if (d.amzUserAgent) headers["x-amz-user-agent"] = d.amzUserAgent;
  const signingDate = new Date(d.sampleClock ? Date.now() + (d.client.config as unknown as ClientConfig).systemClockOffset : Date.now());
  const signed = await d.signer.sign(request, { signingDate, signingRegion: d.signingRegion, signingService: d.signingService });
  const h = signed.headers;
  const date = h["x-amz-date"];
  if (date === d.lastDate) h["x-amz-date"] = d.lastDate;
  else if (date !== undefined) d.lastDate = date;
  return signed;
}

/** The answer as the deserializer middleware hands it on: the output, or the modelled exception with `$metadata`. */
function finish(d: Direct, response: HttpResponseLike, sentAt: number): Promise<InvokeCommandOutput> {
  if (d.sampleClock) sampleClockOffset(d.client.config as unknown as ClientConfig, response, sentAt);
  return (d.protocol.deserializeResponse(d.operation, d.context, response) as Promise<InvokeCommandOutput>).catch((err: unknown) => {
    const e = err as ResponseError & { $fault?: unknown };
    // A modelled exception carries $fault; anything else is the protocol code failing on a real answer. The
    // invocation ran (it is not sent again), but later ones take client.send().
    if (!e || typeof e !== "object" || !("$fault" in e)) d.abandon(err);
    if (e && typeof e === "object" && !("$metadata" in e)) {
      e.$metadata = { httpStatusCode: response.statusCode, requestId: response.headers["x-amzn-requestid"] };
    }
    throw err;
  });
}

/**
 * Reads what the stack resolved for an Invoke of `client`: what the direct path needs once the signer is built, or
 * undefined when the client is not what it expects (another protocol or auth scheme, endpoint headers).
 */
export async function learnDirect(client: LambdaClient, abandon: (err: unknown) => void, context: StackContext, request: HttpRequestLike): Promise<Direct | undefined> {
  const config = client.config as unknown as ClientConfig;
  const smithy = context.__smithy_context;
  const schema = smithy?.operationSchema;
  const auth = smithy?.selectedHttpAuthScheme?.httpAuthOption;
  const endpoint = context.endpointV2;
  const protocol = config.protocol as Partial<Protocol> | undefined;
  const authSchemes = endpoint?.properties?.authSchemes;
  const usable =
    context.commandName === "InvokeCommand" &&
    Array.isArray(schema) &&
    schema.length >= 6 &&
    typeof protocol?.serializeRequest === "function" &&
    typeof protocol.deserializeResponse === "function" &&
    typeof config.signer === "function" &&
    auth?.schemeId === "aws.auth#sigv4" &&
    endpoint?.url instanceof URL &&
    Object.keys(endpoint.headers ?? {}).length === 0 &&
    (authSchemes?.length ?? 0) <= 1;
  if (!usable) return undefined;
  try {
    const signer = await config.signer!(authSchemes?.[0]);
    const sampleClock = (await config.disableClockSkewCorrection?.()) !== true;
    const [, namespace, name, traits, input, output] = schema as unknown[];
    const url = endpoint.url;
    const ep: EndpointV1 = { protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined, path: url.pathname };
    if (url.search) ep.query = Object.fromEntries(url.searchParams);
    const endpointV1 = Promise.resolve(ep);
    return {
      client,
      abandon,
      protocol: protocol as Protocol,
      operation: { name: name as string, namespace: namespace as string, traits, input, output },
      context: { ...(config as unknown as Record<string, unknown>), endpoint: () => endpointV1 },
      signer,
      signingRegion: auth.signingProperties?.signingRegion,
      signingService: auth.signingProperties?.signingName,
      host: ep.port !== undefined ? `${ep.hostname}:${ep.port}` : ep.hostname,
      userAgent: request.headers["user-agent"],
      amzUserAgent: request.headers["x-amz-user-agent"],
      sampleClock,
      lastDate: "",
    };
  } catch {
    return undefined;
  }
}

/** The SDK's clock-skew correction: the offset of the server's Date header, unless a cache answered (Age) or the call took over 15 minutes. */
function sampleClockOffset(config: ClientConfig, response: HttpResponseLike, sentAt: number): void {
  const date = response.headers.date;
  if (!date || response.headers.age !== undefined) return;
  const serverTime = Date.parse(date);
  if (Number.isNaN(serverTime)) return;
  const now = Date.now();
  if (now - sentAt > 900_000) return;
  config.systemClockOffset = serverTime - now;
}
