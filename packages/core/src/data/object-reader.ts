// Reads a task's byte range from where the data lives: a ranged GET on S3 (signed with aws4fetch, a few kB, rather
// than the AWS SDK, so function bundles stay small) or a positioned file read. Runs on the remote side.
import { AwsClient } from "aws4fetch";
import { SuperfaasError } from "../errors.js";
import { delimiterByte, ownedRecords, parseS3Url, type ObjectRange } from "./objects.js";

/**
 * How functions reach S3: endpoint, region and credentials come from the backend's configuration or the process
 * environment (a Lambda execution role's, say), never from tasks.
 */
export interface S3Access {
  /** An S3-compatible endpoint (path-style URLs); AWS's own regional endpoint when absent. */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Longest an S3 request may wait for an answer, or for the next bytes of one, in ms (default `S3_TIMEOUT_MS`). */
  timeoutMs?: number;
}

/** How long an S3 request may go unanswered (or an answer's body stall) before it fails: 30 s. */
export const S3_TIMEOUT_MS = 30_000;

/** How ranged reads retry transient failures (5xx, throttling, dropped connections); 4xx other than 429 fail at once. */
export interface ReadRetry {
  /** Extra attempts after the first (default 4). */
  retries?: number;
  /** First backoff in ms, doubled each time, with jitter (default 100). */
  baseMs?: number;
}

/**
 * S3 settings from the usual AWS variables: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID...,
 * and SUPERFAAS_S3_TIMEOUT (seconds, see `S3Access.timeoutMs`).
 */
export function s3AccessFromEnv(env: Record<string, string | undefined> = process.env): S3Access {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const timeout = env.SUPERFAAS_S3_TIMEOUT;
  const seconds = timeout === undefined || timeout === "" ? undefined : Number(timeout);
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds >= 0.001 && seconds <= 3600)) {
    throw new SuperfaasError("BAD_INPUT", `invalid SUPERFAAS_S3_TIMEOUT ${JSON.stringify(timeout)}`, "it takes seconds from 0.001 to 3600 (default 30), or unset it");
  }
  return {
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    ...(seconds !== undefined ? { timeoutMs: Math.round(seconds * 1000) || 1 } : {}),
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } }
      : {}),
  };
}

/** An error of one read; `retryable` tells the scheduler whether another attempt of the task may succeed. */
export class ObjectReadError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ObjectReadError";
  }
}

/** An S3 request that went unanswered (or whose answer stalled) for the deadline: transient, another attempt may pass. */
export class S3TimeoutError extends ObjectReadError {
  constructor(
    message: string,
    readonly timeoutMs: number,
  ) {
    super(message, true);
    this.name = "S3TimeoutError";
  }
}

/**
 * The data's S3 endpoint cannot be reached at all from where the task runs (no such host, connection refused, no
 * route), after the read's own retries: the endpoint the task was given is wrong for that place (a function that got
 * AWS's public host, a loopback address inside a container). A configuration error, not the job's, and not retried.
 */
export class DataEndpointError extends ObjectReadError {
  constructor(message: string) {
    super(message, false);
    this.name = "DataEndpointError";
  }
}

/** The connection errors that say a host cannot be reached at all (not a reset or a slow answer). */
const UNREACHABLE = new Set(["ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"]);

/** The HTTP URL of an S3 object: path-style on a custom endpoint, virtual-hosted on AWS. */
export function s3HttpUrl(url: string, access: S3Access): string {
  const { bucket, key } = parseS3Url(url);
  const path = key.split("/").map(encodeURIComponent).join("/");
  if (access.endpoint) return `${access.endpoint.replace(/\/+$/, "")}/${bucket}/${path}`;
  return `https://${bucket}.s3.${access.region ?? "us-east-1"}.amazonaws.com/${path}`;
}

const clients = new WeakMap<S3Access, AwsClient>();

/** A SigV4 signer for `access` (one per settings object, reused across reads). */
export function s3Client(access: S3Access): AwsClient {
  let c = clients.get(access);
  if (!c) {
    if (!access.credentials) {
      throw new SuperfaasError(
        "BACKEND_CONFIG",
        "no S3 credentials where this task runs",
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (local), configure the backend's bucket and keys (--bucket on OpenWhisk), or give the Lambda role s3:GetObject",
      );
    }
    // aws4fetch's own retries cover only 5xx and none of the socket errors; ours do both, so its are off.
    c = new AwsClient({ ...access.credentials, service: "s3", region: access.region ?? "us-east-1", retries: 0 });
    clients.set(access, c);
  }
  return c;
}

