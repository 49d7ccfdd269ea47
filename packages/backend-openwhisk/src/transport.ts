// The hot path: the invoke POSTs and the activation GETs, one of each per task attempt at most, straight over
// undici's dispatcher. The `openwhisk` client (needle underneath) stays for management calls (deploy, delete),
// where a few requests a run do not matter; per invocation it cost several times what the rest of a run costs
// (option objects, URL parsing, header merging, a promise chain and a stream per request).
import { Pool, ProxyAgent, type Dispatcher } from "undici";

/** An HTTP answer: its status and its body, parsed when it is JSON, else the text (a proxy's HTML page). */
export interface HttpAnswer {
  status: number;
  body: unknown;
}

/** What the transport needs to know about the deployment. */
export interface TransportOptions {
  /** `http(s)://host[:port]`, no trailing slash. */
  apihost: string;
  /** `uuid:key`. */
  auth: string;
  namespace: string;
  /** Accept self-signed certificates. */
  insecure: boolean;
  /** Most connections to the controller: one per attempt in flight (a blocking invoke holds its connection). */
  connections: number;
  /** An HTTP(S) proxy to go through, as the `openwhisk` client would. */
  proxy?: string;
  /**
   * Longest wait for an answer's headers (default: none). Set above the blocking invocations' `timeout` plus a
   * margin: a controller (or something posing as one) that accepts a request and never answers fails it then.
   */
  headersTimeoutMs?: number;
  /** Longest silence while an answer's body arrives (default: none). */
  bodyTimeoutMs?: number;
  /** The blocking invocations' `timeout` query parameter in ms (default: none, the controller's 60 s). */
  blockingTimeoutMs?: number;
}

/** The proxy the `openwhisk` client would use for management calls (it reads these, and no NO_PROXY). */
export function proxyFromEnv(env: Record<string, string | undefined> = process.env): string | undefined {
  return env.PROXY || env.proxy || env.HTTP_PROXY || env.http_proxy || env.HTTPS_PROXY || env.https_proxy || undefined;
}

const EMPTY: Buffer[] = [];

/**
 * One request in flight. It is its own undici handler and its own abort listener (`handleEvent`), so a request
 * costs this object, its promise and undici's own request, and no closures. Settles exactly once: with the
 * answer, with the network error, or with the signal's reason as soon as the signal aborts (the connection is
 * then destroyed, so the socket is freed at once rather than when the platform answers).
 */
class Exchange implements Dispatcher.DispatchHandler {
  status = 0;
  private chunk: Buffer | undefined;
  private chunks: Buffer[] = EMPTY;
  private controller: Dispatcher.DispatchController | undefined;
  private settled = false;
  resolve!: (answer: HttpAnswer) => void;
  reject!: (err: unknown) => void;

  constructor(private readonly signal: AbortSignal) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    // A request may wait in the pool's queue for a connection: one aborted meanwhile is dropped as it starts.
    if (this.settled) controller.abort(this.signal.reason as Error);
    else this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number): void {
    this.status = status;
  }

  onResponseData(_controller: Dispatcher.DispatchController, data: Buffer): void {
    if (this.chunk === undefined) this.chunk = data;
    else {
      if (this.chunks === EMPTY) this.chunks = [this.chunk];
      this.chunks.push(data);
    }
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    this.signal.removeEventListener("abort", this);
    const bytes = this.chunks !== EMPTY ? Buffer.concat(this.chunks) : this.chunk;
    const text = bytes === undefined ? "" : bytes.toString("utf8");
    let body: unknown = text;
    // Every answer of the controller is JSON; a proxy in front may answer HTML (502, 504), kept as text.
    const c = text.charCodeAt(0);
    if (c === 123 /* { */ || c === 91 /* [ */) {
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON after all: keep the text
      }
    }
    this.resolve({ status: this.status, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.signal.removeEventListener("abort", this);
    this.reject(err);
  }

  /** The signal's abort listener. */
  handleEvent(): void {
    if (this.settled) return;
    this.settled = true;
    this.signal.removeEventListener("abort", this);
    this.controller?.abort(this.signal.reason as Error);
    this.reject(this.signal.reason);
  }
}

/** Keep-alive connections to one controller, with the requests' constant parts made once. */
export class Transport {
  private readonly dispatcher: Pool | ProxyAgent;
  private readonly origin: string;
  /** Path up to the namespace's collections: `/api/v1/namespaces/NS/`. */
  private readonly base: string;
  private readonly postHeaders: string[];
  private readonly getHeaders: string[];
  /** For the info document, which the controller serves to anyone: no credentials to whatever answers at the host's root. */
  private readonly publicHeaders: string[];
  readonly connections: number;
  private blockingQuery: string;

