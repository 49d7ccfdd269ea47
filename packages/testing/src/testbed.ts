// One testbed style for both clouds: a loopback platform server, an S3 test server when asked, and the options that
// aim a backend at them (the backend packages make the backend: this package depends on none of them).
import { startLambdaEmulator, type LambdaEmulator, type LambdaEmulatorOptions } from "./lambda/lambda-emulator.js";
import { startOpenWhiskEmulator, type OpenWhiskEmulator, type OpenWhiskEmulatorOptions } from "./openwhisk/server.js";
import { startS3Server, type S3TestServer } from "./s3-server.js";

/** A running platform server (and S3 server), the options that point a backend at them, and one way to stop it all. */
export interface Testbed<E, O> {
  emulator: E;
  s3: S3TestServer | undefined;
  /** The bucket backends are given (it does not exist until a backend creates it), when there is an S3 server. */
  bucket: string | undefined;
  /** Backend options aimed at this testbed; `overrides` win. */
  options<T extends object>(overrides?: T): O & T;
  /** Keys under `prefix` in the testbed's bucket (none without an S3 server). */
  keys(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}

/** A testbed plus a factory of backends aimed at it: what each backend package's test helpers give its tests. */
export interface BackendTestbed<E, O, B> {
  emulator: E;
  s3: S3TestServer | undefined;
  /** Options that point a backend at this testbed; `overrides` win. */
  options(overrides?: O): O;
  backend(overrides?: O): B;
  /** Keys under `prefix` in the test bucket. */
  keys(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Starts `emulator` and, when asked, an S3 server; stops whatever started if the other fails. */
async function start<E extends { close(): Promise<void> }, O>(
  s3Wanted: boolean,
  bucket: string,
  emulator: (s3: S3TestServer | undefined) => Promise<E>,
  options: (emulator: E, s3: S3TestServer | undefined) => O,
): Promise<Testbed<E, O>> {
  const s3 = s3Wanted ? await startS3Server() : undefined;
  let em: E;
  try {
    em = await emulator(s3);
  } catch (err) {
    await s3?.close();
    throw err;
  }
  const base = options(em, s3);
  return {
    emulator: em,
    s3,
    bucket: s3 ? bucket : undefined,
    options: <T extends object>(overrides?: T) => ({ ...base, ...(overrides ?? {}) }) as O & T,
    keys: async (prefix = "") => (s3 ? s3.keys(bucket, prefix) : []),
    async close() {
      await em.close();
      await s3?.close();
    },
  };
}

/** Options of `OpenWhiskBackend` (from @superfaas/backend-openwhisk) that aim it at an OpenWhisk testbed. */
export interface OpenWhiskTestOptions {
  apihost: string;
  auth: string;
  namespace: string;
  /** Blind to the machine's ~/.wskprops and __OW_* variables. */
  wskprops: string;
  env: Record<string, string | undefined>;
  bucket?: string;
  s3Endpoint?: string;
  s3Region?: string;
}

/** Starts the loopback OpenWhisk (and s3rver when `s3`); actions reach the bucket with s3rver's keys, bound as a parameter. */
export function startOpenWhiskTestbed(opts: { s3?: boolean; bucket?: string; emulator?: OpenWhiskEmulatorOptions } = {}): Promise<Testbed<OpenWhiskEmulator, OpenWhiskTestOptions>> {
  const bucket = opts.bucket ?? "superfaas-ow-test";
  return start(
    Boolean(opts.s3),
    bucket,
    () => startOpenWhiskEmulator(opts.emulator),
    (em, s3) => ({
      ...em.clientOptions,
      wskprops: "/dev/null",
      env: s3 ? { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey } : {},
      ...(s3 ? { bucket, s3Endpoint: s3.endpoint, s3Region: s3.region } : {}),
    }),
  );
}

/** An ARN the Lambda emulator accepts as an execution role. */
export const TEST_ROLE = "arn:aws:iam::123456789012:role/superfaas-test";

/** Options of `LambdaBackend` (from @superfaas/backend-lambda) that aim it at a Lambda testbed. */
export interface LambdaTestOptions {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  role: string;
  memory: number;
  functionTimeout: number;
  waiter: { minDelay: number; maxDelay: number; maxWaitTime: number };
  env: Record<string, string | undefined>;
  bucket?: string;
  s3Endpoint?: string;
}

/** Starts the loopback Lambda (and s3rver when `s3`); environments get s3rver's keys, as Lambda hands them a role's. */
export function startLambdaTestbed(opts: { s3?: boolean; bucket?: string; emulator?: LambdaEmulatorOptions } = {}): Promise<Testbed<LambdaEmulator, LambdaTestOptions>> {
  const bucket = opts.bucket ?? "superfaas-lambda-test";
  const fake = { accessKeyId: "AKIAEMULATOR", secretAccessKey: "emulator-secret" };
  return start(
    Boolean(opts.s3),
    bucket,
    (s3) => startLambdaEmulator({ pendingMs: 100, updateMs: 100, credentials: s3?.credentials ?? fake, ...opts.emulator }),
    (em, s3) => ({
      endpoint: em.endpoint,
      region: em.region,
      credentials: s3?.credentials ?? fake,
      role: TEST_ROLE,
      memory: 256,
      functionTimeout: 30,
      waiter: { minDelay: 0.05, maxDelay: 0.2, maxWaitTime: 30 },
      env: {},
      ...(s3 ? { bucket, s3Endpoint: s3.endpoint } : {}),
    }),
  );
}
