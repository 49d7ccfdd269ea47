// The limits of a function platform as a user meets them through the real `superfaas` process on the loopback Lambda
// server: the function's own time limit, a process exit the job chose, throttling that never ends, and data read from
// an S3-compatible endpoint inside the functions. Each ends with one error line that names what to change.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLambdaEmulator, startOpenWhiskEmulator, startS3Server, TEST_ROLE, type LambdaEmulator, type OpenWhiskEmulator, type S3TestServer } from "@superfaas/testing";
import { fixture } from "./helpers.js";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

const jobs = fixture("platform-limits.mjs");

describe.skipIf(!built)(`lambda limits through the CLI${notBuilt}`, () => {
  let lambda: LambdaEmulator;
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ["data"] });
    // The environments hold the S3 server's keys, as Lambda hands them the execution role's; the CLI signs with them too.
    lambda = await startLambdaEmulator({ pendingMs: 50, updateMs: 50, maxEnvironments: 4, credentials: s3.credentials });
  });
  afterAll(async () => {
    await Promise.allSettled([lambda?.close(), s3?.close()]);
  });
  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: lambda.region };
    for (const k of ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "SUPERFAAS_BUCKET"]) delete e[k];
    return e;
  };
  const onLambda = (job: string, ...more: string[]) =>
    superfaas(["run", jobs, "--job", job, "--backend", "lambda", "--endpoint", lambda.endpoint, "--region", lambda.region, "--role", TEST_ROLE, "--no-journal", ...more], { env: env() });

  it("a task that hits the function's own time limit names --function-timeout in the hint, not --timeout", async () => {
    const r = await onLambda("outlives-the-function", "--function-timeout", "1", "--retries", "0");
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(/^error\[TASK_TIMEOUT\]: task 0 failed: the function hit its own time limit of 1 s: .*Task timed out after 1\.00 seconds.* — raise --function-timeout \(now 1, at most 900\), or split the work into more tasks with --tasks$/),
    ]);
    expect(r.stderr).not.toMatch(/--timeout \(now/);
    expect(r.code).toBe(1);
  });

  it("permanent throttling ends after --throttle-timeout with one THROTTLED line naming Lambda's concurrency limit", async () => {
    // Deployed first, so that only invocations meet the throttling.
    expect((await onLambda("quick", "--keep")).code).toBe(0);
    lambda.faults.throttle(1_000_000, { reason: "ConcurrentInvocationLimitExceeded" });
    try {
      const r = await onLambda("quick", "--throttle-timeout", "1.5", "--concurrency", "4");
      expect(errorLines(r.stderr)).toEqual([
        expect.stringMatching(
          /^error\[THROTTLED\]: lambda refused every invocation for load for [\d.]+ s, longer than --throttle-timeout 1\.5 \(last answer: lambda throttled the invocation \(ConcurrentInvocationLimitExceeded\): Rate Exceeded\.\) — raise the account's Lambda concurrency in us-east-1 \(the "Concurrent executions" quota in Service Quotas, 1,000 by default\), or lower --concurrency or --tasks$/,
        ),
      ]);
      expect(r.code).toBe(1);
    } finally {
      lambda.faults.clear();
    }
  });

  it("a process.exit(3) in map is the job's error: one retry at most, then its last log line and the exit status", async () => {
    const before = lambda.stats.invocations;
    const r = await onLambda("exits-with-status", "--retries", "3");
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(
        /^error\[TASK_FAILED\]: task [01] failed in map: Runtime\.ExitError: the process exited with status 3; its last log line: "cannot go on with task [01]: the configuration is incomplete" \(gave up after 2 attempts\) — fix the job's map function/,
      ),
    ]);
    expect(r.code).toBe(1);
    // Two tasks, two attempts each at most (not 4 each, as for an environment that failed).
    expect(lambda.stats.invocations - before).toBeLessThanOrEqual(4);
  });
});

describe.skipIf(!built)(`openwhisk throttling through the CLI${notBuilt}`, () => {
  let ow: OpenWhiskEmulator;
  beforeAll(async () => {
    ow = await startOpenWhiskEmulator({});
  });
  afterAll(async () => {
    await ow?.close();
  });

  it("the same --throttle-timeout and the same THROTTLED line, naming the namespace's limit", async () => {
    const { apihost, auth, namespace } = ow.clientOptions;
    const onOpenWhisk = (...more: string[]) =>
      superfaas(["run", jobs, "--job", "quick", "--backend", "openwhisk", "--apihost", apihost, "--auth", auth, "--namespace", namespace, "--wskprops", "/dev/null", "--no-journal", ...more]);
    expect((await onOpenWhisk("--keep")).code).toBe(0);
    ow.throttleNext(1_000_000, { reason: "concurrent" });
    const r = await onOpenWhisk("--throttle-timeout", "1.5", "--concurrency", "2");
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(
        /^error\[THROTTLED\]: openwhisk refused every invocation for load for [\d.]+ s, longer than --throttle-timeout 1\.5 \(last answer: openwhisk throttled the invocation: .*\) — raise the namespace's \d+ activations in flight \(concurrent_actions; WHISK_ACTIONS_INVOKES_CONCURRENT on OpenShift; ask the operator\), or lower --concurrency or --tasks$/,
      ),
    ]);
    expect(r.code).toBe(1);
  });
});


describe.skipIf(!built)(`openwhisk's FPC scheduler throttling through the CLI${notBuilt}`, () => {
  let ow: OpenWhiskEmulator;
  beforeAll(async () => {
    ow = await startOpenWhiskEmulator({ scheduler: "fpc" });
  });
  afterAll(async () => {
    await ow?.close();
  });

  it("a queue that records every activation as throttled (no 429) ends with the same THROTTLED line, not as failed attempts", async () => {
    const { apihost, auth, namespace } = ow.clientOptions;
    const onOpenWhisk = (...more: string[]) =>
      superfaas(["run", jobs, "--job", "quick", "--backend", "openwhisk", "--apihost", apihost, "--auth", auth, "--namespace", namespace, "--wskprops", "/dev/null", "--no-journal", ...more]);
    expect((await onOpenWhisk("--keep")).code).toBe(0);
    ow.throttleNext(1_000_000, { reason: "queue" });
    const r = await onOpenWhisk("--throttle-timeout", "1.5", "--concurrency", "2");
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(
        /^error\[THROTTLED\]: openwhisk refused every invocation for load for [\d.]+ s, longer than --throttle-timeout 1\.5 \(last answer: openwhisk throttled the invocation: Too many concurrent requests in flight\.\) — raise the namespace's \d+ activations in flight \(concurrent_actions; WHISK_ACTIONS_INVOKES_CONCURRENT on OpenShift; ask the operator\), or lower --concurrency or --tasks$/,
      ),
    ]);
    expect(r.code).toBe(1);
  });
});
