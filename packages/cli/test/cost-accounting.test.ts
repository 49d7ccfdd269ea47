// Issue #21 item 4, through the real `superfaas` process: every invocation the platform bills is in the run's cost.
// Attempts the client gave up on (here: cancelled by SIGINT while the platform runs them on) are measured where the
// platform keeps records (OpenWhisk's activation list) and estimated, marked so, where it keeps none (Lambda).
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { fileURLToPath } from "node:url";
import { startLambdaEmulator, startOpenWhiskEmulator, TEST_ROLE, type LambdaEmulator, type OpenWhiskEmulator } from "@superfaas/testing";
import { built, errorLines, notBuilt, signalWhen, superfaas } from "./process.js";

const sumJob = fileURLToPath(new URL("./fixtures/sum-job.ts", import.meta.url));

describe.skipIf(!built)(`cost of attempts the client gave up on${notBuilt}`, () => {
  let lambda: LambdaEmulator;
  let ow: OpenWhiskEmulator;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    [lambda, ow] = await Promise.all([startLambdaEmulator({ pendingMs: 50, updateMs: 50, maxEnvironments: 8 }), startOpenWhiskEmulator({})]);
    env = { ...process.env, AWS_ACCESS_KEY_ID: lambda.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: lambda.credentials.secretAccessKey, AWS_REGION: lambda.region };
    delete env.AWS_PROFILE;
  });

  afterAll(async () => {
    await Promise.allSettled([lambda?.close(), ow?.close()]);
  });

  it("openwhisk: a run cancelled by SIGINT with attempts in flight bills them as the activation records say (measured, not estimated)", async () => {
    const { apihost, auth, namespace } = ow.clientOptions;
    const before = new Set(ow.activations.keys());
    const sig = signalWhen(() => ow.containers().filter((c) => c.running.size > 0).length >= 2, "SIGINT");
    const r = await superfaas(
      ["run", sumJob, "--backend", "openwhisk", "--apihost", apihost, "--auth", auth, "--namespace", namespace, "--wskprops", "/dev/null", "--n", "100", "--slow", "1500", "--tasks", "2", "--json"],
      { env, onStart: sig.onStart },
    );
    expect(sig.sent).toBe(true);
    expect(r.code).toBe(130);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[CANCELLED\]/)]);
    const report = JSON.parse(r.stdout);
    expect(report.status).toBe("cancelled");
    // What the platform ran for this run, to the end after the cancel.
    const ran = [...ow.activations.values()].filter((a) => !before.has(a.activationId));
    expect(ran).toHaveLength(2);
    const platformMs = ran.reduce((s, a) => s + a.duration, 0);
    expect(platformMs).toBeGreaterThanOrEqual(2 * 1500);
    expect(report.totals.billedMs).toBe(platformMs);
    expect(report.totals.estimatedAttempts).toBeUndefined();
    expect(report.totals.estimatedBilledMs).toBeUndefined();
  });

  it("lambda: a run cancelled by SIGINT with attempts in flight estimates them (marked estimated), at least what the platform billed", async () => {
    const billedBefore = lambda.stats.billedMs;
    const sig = signalWhen(() => lambda.environments().filter((e) => e.busy).length >= 2, "SIGINT");
    const r = await superfaas(
      ["run", sumJob, "--backend", "lambda", "--region", lambda.region, "--endpoint", lambda.endpoint, "--role", TEST_ROLE, "--n", "100", "--slow", "1500", "--tasks", "2", "--timeout", "30"],
      { env, onStart: sig.onStart },
    );
    expect(sig.sent).toBe(true);
    expect(r.code).toBe(130);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[CANCELLED\]/)]);
    // The summary printed on cancel names the estimate.
    expect(r.stderr).toMatch(/billed [\d.]+ s \(of which [\d.]+ s estimated for 2 attempts given up on\), est\. cost \$[\d.]+ \(of which \$[\d.]+ estimated\)/);
    // The platform runs the cancelled invocations to their end: wait until it has billed them.
    await vi.waitFor(() => expect(lambda.environments().some((e) => e.busy)).toBe(false), { timeout: 30_000, interval: 50 });
    const platformMs = lambda.stats.billedMs - billedBefore;
    expect(platformMs).toBeGreaterThanOrEqual(2 * 1500);
    const billed = Number(/billed ([\d.]+) s/.exec(r.stderr)![1]) * 1000;
    expect(billed).toBeGreaterThanOrEqual(platformMs);
  });
});
