// What the backend learns from the platform before the run (at open): the bucket, created if missing, and the region
// it is in, which the function is deployed with. Lambda's limits are fixed facts (invoke.ts, classify.ts), not read.
import { SuperfaasError } from "@superfaas/core";
import type { S3Store } from "@superfaas/store-s3";
import type { FunctionS3Config, LambdaConfig } from "./config.js";

/** Checks the run's bucket (creating it when missing) and returns the store's settings as the function receives them. */
export async function discoverFunctionS3(store: S3Store, config: LambdaConfig): Promise<FunctionS3Config> {
  const c = config;
  try {
    await store.ensureBucket();
    const region = await store.client.config.region();
    const endpoint = c.s3!.functionEndpoint;
    return { bucket: c.s3!.bucket, ...(region ? { region } : {}), ...(endpoint ? { endpoint, forcePathStyle: true } : {}) };
  } catch (err) {
    throw new SuperfaasError(
      "BACKEND_CONFIG",
      `lambda: cannot use bucket ${c.s3!.bucket}: ${(err as Error).message}`,
      "pick a bucket these credentials may read and write (--bucket), or create it first; check AWS_ENDPOINT_URL_S3 for S3-compatible stores",
      { cause: err },
    );
  }
}
