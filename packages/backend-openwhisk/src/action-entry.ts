// The OpenWhisk action: bundled with the job into the zip's index.js, whose `main(params)` the Node.js runtime calls
// once per activation. The job is loaded once per container.
import { hostname } from "node:os";
import type { ObjectStore } from "@superfaas/core";
import { loadBundledJob, runTask, s3AccessFromEnv, type S3Access, type TaskEnvelope, type TaskPayload } from "@superfaas/core/entry";
import type { S3StoreConfig } from "@superfaas/store-s3";
import { S3_PARAM } from "./wire.js";


const workerId = `openwhisk:${hostname()}:${process.pid}`;
let store: Promise<ObjectStore> | undefined;
let data: S3Access | undefined;

/**
 * Runs one attempt. A failed attempt's envelope goes back inside `error`: the platform keeps only the `error` field of
 * a result that has one and reports the activation as an "application error", so the whole envelope (message, stack,
 * retryable) must live in that field to reach the client.
 */
export async function main(params: TaskPayload & { [S3_PARAM]?: S3StoreConfig }): Promise<TaskEnvelope | { error: TaskEnvelope }> {
  const { [S3_PARAM]: s3, ...payload } = params;
  // The store's code is in the bundle only when the action was deployed with a bucket (see the backend's prepare).
  if (s3 && !store) store = import("@superfaas/store-s3").then((m) => new m.S3Store(s3));
  // Tasks that read their data (ctx.read) use the object store's endpoint and keys bound to the action at deploy time.
  data ??= s3 ? { ...(s3.endpoint ? { endpoint: s3.endpoint } : {}), ...(s3.region ? { region: s3.region } : {}), ...(s3.credentials ? { credentials: s3.credentials } : {}) } : s3AccessFromEnv(process.env);
  const envelope = await runTask(loadBundledJob, payload, workerId, store ? await store : undefined, data);
  return envelope.ok ? envelope : { error: envelope };
}
