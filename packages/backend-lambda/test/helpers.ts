// Shared set-up of the Lambda tests: the Lambda testbed of @superfaas/testing (loopback Lambda emulator, and a real
// S3-compatible server when asked) plus backends aimed at it. Everything started here is stopped by `close()`.
import { startLambdaTestbed, TEST_ROLE, type BackendTestbed, type LambdaEmulator, type LambdaEmulatorOptions } from "@superfaas/testing";
import { LambdaBackend, type LambdaOptions } from "../src/index.js";

export { TEST_ROLE };
/** The bucket the data-plane tests use. */
export const TEST_BUCKET = "superfaas-lambda-test";

/** The Lambda testbed and a factory of backends aimed at it. */
export type LambdaTestbed = BackendTestbed<LambdaEmulator, LambdaOptions, LambdaBackend>;

/** Starts the testbed; the environments get s3rver's credentials, as Lambda hands them a role's. */
export async function startTestbed(opts: { s3?: boolean; emulator?: LambdaEmulatorOptions } = {}): Promise<LambdaTestbed> {
  const tb = await startLambdaTestbed({ ...opts, bucket: TEST_BUCKET });
  const options = (overrides: LambdaOptions = {}): LambdaOptions => tb.options(overrides);
  return { emulator: tb.emulator, s3: tb.s3, options, backend: (o) => new LambdaBackend(options(o)), keys: tb.keys, close: tb.close };
}
