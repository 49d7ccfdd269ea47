// What the OpenWhisk tests share: the OpenWhisk testbed of @superfaas/testing (the loopback OpenWhisk, and s3rver
// when asked) and backends aimed at it, blind to the machine's ~/.wskprops and __OW_* variables.
import { startOpenWhiskEmulator, startOpenWhiskTestbed, type OpenWhiskEmulator, type OpenWhiskEmulatorOptions, type BackendTestbed } from "@superfaas/testing";
import { OpenWhiskBackend, type OpenWhiskOptions } from "../src/index.js";

export { startOpenWhiskEmulator, type OpenWhiskEmulator, type OpenWhiskEmulatorOptions };

/** The OpenWhisk testbed and a factory of backends aimed at it, as the Lambda tests have theirs. */
export type OpenWhiskTestbed = BackendTestbed<OpenWhiskEmulator, OpenWhiskOptions, OpenWhiskBackend>;

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
