// A real S3-compatible server (s3rver) on loopback for tests, in a temporary directory that is removed on close.
// Reusable by other packages' tests: `import { startS3Server } from "../../store-s3/test/s3-server.js"`.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import type { S3StoreConfig } from "../src/index.js";

/** A running test S3 server. */
export interface S3TestServer {
  /** `http://127.0.0.1:PORT`, to pass as the S3 client's endpoint (with forcePathStyle). */
  endpoint: string;
  /** The only key pair s3rver accepts; it checks request signatures against it. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  /** A store configuration for `bucket` on this server. */
  storeConfig(bucket: string): S3StoreConfig;
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
  return {
    endpoint,
    credentials,
    region: "us-east-1",
    storeConfig: (bucket) => ({ bucket, endpoint, region: "us-east-1", forcePathStyle: true, credentials }),
    async close() {
      if (closed) return;
      closed = true;
      // Keep-alive sockets of clients would hold close() open; s3rver's server is a plain http.Server.
      const http = (server as unknown as { httpServer?: { closeAllConnections?: () => void } }).httpServer;
      http?.closeAllConnections?.();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
