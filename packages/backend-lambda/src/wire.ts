// Names shared by the backend and the function it deploys (handler-entry.ts). The backend never imports the entry
// itself: that module only makes sense inside a bundle.

/** The environment variable that carries the object store's settings (set when a bucket is configured). */
export const S3_ENV = "SUPERFAAS_S3";

/**
 * The environment variable that carries where the function reads the job's data from S3 (`{ endpoint }`): set whenever
 * the run has an S3 endpoint for its functions (--s3-endpoint, AWS_ENDPOINT_URL_S3, --function-s3-endpoint), with or
 * without a bucket, so `ctx.read` reaches the store the run listed and not AWS's public host.
 */
export const DATA_ENV = "SUPERFAAS_DATA";
