// What the OpenWhisk tests share: the OpenWhisk testbed of @superfaas/testing (the loopback OpenWhisk, and s3rver
// when asked) and backends aimed at it, blind to the machine's ~/.wskprops and __OW_* variables.
import { startOpenWhiskEmulator, startOpenWhiskTestbed, type OpenWhiskEmulator, type OpenWhiskEmulatorOptions, type S3TestServer } from "@superfaas/testing";
import { OpenWhiskBackend, type OpenWhiskOptions } from "../src/index.js";

export { startOpenWhiskEmulator, type OpenWhiskEmulator, type OpenWhiskEmulatorOptions };

/** A running emulator (and S3 server, when asked) plus a factory of backends aimed at them: as the Lambda tests'. */
export interface OpenWhiskTestbed {
  emulator: OpenWhiskEmulator;
  s3: S3TestServer | undefined;
  options(overrides?: OpenWhiskOptions): OpenWhiskOptions;
  backend(overrides?: OpenWhiskOptions): OpenWhiskBackend;
  /** Keys under `prefix` in the test bucket. */
  keys(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Starts the testbed; the bucket does not exist yet (the backend creates it, as it would on a fresh account). */
export async function startTestbed(opts: { s3?: boolean; emulator?: OpenWhiskEmulatorOptions } = {}): Promise<OpenWhiskTestbed> {
  const tb = await startOpenWhiskTestbed(opts);
  const options = (overrides: OpenWhiskOptions = {}): OpenWhiskOptions => {
    const base = tb.options();
    return { ...base, ...overrides, env: { ...base.env, ...(overrides.env ?? {}) } };
  };
  return { emulator: tb.emulator, s3: tb.s3, options, backend: (o) => new OpenWhiskBackend(options(o)), keys: tb.keys, close: tb.close };
}

/** A backend for an emulator started on its own (no S3 server). */
export function backendFor(emulator: OpenWhiskEmulator, options: OpenWhiskOptions = {}): OpenWhiskBackend {
  return new OpenWhiskBackend({ ...emulator.clientOptions, wskprops: "/dev/null", ...options, env: { ...(options.env ?? {}) } });
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
