import type { BackendFlag } from "../backend.js";

/** The flags every cloud function backend takes for the shared lifecycle: keeping the function, and the object store. */
export function functionBackendFlags(o: { function: string; inlineLimit: string }): BackendFlag[] {
  return [
    { name: "keep", description: `keep the ${o.function} after the run (deleted otherwise, when this run created it)` },
    { name: "bucket", value: "NAME", description: `S3-compatible bucket for payloads over ${o.inlineLimit}, created if missing (default: SUPERFAAS_BUCKET)` },
    { name: "s3-endpoint", value: "URL", description: "S3 endpoint (default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)" },
  ];
}
