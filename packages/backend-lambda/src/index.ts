import { LambdaBackend } from "./backend.js";
import type { LambdaOptions } from "./config.js";

export { LambdaBackend, type LambdaUsage } from "./backend.js";
export { LAMBDA_PAYLOAD_LIMIT, LAMBDA_INLINE_LIMIT } from "./invoke.js";
export { lambdaFunctionName } from "./deploy.js";
export { functionError } from "./classify.js";
export { estimateLambdaCost } from "./cost.js";
export {
  resolveLambdaConfig,
  LAMBDA_PRICING,
  LAMBDA_PRICING_DATE,
  MINIMAL_ROLE_HINT,
  type LambdaOptions,
  type LambdaConfig,
  type LambdaArch,
  type LambdaPrice,
  type AwsCredentials,
  type FunctionS3Config,
} from "./config.js";
export { parseReportLine, decodeLogResult, type LambdaReport } from "./report.js";
export { lambdaBackendDescriptor, lambdaOptionsFromFlags, type LambdaFlagValues } from "./descriptor.js";

/** Creates a Lambda backend; settings not given come from the AWS SDK's default chain and SUPERFAAS_* variables. */
export function lambdaBackend(options: LambdaOptions = {}): LambdaBackend {
  return new LambdaBackend(options);
}
