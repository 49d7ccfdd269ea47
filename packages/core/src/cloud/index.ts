export { FunctionBackend, functionName, deployHash, OWNER_OBJECT, type FunctionUsage } from "./function-backend.js";
export type { CloudPlatform, CloudStore, FunctionSpec, OwnerMarker, OwnedFunction, Answer, AttemptContinuation, InvocationFigures } from "./platform.js";
export { functionBackendFlags } from "./flags.js";
