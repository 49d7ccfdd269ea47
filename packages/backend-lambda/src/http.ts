import type { Socket } from "node:net";
import { Agent, buildConnector, type Dispatcher, errors } from "undici";

/**
 * One request in flight: its own undici handler and its own abort listener (`handleEvent`), so a request costs this
 * object and undici's own request, and no closures. Settles exactly once, through `done` with the whole answer or
 * `fail` with the error (network, timeout, or the abort as soon as the signal aborts). Subclasses decide what
 * settling means: `handle()` resolves a promise, the direct invoke path goes on to deserialise.
 *
 * It implements undici's original handler interface (onConnect ... onComplete), which undici 7 calls directly: a
 * handler of the newer one (onRequestStart ...) is wrapped per request in an adapter and a controller that parses
 * the headers into an object, two more objects per request in flight for an answer read whole anyway.
 */
export abstract class Exchange {
  private status = 0;
  private headers: Record<string, string> | undefined;
  private chunk: Buffer | undefined;
  private chunks: Buffer[] | undefined;
  private abort: ((err?: Error) => void) | undefined;
  private settled = false;

  constructor(readonly signal: AbortSignal | undefined) {}

  /** The whole answer. */
  protected abstract done(response: SdkHttpResponse): void;
  /** The request failed or was aborted. */
  protected abstract fail(err: unknown): void;

  onConnect(abort: (err?: Error) => void): void {
    // A request may wait in the pool's queue for a connection: one aborted meanwhile is dropped as it starts.
    if (this.settled) abort(this.signal?.reason as Error);
    else this.abort = abort;
  }

