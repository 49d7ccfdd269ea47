import { Agent, type Dispatcher } from "undici";

/** One request in flight: its own undici handler and abort listener; settles once, with the whole answer or the error. */
class Call implements Dispatcher.DispatchHandler {
  private status = 0;
  private headers: Record<string, string> = {};
  private chunks: Buffer[] = [];
  private controller: Dispatcher.DispatchController | undefined;
  private settled = false;
  resolve!: (answer: { response: SdkHttpResponse }) => void;
  reject!: (err: unknown) => void;

  constructor(private readonly signal: AbortSignal | undefined) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.settled) controller.abort(this.signal?.reason as Error);
    else this.controller = controller;
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = status;
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined) this.headers[name] = Array.isArray(value) ? value.join(",") : value;
    }
  }

  onResponseData(_c: Dispatcher.DispatchController, data: Buffer): void {
    this.chunks.push(data);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    this.signal?.removeEventListener("abort", this);
    const c = this.chunks;
    const bytes = c.length === 1 ? c[0]! : Buffer.concat(c);
    this.resolve({ response: { statusCode: this.status, headers: this.headers, body: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) } });
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.signal?.removeEventListener("abort", this);
    this.reject(err);
  }

  /** The signal's abort listener: the request is dropped and the SDK sees an AbortError, as NodeHttpHandler throws. */
  handleEvent(): void {
    if (this.settled) return;
    this.settled = true;
    this.signal?.removeEventListener("abort", this);
    this.controller?.abort(this.signal?.reason as Error);
    this.reject(Object.assign(new Error("Request aborted", { cause: this.signal?.reason }), { name: "AbortError" }));
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

  constructor(private readonly options: UndiciHandlerOptions) {
    this.connections = options.connections;
    this.agent = this.newAgent();
  }

  private newAgent(): Agent {
    const o = this.options;
    return new Agent({
      connections: this.connections,
      connect: { timeout: o.connectTimeoutMs },
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
  async handle(request: SdkHttpRequest, options: { abortSignal?: unknown } = {}): Promise<{ response: SdkHttpResponse }> {
    const signal = options.abortSignal as AbortSignal | undefined;
    if (signal?.aborted) throw Object.assign(new Error("Request aborted", { cause: signal.reason }), { name: "AbortError" });
    const origin = `${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ""}`;
    const q = request.query ? queryString(request.query) : "";
    // dispatch with a handler of our own: no Readable body stream, no per-request abort helper objects, so an
    // invocation in flight holds less than through `agent.request()`.
    const call = new Call(signal);
    const answer = new Promise<{ response: SdkHttpResponse }>((resolve, reject) => {
      call.resolve = resolve;
      call.reject = reject;
    });
    signal?.addEventListener("abort", call);
    this.agent.dispatch(
      { origin, path: q ? `${request.path}?${q}` : request.path, method: request.method as "POST", headers: request.headers, body: request.body as Uint8Array | string | null | undefined },
      call,
    );
    return answer;
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {
    void this.agent.destroy().catch(() => undefined);
  }
}
