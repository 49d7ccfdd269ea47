// The function lifecycle cloud adapters plug into (deploy once, offload, envelopes, billing, clean-up), the platform
// seam an adapter implements, and what every adapter shares (naming an HTTP answer that is not what was asked for).
export { FunctionBackend, functionName, deployHash, OWNER_OBJECT, type FunctionUsage } from "./function-backend.js";
export type { CloudPlatform, CloudStore, FunctionSpec, OwnerMarker, OwnedFunction, Answer, AttemptContinuation, InvocationFigures } from "./platform.js";
export { functionBackendFlags } from "./flags.js";
export * from "./http-answer.js";
