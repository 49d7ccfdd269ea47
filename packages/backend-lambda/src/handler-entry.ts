// The Lambda function: bundled with the job into the zip's index.js, whose `handler(event, context)` the runtime calls
// once per invocation. The job is loaded once per execution environment; the event is the task payload and the answer
// is the envelope.
import type { ObjectStore } from "@superfaas/core";
import { loadBundledJob, runTask, s3AccessFromEnv, type S3Access, type TaskEnvelope, type TaskPayload } from "@superfaas/core/entry";
import { DATA_ENV, S3_ENV } from "./wire.js";

const s3 = process.env[S3_ENV] ? JSON.parse(process.env[S3_ENV]) : undefined;
// Where the job's data is (ctx.read): the run's S3 endpoint as the function reaches it, bucket or not.
const dataAt: { endpoint?: string } = process.env[DATA_ENV] ? JSON.parse(process.env[DATA_ENV]) : {};
let opening: Promise<ObjectStore> | undefined;
// Opened on first use only: cold starts of functions that never see a large payload do not load the S3 client. Its
// code is in the bundle only when the function was deployed with a bucket (see the backend's prepare).
const open = () => (opening ??= import("@superfaas/store-s3").then((m) => new m.S3Store(s3)));
const store: ObjectStore | undefined = s3
  ? {
      put: async (key, body) => (await open()).put(key, body),
      get: async (key) => (await open()).get(key),
      has: async (key) => (await open()).has(key),
      delete: async (key) => (await open()).delete(key),
      deletePrefix: async (prefix) => (await open()).deletePrefix(prefix),
    }
  : undefined;

// Tasks that read their data (ctx.read) sign with the execution role's credentials, which the runtime puts in the
// environment, and reach the endpoint the function was deployed with; nothing secret travels in a task.
const data: S3Access = {
  ...s3AccessFromEnv(process.env),
  ...(dataAt.endpoint ? { endpoint: dataAt.endpoint } : {}),
  ...(s3?.endpoint ? { endpoint: s3.endpoint } : {}),
  ...(s3?.region ? { region: s3.region } : {}),
};

/** Runs one attempt. */
export function handler(event: TaskPayload, context: { logStreamName: string }): Promise<TaskEnvelope> {
  return runTask(loadBundledJob, event, `lambda:${context.logStreamName}`, store, data);
}
