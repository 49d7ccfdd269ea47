import { z } from "zod";
import { SuperfaasError } from "@superfaas/core";
import { LAMBDA_PRICING, type LambdaArch, type LambdaPrice } from "./cost.js";

// The architectures, their prices and the price table live in cost.ts, with its source and date.
export { LAMBDA_PRICING, LAMBDA_PRICING_DATE, type LambdaArch, type LambdaPrice } from "./cost.js";

/** Static AWS credentials; without them the SDK's default chain applies (env, profiles, SSO, instance roles). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Everything the Lambda backend can be told, from flags or code. Unset values come from the environment. */
export interface LambdaOptions {
  /** Execution role ARN the function runs as; needed only to create a function (default: SUPERFAAS_LAMBDA_ROLE). */
  role?: string;
  /** Function memory in MB, 128–10,240; CPU grows with it, one full vCPU at 1,769 (default 1769). */
  memory?: number;
  /** The function's own time limit in seconds, 1–900 (default 300). */
  functionTimeout?: number;
  /**
   * Bound in seconds on each Lambda API request other than an invocation (look-ups, create, delete, waiter polls):
   * an endpoint that accepts and never answers fails the call after it; the SDK tries such a call 3 times (default 30).
   */
  apiTimeout?: number;
  /**
   * Days CloudWatch Logs keeps the logs of a function this backend creates (its log group `/aws/lambda/<name>` outlives
   * the function): one of CloudWatch's values 1, 3, 5, 7, 14, 30, 60, 90, ... 3653 (default 14).
   */
  logRetention?: number;
  /** x86_64 (default) or arm64 (about 20% cheaper per GB-second). */
  arch?: LambdaArch;
  /** Node.js runtime (default nodejs22.x). */
  runtime?: string;
  /** Bucket for payloads over the 6 MB invoke limit (default: SUPERFAAS_BUCKET); created when missing. */
  bucket?: string;
  /** Most invocations in flight, at most the account's concurrency (default 1,000, a new account's quota). */
  concurrencyLimit?: number;
  /** Concurrency used when the run sets none (default 100). */
  defaultConcurrency?: number;
  /** Keep the function after the run (it is deleted otherwise). */
  keep?: boolean;
  /** AWS region (default: the SDK's chain: AWS_REGION, the profile's region). */
  region?: string;
  /** Lambda API endpoint, e.g. LocalStack's (default: AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL, the profile's endpoint_url). */
  endpoint?: string;
  /** S3 endpoint for the orchestrator (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL). */
  s3Endpoint?: string;
  /** S3 endpoint as the function must reach it, when it differs ("none": let the function's SDK decide; default: s3Endpoint). */
  functionS3Endpoint?: string;
  /** Static credentials; default: the SDK's provider chain. */
  credentials?: AwsCredentials;
  /** Replaces parts of the price table (other regions, savings plans). */
  pricing?: Partial<Record<LambdaArch, Partial<LambdaPrice>>>;
  /** How the SDK waiters poll while a function becomes Active or Updated, in seconds. */
  waiter?: { minDelay?: number; maxDelay?: number; maxWaitTime?: number };
  /** Environment to read (default `process.env`). */
  env?: Record<string, string | undefined>;
}

/** The S3 settings the function receives (no credentials: it uses its execution role's). */
export interface FunctionS3Config {
  bucket: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
}

/** Settings after resolution and validation. */
export interface LambdaConfig {
  role: string | undefined;
  memory: number;
  timeoutSeconds: number;
  apiTimeoutSeconds: number;
  logRetentionDays: number;
  arch: LambdaArch;
  runtime: string;
  concurrencyLimit: number;
  defaultConcurrency: number;
  keep: boolean;
  region: string | undefined;
  endpoint: string | undefined;
  credentials: AwsCredentials | undefined;
  price: LambdaPrice;
  waiter: { minDelay: number; maxDelay: number; maxWaitTime: number };
  /** The S3 endpoint the functions read data from (ctx.read), with or without a bucket; AWS's own when absent. */
  functionDataEndpoint: string | undefined;
  /** Set when a bucket is configured. */
  s3: { bucket: string; endpoint: string | undefined; functionEndpoint: string | undefined } | undefined;
}

/** The least an execution role needs, named in errors and the README. */
export const MINIMAL_ROLE_HINT =
  "pass --role arn:aws:iam::ACCOUNT:role/NAME (or set SUPERFAAS_LAMBDA_ROLE): a role that lambda.amazonaws.com may assume, " +
  "allowed logs:CreateLogStream and logs:PutLogEvents on arn:aws:logs:REGION:ACCOUNT:log-group:/aws/lambda/superfaas-*:* and, when --bucket is used, " +
  "s3:ListBucket on the bucket and s3:GetObject, s3:PutObject and s3:DeleteObject on arn:aws:s3:::BUCKET/superfaas/* " +
  "(see the backend-lambda README for the aws cli commands)";

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS: readonly number[] = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const bad = (what: string, hint: string): never => {
  throw new SuperfaasError("BACKEND_CONFIG", `lambda: ${what}`, hint);
};

const url = z.string().refine((s) => {
  try {
    return ["http:", "https:"].includes(new URL(s).protocol);
  } catch {
    return false;
  }
}, "must be an http(s) URL");