  onHeaders(status: number, raw: (Buffer | string)[]): boolean {
    this.status = status;
    // Lower-case names, latin1 values, repeated headers joined with commas, as the SDK's handlers give them.
    const h: Record<string, string> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const k = raw[i]!;
      const v = raw[i + 1]!;
      const name = (typeof k === "string" ? k : k.toString("latin1")).toLowerCase();
      const value = typeof v === "string" ? v : v.toString("latin1");
      const seen = Object.hasOwn(h, name) ? h[name] : undefined;
      if (name === "__proto__") Object.defineProperty(h, name, { value: seen === undefined ? value : `${seen},${value}`, enumerable: true, configurable: true, writable: true });
      else h[name] = seen === undefined ? value : `${seen},${value}`;
    }
    this.headers = h;
    return true;
  }

  onData(data: Buffer): boolean {
    if (this.chunk === undefined) this.chunk = data;
    else (this.chunks ??= [this.chunk]).push(data);
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    this.settled = true;
    this.signal?.removeEventListener("abort", this);
    this.abort = undefined;
    const bytes = this.chunks ? Buffer.concat(this.chunks) : (this.chunk ?? EMPTY);
    this.done({ statusCode: this.status, headers: this.headers ?? {}, body: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
  }

  onError(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.signal?.removeEventListener("abort", this);
    this.abort = undefined;
    this.fail(err);
  }

  /** The signal's abort listener: the request is dropped and the SDK sees an AbortError, as NodeHttpHandler throws. */
  handleEvent(): void {
    if (this.settled) return;
    this.settled = true;
    this.signal?.removeEventListener("abort", this);
    const abort = this.abort;
    this.abort = undefined;
    abort?.(this.signal?.reason as Error);
    this.fail(abortError(this.signal));
  }
}

const EMPTY = Buffer.alloc(0);

const abortError = (signal: AbortSignal | undefined) => Object.assign(new Error("Request aborted", { cause: signal?.reason }), { name: "AbortError" });

/** `handle()`'s exchange: settles a promise. */
class PromiseExchange extends Exchange {
  resolve!: (answer: { response: SdkHttpResponse }) => void;
  reject!: (err: unknown) => void;

  protected done(response: SdkHttpResponse): void {
    this.resolve({ response });
  }

  protected fail(err: unknown): void {
    this.reject(err);
  }
}

/** The request the SDK hands its request handler (an `HttpRequest` of @smithy/core, typed as far as it is used). */
export interface SdkHttpRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

/** The answer the SDK's deserialisers read: the body is collected already (they take a Uint8Array as it is). */
export interface SdkHttpResponse {
  statusCode: number;
  reason?: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface UndiciHandlerOptions {
  /** Most connections per origin: requests beyond them wait for a free one. */
  connections: number;
  /** Time to open a connection. */
  connectTimeoutMs: number;
  /**
   * Time to wait for the response's headers, and between chunks of its body. A synchronous invoke stays silent until
   * the function returns, so this must outlast the function's own time limit.
   */
  responseTimeoutMs: number;
}

// RFC 3986 encoding, as the SDK's NodeHttpHandler writes query strings (what SigV4 signs is computed separately).
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function queryString(query: SdkHttpRequest["query"]): string {
  const parts: string[] = [];
  for (const key in query) {
    const value = query[key];
    const k = rfc3986(key);
    if (Array.isArray(value)) for (const v of value) parts.push(`${k}=${rfc3986(v)}`);
    else parts.push(value == null ? k : `${k}=${rfc3986(value)}`);
  }
  return parts.join("&");
}

/**
 * undici's connector with a connect timeout whose timer lives only while the connection is being made. undici's own
 * (`connect: { timeout }`) leaves its timer, the options and their closure reachable from the socket's error listener
 * for the connection's whole life: about 0.4 KB per connection, and a synchronous invoke holds a connection each.
 */
function connectWithTimeout(timeoutMs: number): buildConnector.connector {
  // undici's connector returns the socket it opens (its typings say void): kept to destroy it on time-out.
  const connect = buildConnector({ timeout: 0 }) as unknown as (o: buildConnector.Options, cb: buildConnector.Callback) => Socket | undefined;
  return (opts, callback) => {
    let settled = false;
    let socket: Socket | undefined;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      const err = new errors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${opts.hostname}:${opts.port}, timeout: ${timeoutMs}ms)`);
      socket?.destroy(err);
      callback(err, null);
    }, timeoutMs);
    timer.unref();
    socket = connect(opts, (err, s) => {
      if (settled) {
        s?.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      if (err) callback(err, null);
      else callback(null, s!);
    });
  };
}

/**
 * An SDK request handler (`handle(request, { abortSignal })`) on an undici connection pool with keep-alive, for the
 * invocations: the same wire exchange as the SDK's NodeHttpHandler at a fraction of its CPU per request (no
 * ClientRequest / IncomingMessage streams, no four timers per request). The response body is read whole, as the
 * deserialiser of an Invoke would read it anyway. Network failures, timeouts and aborts reject with undici's errors,
 * which carry no HTTP status (so the backend retries them, as it does NodeHttpHandler's).
 */
export class UndiciHttpHandler {
  readonly metadata = { handlerProtocol: "http/1.1" };
  private agent: Agent;
  private connections: number;
  private lastPath = "";

  constructor(private readonly options: UndiciHandlerOptions) {
    this.connections = options.connections;
    this.agent = this.newAgent();
  }

  private newAgent(): Agent {
    const o = this.options;
    return new Agent({
      connections: this.connections,
      connect: connectWithTimeout(o.connectTimeoutMs),
      headersTimeout: o.responseTimeoutMs,
      bodyTimeout: o.responseTimeoutMs,
    });
  }

  /** Changes the connection limit; requests in flight finish on the connections they have. */
  resize(connections: number): void {
    if (connections === this.connections) return;
    this.connections = connections;
    const old = this.agent;
    this.agent = this.newAgent();
    void old.close().catch(() => undefined);
  }

  // The SDK types the signal with an interface of its own; what arrives is the attempt's AbortSignal.
  handle(request: SdkHttpRequest, options: { abortSignal?: unknown } = {}): Promise<{ response: SdkHttpResponse }> {
    const signal = options.abortSignal as AbortSignal | undefined;
    const x = new PromiseExchange(signal);
    const answer = new Promise<{ response: SdkHttpResponse }>((resolve, reject) => {
      x.resolve = resolve;
      x.reject = reject;
    });
    this.dispatch(request, x);
    return answer;
  }

  /**
   * Sends `request` with an exchange of the caller's, which settles it: no promise of its own, so a caller that has
   * its own per-request object keeps nothing else alive while the answer is awaited.
   */
  dispatch(request: SdkHttpRequest, exchange: Exchange): void {
    const signal = exchange.signal;
    if (signal?.aborted) {
      exchange.handleEvent();
      return;
    }
    const origin = `${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ""}`;
    const q = request.query ? queryString(request.query) : "";
    // The path is the same for every invocation of a function: undici keeps it with each request in flight, so it is
    // one shared string rather than the copy the serialiser made for this request.
    let path = q ? `${request.path}?${q}` : request.path;
    if (path === this.lastPath) path = this.lastPath;
    else this.lastPath = path;
    signal?.addEventListener("abort", exchange);
    this.agent.dispatch(
      { origin, path, method: request.method as "POST", headers: request.headers, body: request.body as Uint8Array | string | null | undefined },
      exchange as unknown as Dispatcher.DispatchHandler,
    );
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {
    void this.agent.destroy().catch(() => undefined);
  }
}
