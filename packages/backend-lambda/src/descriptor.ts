// The Lambda backend as the CLI offers it by name: its flags and a factory. Light on purpose: the CLI loads every
// backend's descriptor to parse flags and list backends, and the AWS SDK loads only when a Lambda backend is created.
import { functionBackendFlags, type BackendDescriptor } from "@superfaas/core";
import type { LambdaArch, LambdaOptions } from "./config.js";

export { LAMBDA_PRICING, type LambdaArch } from "./cost.js";

/** Flag values as the CLI hands them over (typed flags already converted to numbers). */
export type LambdaFlagValues = Omit<LambdaOptions, "arch"> & {
  arch?: string;
  priceGbSecond?: number;
  pricePerRequest?: number;
};

/** Converts CLI flag values to options: the price flags become one pricing entry for both architectures. */
export function lambdaOptionsFromFlags(flags: LambdaFlagValues): LambdaOptions {
  const { arch, priceGbSecond: gb, pricePerRequest: req, ...rest } = flags;
  const o: LambdaOptions = { ...rest };
  if (arch !== undefined) o.arch = arch as LambdaArch;
  if (gb !== undefined || req !== undefined) {
    const price = { ...(gb !== undefined ? { gbSecondUsd: gb } : {}), ...(req !== undefined ? { requestUsd: req } : {}) };
    o.pricing = { x86_64: price, arm64: price };
  }
  return o;
}

/** The Lambda backend as offered by name to the CLI. */
export const lambdaBackendDescriptor: BackendDescriptor<LambdaFlagValues> = {
  name: "lambda",
  description: "AWS Lambda functions (credentials and region: the AWS SDK's default chain; LocalStack via AWS_ENDPOINT_URL)",
  flags: [
    { name: "role", value: "ARN", description: "execution role of the function, needed to create it (default: SUPERFAAS_LAMBDA_ROLE)" },
    { name: "memory", value: "MB", type: "integer", min: 128, description: "function memory, 128-10240; 1769 is one full vCPU (default 1769)" },
    { name: "function-timeout", value: "SECONDS", type: "integer", description: "the function's own time limit, 1-900 (default 300)" },
    { name: "api-timeout", value: "SECONDS", type: "integer", min: 1, description: "bound on each Lambda API call other than an invocation, tried 3 times (default 30)" },
    { name: "log-retention", value: "DAYS", type: "integer", min: 1, description: "days CloudWatch keeps the logs of a function the run creates: 1, 3, 5, 7, 14, 30, ... 3653 (default 14)" },
    { name: "arch", value: "ARCH", description: "x86_64 or arm64 (arm64 is about 20% cheaper; default x86_64)" },
    { name: "runtime", value: "RUNTIME", description: "Node.js runtime (default nodejs22.x)" },
    { name: "concurrency-limit", value: "N", type: "integer", description: "most invocations in flight, at most the account's concurrency (default 1000)" },
    { name: "region", value: "REGION", description: "AWS region (default: AWS_REGION or the profile's)" },
    { name: "endpoint", value: "URL", description: "Lambda API endpoint, e.g. LocalStack (default: AWS_ENDPOINT_URL_LAMBDA or AWS_ENDPOINT_URL)" },
    ...functionBackendFlags({ function: "function", inlineLimit: "6 MB" }),
    { name: "function-s3-endpoint", value: "URL", description: "S3 endpoint as the function reaches it, or none (default: --s3-endpoint)" },
    { name: "price-gb-second", value: "USD", type: "number", min: 0, description: "price per GB-second for the cost estimate (default: us-east-1 on-demand for --arch)" },
    { name: "price-per-request", value: "USD", type: "number", min: 0, description: "price per request for the cost estimate (default 0.0000002)" },
  ],
  create: async (flags) => new (await import("./backend.js")).LambdaBackend(lambdaOptionsFromFlags(flags)),
};