const schema = z.object({
  role: z
    .string()
    .regex(/^arn:aws[a-zA-Z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/superfaas-lambda")
    .optional(),
  memory: z.number().int("must be a whole number of MB").min(128, "must be at least 128 MB").max(10240, "must be at most 10240 MB"),
  timeoutSeconds: z.number().int("must be whole seconds").min(1, "must be at least 1 second").max(900, "must be at most 900 seconds (15 minutes)"),
  apiTimeoutSeconds: z.number().int("must be whole seconds").min(1, "must be at least 1 second").max(900, "must be at most 900 seconds"),
  logRetentionDays: z.number().refine((d) => LOG_RETENTION_DAYS.includes(d), `must be one of CloudWatch's retention periods: ${"1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653"} days`),
  arch: z.enum(["x86_64", "arm64"], { error: "must be x86_64 or arm64" }),
  runtime: z.string().regex(/^nodejs\d+\.x$/, "must be a Node.js runtime such as nodejs22.x"),
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name: 3–63 lowercase letters, digits, dots and hyphens")
    .optional(),
  concurrencyLimit: z.number().int("must be a whole number").min(1, "must be at least 1"),
  defaultConcurrency: z.number().int("must be a whole number").min(1, "must be at least 1"),
  endpoint: url.optional(),
  s3Endpoint: url.optional(),
  functionS3Endpoint: url.optional(),
  price: z.object({ gbSecondUsd: z.number().min(0, "must be >= 0"), requestUsd: z.number().min(0, "must be >= 0") }),
});

const FLAGS: Record<string, string> = {
  role: "--role",
  memory: "--memory",
  timeoutSeconds: "--function-timeout",
  apiTimeoutSeconds: "--api-timeout",
  logRetentionDays: "--log-retention",
  arch: "--arch",
  runtime: "--runtime",
  bucket: "--bucket",
  concurrencyLimit: "--concurrency-limit",
  defaultConcurrency: "defaultConcurrency",
  endpoint: "--endpoint",
  s3Endpoint: "--s3-endpoint",
  functionS3Endpoint: "--function-s3-endpoint",
  price: "--price-gb-second / --price-per-request",
};

/** Resolves options, then environment variables, then defaults; throws BACKEND_CONFIG naming the flag at fault. */
export function resolveLambdaConfig(o: LambdaOptions = {}): LambdaConfig {
  const env = o.env ?? process.env;
  const arch = o.arch ?? "x86_64";
  const base = LAMBDA_PRICING[arch as LambdaArch] ?? LAMBDA_PRICING.x86_64;
  const s3Endpoint = o.s3Endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const candidate = {
    role: o.role ?? (env.SUPERFAAS_LAMBDA_ROLE || undefined),
    memory: o.memory ?? 1769,
    timeoutSeconds: o.functionTimeout ?? 300,
    apiTimeoutSeconds: o.apiTimeout ?? 30,
    logRetentionDays: o.logRetention ?? 14,
    arch,
    runtime: o.runtime ?? "nodejs22.x",
    bucket: o.bucket ?? (env.SUPERFAAS_BUCKET || undefined),
    concurrencyLimit: o.concurrencyLimit ?? 1000,
    defaultConcurrency: o.defaultConcurrency ?? 100,
    endpoint: o.endpoint ?? env.AWS_ENDPOINT_URL_LAMBDA ?? env.AWS_ENDPOINT_URL,
    s3Endpoint,
    functionS3Endpoint: o.functionS3Endpoint === "none" ? undefined : (o.functionS3Endpoint ?? s3Endpoint),
    price: { ...base, ...(o.pricing?.[arch as LambdaArch] ?? {}) },
  };
  const parsed = schema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0]);
    const flag = FLAGS[field] ?? field;
    const shown = field === "price" ? JSON.stringify(candidate.price) : JSON.stringify((candidate as Record<string, unknown>)[field]);
    bad(`invalid ${flag} ${shown}: ${issue.message}`, field === "role" ? MINIMAL_ROLE_HINT : `fix ${flag}`);
  }
  const w = o.waiter ?? {};
  return {
    role: candidate.role,
    memory: candidate.memory,
    timeoutSeconds: candidate.timeoutSeconds,
    apiTimeoutSeconds: candidate.apiTimeoutSeconds,
    logRetentionDays: candidate.logRetentionDays,
    arch: candidate.arch as LambdaArch,
    runtime: candidate.runtime,
    concurrencyLimit: candidate.concurrencyLimit,
    defaultConcurrency: Math.min(candidate.defaultConcurrency, candidate.concurrencyLimit),
    keep: o.keep ?? false,
    region: o.region ?? undefined,
    endpoint: candidate.endpoint,
    credentials: o.credentials,
    price: candidate.price,
    waiter: { minDelay: w.minDelay ?? 1, maxDelay: w.maxDelay ?? 5, maxWaitTime: w.maxWaitTime ?? 300 },
    functionDataEndpoint: candidate.functionS3Endpoint,
    s3: candidate.bucket ? { bucket: candidate.bucket, endpoint: s3Endpoint, functionEndpoint: candidate.functionS3Endpoint } : undefined,
  };
}