/**
 * aws4fetch signs with the global WebCrypto, which Node.js 18 (OpenWhisk's nodejs:18 kind) does not expose by
 * default; Node's own implementation is installed there once.
 */
export async function ensureWebCrypto(): Promise<void> {
  if (typeof fetch !== "function") {
    throw new SuperfaasError("BACKEND_CONFIG", `reading from S3 needs Node.js 18 or newer (global fetch); this is ${process.version}`, "deploy on a newer runtime (OpenWhisk: --kind nodejs:20)");
  }
  if (!(globalThis as { crypto?: unknown }).crypto) {
    const { webcrypto } = await import("node:crypto");
    Object.defineProperty(globalThis, "crypto", { value: webcrypto, configurable: true, writable: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One S3 answer, read whole. */
export interface S3Answer {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

const concatAll = (parts: Uint8Array[], size: number): Uint8Array => {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/**
 * One signed S3 request and its whole answer, within the deadline of `access` (`S3_TIMEOUT_MS` by default): it
 * fails with S3TimeoutError when the endpoint does not answer, or stops sending the body, for that long. `signal`
 * ends it at once (with the signal's reason). Needs `ensureWebCrypto()` first.
 */
export async function s3Request(url: string, init: { method?: string; headers?: Record<string, string> }, access: S3Access, signal?: AbortSignal): Promise<S3Answer> {
  signal?.throwIfAborted();
  const ms = access.timeoutMs ?? S3_TIMEOUT_MS;
  const client = s3Client(access);
  const ac = new AbortController();
  // Refreshed by every chunk of the body: the deadline bounds silence, not the size of what is read.
  const timer = setTimeout(() => ac.abort(), ms);
  const cancel = () => ac.abort();
  signal?.addEventListener("abort", cancel);
  try {
    const res = await client.fetch(url, { ...init, signal: ac.signal });
    const parts: Uint8Array[] = [];
    let size = 0;
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        timer.refresh();
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        size += value.length;
      }
    }
    return { status: res.status, headers: res.headers, body: parts.length ? concatAll(parts, size) : new Uint8Array(0) };
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (ac.signal.aborted) {
      throw new S3TimeoutError(`${new URL(url).origin} accepted the connection but did not answer within ${ms / 1000} s`, ms);
    }
    throw err;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", cancel);
  }
}

/** Retries `attempt` on retryable ObjectReadErrors and network errors, with exponential backoff and jitter. */
async function withRetries<R>(what: string, retry: ReadRetry, attempt: () => Promise<R>, signal?: AbortSignal, endpoint?: string): Promise<R> {
  const retries = retry.retries ?? 4;
  const base = retry.baseMs ?? 100;
  for (let n = 0; ; n++) {
    signal?.throwIfAborted();
    try {
      return await attempt();
    } catch (err) {
      const readError = err instanceof ObjectReadError;
      // fetch rejects with a TypeError on a refused or reset connection; a file's EIO-style errors are not transient.
      const transient = readError ? err.retryable : err instanceof TypeError;
      if (!transient) throw err;
      if (n >= retries) {
        const code = err instanceof TypeError ? ((err.cause as { code?: unknown } | undefined)?.code as string | undefined) : undefined;
        if (endpoint && code && UNREACHABLE.has(code)) {
          throw new DataEndpointError(`${what}: cannot reach the S3 endpoint ${endpoint} from where the task runs (${code}, ${n + 1} tries)`);
        }
        throw new ObjectReadError(`${what} failed ${n + 1} times: ${(err as Error).message}${(err as Error).cause ? ` (${String(((err as Error).cause as Error).message ?? (err as Error).cause)})` : ""}`, true, readError ? err.status : undefined);
      }
      await sleep(base * 2 ** n * (0.5 + Math.random() / 2));
    }
  }
}

async function fetchS3(url: string, start: number, end: number, access: S3Access, signal?: AbortSignal): Promise<Uint8Array> {
  await ensureWebCrypto();
  const res = await s3Request(s3HttpUrl(url, access), { headers: { Range: `bytes=${start}-${end - 1}` } }, access, signal);
  if (res.status === 206 || res.status === 200) {
    // A server that ignores Range answers 200 with the whole object.
    return res.status === 200 ? res.body.subarray(start, end) : res.body;
  }
  if (res.status === 416) return new Uint8Array(0);
  const text = new TextDecoder().decode(res.body.subarray(0, 300));
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const retryable = res.status >= 500 || res.status === 429 || code === "SlowDown" || code === "RequestTimeout";
  throw new ObjectReadError(`GET ${url} bytes ${start}-${end - 1}: HTTP ${res.status}${code ? ` ${code}` : ""}`, retryable, res.status);
}

async function readFileRange(url: string, start: number, end: number): Promise<Uint8Array> {
  // Imported when used: the function bundles of cloud backends never read local files.
  const { open } = await import("node:fs/promises");
  const { fileURLToPath } = await import("node:url");
  const fh = await open(fileURLToPath(url), "r");
  try {
    const buf = new Uint8Array(end - start);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, start + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } catch (err) {
    throw new ObjectReadError(`read ${url} bytes ${start}-${end - 1}: ${(err as Error).message}`, false);
  } finally {
    await fh.close();
  }
}

/** Reads bytes [start, end) of an object (fewer at its end), retrying transient failures; `signal` ends it at once. */
export function readBytes(url: string, start: number, end: number, access: S3Access = {}, retry: ReadRetry = {}, signal?: AbortSignal): Promise<Uint8Array> {
  if (end <= start) return Promise.resolve(new Uint8Array(0));
  if (url.startsWith("s3://")) return withRetries(`reading ${url}`, retry, () => fetchS3(url, start, end, access, signal), signal, new URL(s3HttpUrl(url, access)).origin);
  if (url.startsWith("file://")) return readFileRange(url, start, end);
  throw new SuperfaasError("BAD_INPUT", `cannot read ${JSON.stringify(url)}`, "data URLs are s3://BUCKET/KEY or file:///PATH");
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/** Reads bytes [start, end) of one object (fewer at its end). */
export type ByteSource = (start: number, end: number) => Promise<Uint8Array>;

/** How far a delimited range first reads past its end for its last record's delimiter; each further step doubles. */
export const READ_AHEAD_BYTES = 64 * 1024;

/**
 * The records a range owns, read through `source`: the bytes [start, end) for fixed-size records; for delimited ones,
 * from the first record that starts in the range through the end of the last, reading past `end` as far as it goes:
 * `READ_AHEAD_BYTES`, then twice as much each time, so a range whose last record ends just past it reads little more.
 */
export async function readRecords(range: ObjectRange, source: ByteSource): Promise<Uint8Array> {
  if (range.layout.kind === "fixed") return source(range.start, range.end);
  const delimiter = delimiterByte(range.layout);
  const from = Math.max(0, range.start - 1);
  let bytes = await source(from, range.end);
  let endAt = from + bytes.length;
  // The first owned record must start before `end`; when none does, nothing past `end` is needed.
  const first = bytes.indexOf(delimiter);
  const owns = range.start === 0 || (first >= 0 && from + first + 1 < range.end);
  // Not the chunk size: that read about twice the range's bytes to find one delimiter (#21 item 9).
  let step = READ_AHEAD_BYTES;
  while (owns && endAt < range.size && bytes.indexOf(delimiter, Math.max(0, range.end - 1 - from)) < 0) {
    const more = await source(endAt, Math.min(range.size, endAt + step));
    if (more.length === 0) break;
    bytes = concat(bytes, more);
    endAt += more.length;
    step *= 2;
  }
  return ownedRecords(bytes, from, range, delimiter);
}

/**
 * Reads the records a range owns from S3 or a local file (see `readRecords`), retrying transient S3 failures;
 * `onRead` learns the size of every read, read-ahead included (the run report's bytesRead).
 */
export function readRange(range: ObjectRange, access: S3Access = {}, retry: ReadRetry = {}, onRead?: (bytes: number) => void): Promise<Uint8Array> {
  return readRecords(range, async (start, end) => {
    const bytes = await readBytes(range.url, start, end, access, retry);
    onRead?.(bytes.length);
    return bytes;
  });
}