  constructor(o: TransportOptions) {
    const url = new URL(o.apihost);
    this.origin = url.origin;
    const prefix = url.pathname.replace(/\/+$/, "");
    this.base = `${prefix}/api/v1/namespaces/${encodeURIComponent(o.namespace)}/`;
    const authorization = `Basic ${Buffer.from(o.auth).toString("base64")}`;
    // As the `openwhisk` client sends them, less its user agent (the controller reads neither that nor the rest).
    this.publicHeaders = ["user-agent", "superfaas-openwhisk"];
    this.getHeaders = ["authorization", authorization, "x-namespace-id", o.namespace, ...this.publicHeaders];
    this.postHeaders = [...this.getHeaders, "content-type", "application/json"];
    this.connections = o.connections;
    this.blockingQuery = "?blocking=true";
    if (o.blockingTimeoutMs) this.blockingTimeout = o.blockingTimeoutMs;
    const tls = { rejectUnauthorized: !o.insecure };
    const common = {
      connections: o.connections,
      pipelining: 1,
      // Idle connections are closed after 30 s, before proxies in front of the controller (nginx, OpenShift's
      // router) drop them: reusing a connection the other side is closing fails the request.
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 30_000,
      // A blocking invocation legitimately waits up to its `timeout` for its headers: the caller sets a bound above it,
      // so that no request waits for ever on an endpoint that accepts connections and never answers.
      headersTimeout: o.headersTimeoutMs ?? 0,
      bodyTimeout: o.bodyTimeoutMs ?? 0,
    };
    this.dispatcher = o.proxy
      ? new ProxyAgent({ uri: o.proxy, ...common, requestTls: tls })
      : new Pool(this.origin, { ...common, connect: tls });
  }

  /** The blocking invocations' `timeout` from now on (paths made before keep the old one). */
  set blockingTimeout(ms: number) {
    this.blockingQuery = `?blocking=true&timeout=${Math.round(ms)}`;
  }

  /** `/api/v1/namespaces/NS/actions/NAME?blocking=true&timeout=MS`, made once per action. */
  invokePath(action: string): string {
    return `${this.base}actions/${encodeURIComponent(action)}${this.blockingQuery}`;
  }

  /** `/api/v1/namespaces/NS/actions/NAME`, for deploying (`?overwrite=false`) and deleting. */
  actionPath(action: string): string {
    return `${this.base}actions/${encodeURIComponent(action)}`;
  }

  /** The path of the controller's info document (`GET /`, no credentials needed), below any path in the API host. */
  get infoPath(): string {
    return this.base.slice(0, this.base.indexOf("/api/v1/")) || "/";
  }

  /** `/api/v1/namespaces/NS/activations/ID`. */
  activationPath(activationId: string): string {
    return `${this.base}activations/${encodeURIComponent(activationId)}`;
  }

  /** Where a request went, for error messages. */
  url(path: string): string {
    return this.origin + path;
  }

  post(path: string, body: string, signal: AbortSignal): Promise<HttpAnswer> {
    return this.send("POST", path, this.postHeaders, body, signal);
  }

  get(path: string, signal: AbortSignal): Promise<HttpAnswer> {
    return this.send("GET", path, this.getHeaders, null, signal);
  }

  /** GET without credentials (the info document, `GET /`). */
  getPublic(path: string, signal: AbortSignal): Promise<HttpAnswer> {
    return this.send("GET", path, this.publicHeaders, null, signal);
  }

  put(path: string, body: string, signal: AbortSignal): Promise<HttpAnswer> {
    return this.send("PUT", path, this.postHeaders, body, signal);
  }

  delete(path: string, signal: AbortSignal): Promise<HttpAnswer> {
    return this.send("DELETE", path, this.getHeaders, null, signal);
  }

  private send(method: "GET" | "POST" | "PUT" | "DELETE", path: string, headers: string[], body: string | null, signal: AbortSignal): Promise<HttpAnswer> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const x = new Exchange(signal);
    const answer = new Promise<HttpAnswer>((resolve, reject) => {
      x.resolve = resolve;
      x.reject = reject;
    });
    signal.addEventListener("abort", x);
    this.dispatcher.dispatch({ origin: this.origin, path, method, headers, body }, x);
    return answer;
  }

  /**
   * Refuses new requests and closes the connections: at once, destroying requests in flight, or (`graceful`)
   * once the requests in flight are answered.
   */
  async close(graceful = false): Promise<void> {
    await (graceful ? this.dispatcher.close() : this.dispatcher.destroy()).catch(() => undefined);
  }
}
