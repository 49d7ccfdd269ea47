// Shared set-up of the Lambda tests: the loopback Lambda emulator, a real S3-compatible server, and backends
// pointed at them with fake credentials. Everything started here is stopped by `close()`.
import { startLambdaEmulator, type LambdaEmulator, type LambdaEmulatorOptions } from "./emulator/lambda-emulator.mjs";
import { startS3Server, type S3TestServer } from "../../store-s3/test/s3-server.js";
import { LambdaBackend, type LambdaOptions } from "../src/index.js";

/** An ARN the emulator accepts as an execution role. */
export const TEST_ROLE = "arn:aws:iam::123456789012:role/superfaas-test";
/** The bucket the data-plane tests use. */
export const TEST_BUCKET = "superfaas-lambda-test";

/** A running emulator (and S3 server, when asked) plus a factory of backends aimed at them. */
export interface LambdaTestbed {
  emulator: LambdaEmulator;
  s3: S3TestServer | undefined;
  /** Options that point a backend at this testbed; `overrides` win. */
  options(overrides?: LambdaOptions): LambdaOptions;
  backend(overrides?: LambdaOptions): LambdaBackend;
  close(): Promise<void>;
}

/** Starts the emulator, and s3rver when `s3` is true; the environments get s3rver's credentials, as Lambda hands a role's. */
export async function startTestbed(opts: { s3?: boolean; emulator?: LambdaEmulatorOptions } = {}): Promise<LambdaTestbed> {
  const s3 = opts.s3 ? await startS3Server() : undefined;
  const credentials = s3?.credentials ?? { accessKeyId: "AKIAEMULATOR", secretAccessKey: "emulator-secret" };
  let emulator: LambdaEmulator;
  try {
    emulator = await startLambdaEmulator({ pendingMs: 100, updateMs: 100, credentials, ...opts.emulator });
  } catch (err) {
    await s3?.close();
    throw err;
  }
  const options = (overrides: LambdaOptions = {}): LambdaOptions => ({
    endpoint: emulator.endpoint,
    region: emulator.region,
    credentials,
    role: TEST_ROLE,
    memory: 256,
    functionTimeout: 30,
    waiter: { minDelay: 0.05, maxDelay: 0.2, maxWaitTime: 30 },
    env: {},
    ...(s3 ? { bucket: TEST_BUCKET, s3Endpoint: s3.endpoint } : {}),
    ...overrides,
  });
  return {
    emulator,
    s3,
    options,
    backend: (overrides) => new LambdaBackend(options(overrides)),
    async close() {
      await emulator.close();
      await s3?.close();
    },
  };
}
