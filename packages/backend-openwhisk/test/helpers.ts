// What the OpenWhisk tests share: the emulator, a loopback S3 server (s3rver) and backends pointed at them.
import { startS3Server } from "../../store-s3/test/s3-server.js";
import { OpenWhiskBackend, type OpenWhiskOptions } from "../src/index.js";
import { startOpenWhiskEmulator, type OpenWhiskEmulator, type OpenWhiskEmulatorOptions } from "./emulator/server.mjs";

// The AWS SDK warns on stderr that future versions need Node 22; that is not news to these tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export { startOpenWhiskEmulator, type OpenWhiskEmulator, type OpenWhiskEmulatorOptions };

/** An S3-compatible server on a loopback port, in a temporary directory removed on close. */
export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** s3rver checks signatures against this one key pair. */
  env: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string };
  /** Keys under `prefix` (all of them when empty). */
  keys(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Starts s3rver; the bucket does not exist yet (the backend creates it, as it would on a fresh account). */
export async function startS3(bucket = "superfaas-ow-test"): Promise<TestS3> {
  const server = await startS3Server();
  const { endpoint } = server;
  return {
    endpoint,
    bucket,
    env: { AWS_ACCESS_KEY_ID: server.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey },
    async keys(prefix = "") {
      const res = await fetch(`${endpoint}/${bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`);
      if (res.status === 404) return [];
      const xml = await res.text();
      return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
    },
    close: () => server.close(),
  };
}

/** A backend for the emulator (and the S3 server, when given), blind to the machine's ~/.wskprops and __OW_* variables. */
export function backendFor(emulator: OpenWhiskEmulator, options: OpenWhiskOptions = {}, s3?: TestS3): OpenWhiskBackend {
  return new OpenWhiskBackend({
    ...emulator.clientOptions,
    wskprops: "/dev/null",
    ...(s3 ? { bucket: s3.bucket, s3Endpoint: s3.endpoint, s3Region: "us-east-1" } : {}),
    ...options,
    env: { ...(s3 ? s3.env : {}), ...(options.env ?? {}) },
  });
}

/** Runs `fn` against a fresh emulator that is closed afterwards, whatever happens. */
export async function withEmulator<T>(options: OpenWhiskEmulatorOptions, fn: (emulator: OpenWhiskEmulator) => Promise<T>): Promise<T> {
  const emulator = await startOpenWhiskEmulator(options);
  try {
    return await fn(emulator);
  } finally {
    await emulator.close();
  }
}

/** Whether the AWS SDK loads in this test process (see conformance.test.ts). */
export async function awsSdkLoads(): Promise<string | undefined> {
  try {
    await import("@superfaas/store-s3");
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
