// The conformance suite against real AWS Lambda (and S3 when SUPERFAAS_BUCKET is set). Runs only when asked:
// SUPERFAAS_LIVE=1, credentials the AWS SDK can find, and SUPERFAAS_LAMBDA_ROLE naming an execution role.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { describeConformance } from "@superfaas/core/conformance";
import { lambdaBackend } from "../src/index.js";

const env = process.env;
const hasCredentials =
  Boolean(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) ||
  Boolean(env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) ||
  existsSync(join(homedir(), ".aws", "credentials")) ||
  existsSync(join(homedir(), ".aws", "config"));
const bucket = env.SUPERFAAS_BUCKET || undefined;

const skipReason =
  env.SUPERFAAS_LIVE !== "1"
    ? "set SUPERFAAS_LIVE=1 to run against real AWS Lambda"
    : !hasCredentials
      ? "no AWS credentials found (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or ~/.aws)"
      : !env.SUPERFAAS_LAMBDA_ROLE
        ? "SUPERFAAS_LAMBDA_ROLE (the execution role ARN) is not set"
        : undefined;

describeConformance({
  name: `lambda (live AWS${bucket ? `, bucket ${bucket}` : ", no bucket"})`,
  ...(skipReason ? { skipReason } : {}),
  createBackend: () => lambdaBackend({ memory: 1024, functionTimeout: 60, defaultConcurrency: 20 }),
  // Without a bucket, stay under the 6 MB limit; with one, go over it to exercise S3.
  largePayloadBytes: bucket ? 7 * 1024 * 1024 : 3 * 1024 * 1024,
  // Cold starts and the network make real Lambda slower than the emulator.
  timeScale: 3,
});
