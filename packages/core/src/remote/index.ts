// What runs on the remote side and how it gets there: the task runtime, the entry API function entries import, and
// the bundler that packs a job with an entry.
export * from "./bundle.js";
export { runTask, openEnvelopeWithStore } from "./runtime.js";
export { encodeTaskRequest, openEnvelope, taskIndexOf, type TaskPayload, type TaskEnvelope, type RemoteError } from "./wire.js";
