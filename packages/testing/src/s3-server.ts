/// <reference path="./s3rver.d.ts" />
// A real S3-compatible server (s3rver) on loopback for tests, in a temporary directory that is removed on close.
// Other packages' tests import it by name: `import { startS3Server } from "@superfaas/testing"`.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";

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
  const writes: string[] = [];
  // A second listener beside s3rver's own: it sees every request, and records object writes (not bucket creation).
  const http = (server as unknown as { httpServer?: import("node:http").Server }).httpServer;
  http?.on("request", (req: import("node:http").IncomingMessage) => {
    const path = decodeURIComponent((req.url ?? "").split("?")[0]!.slice(1));
    if (req.method === "PUT" && path.includes("/")) writes.push(path);
  });
  return {
    writes,
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
