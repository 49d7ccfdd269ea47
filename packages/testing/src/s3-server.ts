/// <reference path="./s3rver.d.ts" />
// A real S3-compatible server (s3rver) on loopback for tests, in a temporary directory that is removed on close.
// Other packages' tests import it by name: `import { startS3Server } from "@superfaas/testing"`.
import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import { SignatureError, sigV4Verifier } from "./lambda/sigv4.js";

/** A store configuration as `@superfaas/store-s3` takes it (its S3StoreConfig). */
export interface S3TestStoreConfig {
  bucket: string;
  endpoint: string;
  region: string;
  forcePathStyle: boolean;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** A running test S3 server. */
export interface S3TestServer {
  /** `http://127.0.0.1:PORT`, to pass as the S3 client's endpoint (with forcePathStyle). */
  endpoint: string;
  /** The only key pair s3rver accepts; it checks request signatures against it. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  /** A store configuration for `bucket` on this server. */
  storeConfig(bucket: string): S3TestStoreConfig;
  /** Keys in `bucket` under `prefix` (all of them when empty); none when the bucket does not exist. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
  /** Every object written so far (PUT requests), as `bucket/key`, oldest first. */
  readonly writes: string[];
  /** Every object deleted on its own (DELETE requests) that s3rver answered with success, as `bucket/key`, oldest first. */
  readonly deletes: string[];
  /** Every ranged GET answered so far (refused ones included, injected faults not): `bucket/key`, Range, status. */
  readonly rangedReads: Array<{ path: string; range: string; status: number }>;
  /**
   * Makes the next `count` GETs of an object whose `bucket/key` matches `match` fail as S3 does when it is briefly
   * unwell (503 SlowDown, or 500 InternalError), or lose their connection ("reset"), before s3rver sees them.
   */
  failNextReads(count: number, opts?: { status?: 500 | 503 | "reset"; match?: RegExp }): void;
  close(): Promise<void>;
}

/** Starts s3rver on a free loopback port; `buckets` exist from the start. */
export async function startS3Server(opts: { buckets?: string[] } = {}): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), "s3rver-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: (opts.buckets ?? []).map((name) => ({ name })),
  });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  let closed = false;
  const verify = sigV4Verifier({ region: "us-east-1", service: "s3", credentials: [credentials] });
  const writes: string[] = [];
  const deletes: string[] = [];
  const rangedReads: S3TestServer["rangedReads"] = [];
  let faults: { count: number; status: 500 | 503 | "reset"; match: RegExp } | undefined;
  // One dispatcher in front of s3rver's own handler: it records writes and ranged reads, injects faults, and makes
  // Range requests behave as S3's do where s3rver differs (below).
  const http = (server as unknown as { httpServer?: import("node:http").Server }).httpServer;
  const store = (server as unknown as { store: { getResourcePath(bucket: string, key: string, resource: string): string } }).store;
  const handlers = http?.listeners("request") ?? [];
  http?.removeAllListeners("request");
  http?.on("request", (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
    const path = decodeURIComponent((req.url ?? "").split("?")[0]!.slice(1));
    if (req.method === "PUT" && path.includes("/")) writes.push(path);
    if (req.method === "DELETE" && path.includes("/")) res.on("finish", () => res.statusCode < 300 && deletes.push(path));
    if (req.method === "GET" && path.includes("/") && faults && faults.count > 0 && faults.match.test(path)) {
      faults.count--;
      if (faults.status === "reset") {
        req.socket.destroy();
        return;
      }
      const code = faults.status === 503 ? "SlowDown" : "InternalError";
      res.writeHead(faults.status, { "content-type": "application/xml" });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected fault</Message></Error>`);
      return;
    }
    // After the signature check: a client may have signed the Range header as it sent it.
    const pass = () => {
      const range = req.headers.range;
      if (req.method === "GET" && range !== undefined && path.includes("/")) {
        fixRange(req, res, range, () => {
          const slash = path.indexOf("/");
          return statSync(store.getResourcePath(path.slice(0, slash), path.slice(slash + 1), "object"), { throwIfNoEntry: false })?.size;
        });
        res.on("finish", () => rangedReads.push({ path, range, status: res.statusCode }));
      }
      for (const h of handlers) (h as (...a: unknown[]) => void).call(http, req, res);
    };
    // s3rver does not check SigV4 signatures at all; S3 refuses a wrong one. Reads (no body) are checked here.
    if ((req.method === "GET" || req.method === "HEAD") && req.headers.authorization?.startsWith("AWS4-")) {
      verify(req, Buffer.alloc(0)).then(pass, (err: unknown) => {
        const e = err instanceof SignatureError ? err : new SignatureError(403, "AccessDenied", String(err));
        const code = e.type === "InvalidSignatureException" ? "SignatureDoesNotMatch" : e.type === "UnrecognizedClientException" ? "InvalidAccessKeyId" : e.type;
        if (req.method === "GET" && req.headers.range !== undefined) rangedReads.push({ path, range: req.headers.range, status: e.status });
        res.writeHead(e.status, { "content-type": "application/xml" });
        res.end(req.method === "HEAD" ? undefined : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${e.message}</Message></Error>`);
      });
      return;
    }
    pass();
  });
  return {
    writes,
    deletes,
    rangedReads,
    failNextReads(count, opts = {}) {
      faults = { count, status: opts.status ?? 503, match: opts.match ?? /./ };
    },
    async keys(bucket, prefix = "") {
      const res = await fetch(`${endpoint}/${bucket}?prefix=${encodeURIComponent(prefix)}`);
      if (res.status === 404) return [];
      const xml = await res.text();
      return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
    },
    endpoint,
    credentials,
    region: "us-east-1",
    storeConfig: (bucket) => ({ bucket, endpoint, region: "us-east-1", forcePathStyle: true, credentials }),
    async close() {
      if (closed) return;
      closed = true;
      // Keep-alive sockets of clients would hold close() open; s3rver's server is a plain http.Server.
      http?.closeAllConnections?.();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Makes s3rver answer Range requests as S3 does (RFC 9110): a suffix range `bytes=-N` is the last N bytes (s3rver
 * serves the first N+1), a syntactically invalid or multi-part range is ignored (the whole object, 200; s3rver
 * answers 416 to `bytes=5-2` and reads garbage from others), and a 416 says the object's size in `Content-Range:
 * bytes *\/SIZE` (s3rver omits it).
 */
function fixRange(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse, range: string, sizeOf: () => number | undefined): void {
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  const size = sizeOf();
  if (!m || (!m[1] && !m[2]) || (m[1] && m[2] && Number(m[2]) < Number(m[1]))) {
    delete req.headers.range;
    return;
  }
  if (!m[1] && size !== undefined) {
    // The last N bytes; N past the size means the whole object, and an empty object has no satisfiable suffix.
    const n = Number(m[2]);
    req.headers.range = n === 0 || size === 0 ? `bytes=${size}-` : `bytes=${Math.max(0, size - n)}-`;
  }
  if (size === undefined) return;
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => import("node:http").ServerResponse;
  res.writeHead = ((...args: unknown[]) => {
    if ((typeof args[0] === "number" ? args[0] : res.statusCode) === 416) res.setHeader("Content-Range", `bytes */${size}`);
    return writeHead(...args);
  }) as typeof res.writeHead;
}
