import { describe, expect, it } from "vitest";
import { TaskError } from "@superfaas/core";
import { decodeLogResult, estimateLambdaCost, functionError, LAMBDA_PRICING, lambdaFunctionName, parseReportLine } from "../src/index.js";

const COLD =
  "INIT_START Runtime Version: nodejs:22.v40\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:abc\n" +
  "START RequestId: 8f5a1c2e-0b1d-4c5e-9f00-123456789abc Version: $LATEST\n" +
  "2026-11-25T10:00:00.000Z\t8f5a1c2e-0b1d-4c5e-9f00-123456789abc\tINFO\tworking\n" +
  "END RequestId: 8f5a1c2e-0b1d-4c5e-9f00-123456789abc\n" +
  "REPORT RequestId: 8f5a1c2e-0b1d-4c5e-9f00-123456789abc\tDuration: 1234.56 ms\tBilled Duration: 1401 ms\tMemory Size: 1769 MB\tMax Memory Used: 87 MB\tInit Duration: 166.02 ms\t\n";

describe("the REPORT line", () => {
  it("gives duration, billed duration, memory and the init duration of a cold start", () => {
    expect(parseReportLine(COLD)).toEqual({
      requestId: "8f5a1c2e-0b1d-4c5e-9f00-123456789abc",
      durationMs: 1234.56,
      billedMs: 1401,
      memorySizeMb: 1769,
      maxMemoryUsedMb: 87,
      initMs: 166.02,
    });
  });

  it("has no init duration on a warm start, and space-separated fields parse too", () => {
    const warm = "REPORT RequestId: 0e3f2a7b-aaaa-bbbb-cccc-dddddddddddf Duration: 2.01 ms Billed Duration: 3 ms Memory Size: 128 MB Max Memory Used: 40 MB\n";
    expect(parseReportLine(warm)).toEqual({ requestId: "0e3f2a7b-aaaa-bbbb-cccc-dddddddddddf", durationMs: 2.01, billedMs: 3, memorySizeMb: 128, maxMemoryUsedMb: 40 });
  });

  it("reads the status and error type of a timed-out or crashed invocation", () => {
    expect(parseReportLine("REPORT RequestId: a-1\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\tStatus: timeout\n")).toMatchObject({ status: "timeout", durationMs: 3000 });
    expect(parseReportLine("REPORT RequestId: a-2\tDuration: 5.00 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\tStatus: error\tError Type: Runtime.ExitError\n")).toMatchObject({
      status: "error",
      errorType: "Runtime.ExitError",
    });
  });

  it("takes the last REPORT line and tolerates a tail cut at its start", () => {
    const tail = `${COLD.slice(120)}REPORT RequestId: second\tDuration: 7.00 ms\tBilled Duration: 7 ms\tMemory Size: 1769 MB\tMax Memory Used: 90 MB\t\n`;
    expect(parseReportLine(tail)).toMatchObject({ requestId: "second", durationMs: 7, billedMs: 7 });
    expect(parseReportLine("START RequestId: x\nEND RequestId: x\n")).toBeUndefined();
    expect(parseReportLine("")).toBeUndefined();
  });

  it("decodes X-Amz-Log-Result from base64", () => {
    expect(parseReportLine(decodeLogResult(Buffer.from(COLD).toString("base64")))?.initMs).toBe(166.02);
    expect(decodeLogResult(undefined)).toBe("");
  });
});

describe("the cost estimate", () => {
  it("charges billed GB-seconds at the architecture's price plus $0.20 per million requests", () => {
    // 1,000 invocations of 1 s at 1024 MB: 1,000 GB-s.
    const usage = { invocations: 1000, billedMs: 1_000_000 };
    expect(estimateLambdaCost(usage, 1024, LAMBDA_PRICING.x86_64)).toBeCloseTo(1000 * 0.0000166667 + 1000 * 0.0000002, 10);
    expect(estimateLambdaCost(usage, 1024, LAMBDA_PRICING.arm64)).toBeCloseTo(1000 * 0.0000133334 + 1000 * 0.0000002, 10);
    expect(estimateLambdaCost(usage, 1024, LAMBDA_PRICING.arm64) / estimateLambdaCost(usage, 1024, LAMBDA_PRICING.x86_64)).toBeLessThan(0.82);
  });

  it("scales with memory and is zero for nothing", () => {
    const p = { gbSecondUsd: 1, requestUsd: 0 };
    expect(estimateLambdaCost({ invocations: 1, billedMs: 1000 }, 2048, p)).toBe(2);
    expect(estimateLambdaCost({ invocations: 0, billedMs: 0 }, 2048, LAMBDA_PRICING.x86_64)).toBe(0);
  });
});

describe("function errors", () => {
  const err = (body: unknown, report?: Parameters<typeof functionError>[1]) => functionError(JSON.stringify(body), report, 4);

  it("surfaces the job's own error with its message and stack, not retryable", () => {
    const e = err({ errorType: "TypeError", errorMessage: "x is not a function", trace: ["TypeError: x is not a function", "    at map (/var/task/index.js:10:5)"] });
    expect(e).toBeInstanceOf(TaskError);
    expect(e).toMatchObject({ name: "TypeError", message: "x is not a function", origin: "remote", retryable: false });
    expect(e.remoteStack).toContain("at map (/var/task/index.js:10:5)");
  });

  it("retries platform faults: timeouts and crashed environments", () => {
    expect(err({ errorType: "Sandbox.Timedout", errorMessage: "RequestId: r Error: Task timed out after 3.00 seconds" })).toMatchObject({ origin: "timeout", retryable: true });
    expect(err({ errorType: "Runtime.ExitError", errorMessage: "RequestId: r Error: Runtime exited with error: signal: killed" })).toMatchObject({ origin: "platform", retryable: true });
    expect(err({ errorMessage: "2026-11-25T00:00:00.000Z r Task timed out after 900.00 seconds" })).toMatchObject({ origin: "timeout", retryable: true });
  });

  it("names an environment killed at its memory as out of memory, in each shape Lambda has used, and does not retry it", () => {
    const killed = "RequestId: r Error: Runtime exited with error: signal: killed";
    const full = { durationMs: 900, billedMs: 900, memorySizeMb: 512, maxMemoryUsedMb: 512 };
    // Today's answer, with the memory from the REPORT line.
    const now = err({ errorType: "Runtime.OutOfMemory", errorMessage: killed }, { ...full, status: "error", errorType: "Runtime.OutOfMemory" });
    expect(now).toMatchObject({ retryable: false, outOfMemory: { memoryMb: 512, setting: "--memory", maxMb: 10240, what: "function memory" } });
    expect(now.message).toMatch(/Runtime\.OutOfMemory: .*signal: killed \(Max Memory Used 512 MB of 512 MB\)/);
    // The older answer: Runtime.ExitError, killed, with Max Memory Used at the memory size.
    expect(err({ errorType: "Runtime.ExitError", errorMessage: killed }, full)).toMatchObject({ retryable: false, outOfMemory: { memoryMb: 512 } });
    // Node.js stopped at its own heap limit first: the log tail says so; the memory comes from the configuration.
    const heap = functionError(JSON.stringify({ errorType: "Runtime.ExitError", errorMessage: "RequestId: r Error: Runtime exited with error: signal: aborted" }), undefined, 4, {
      memoryMb: 1024,
      log: "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n",
    });
    expect(heap).toMatchObject({ retryable: false, outOfMemory: { memoryMb: 1024, setting: "--memory" } });
    // Killed with memory to spare is not out of memory: a crash, retried.
    expect(err({ errorType: "Runtime.ExitError", errorMessage: killed }, { ...full, maxMemoryUsedMb: 100 })).toMatchObject({ retryable: true, outOfMemory: undefined });
  });

  it("does not retry a function that cannot start or a partial over 6 MB", () => {
    expect(err({ errorType: "Runtime.ImportModuleError", errorMessage: "Error: Cannot find module 'index'" })).toMatchObject({ origin: "platform", retryable: false });
    const big = err({ errorType: "Function.ResponseSizeTooLarge", errorMessage: "Response payload size exceeded maximum allowed payload size (6291556 bytes)." });
    expect(big).toMatchObject({ origin: "platform", retryable: false });
    expect(big.message).toMatch(/task 4.*--bucket/);
  });
});

describe("function names", () => {
  it("are superfaas-<job>-<hash>, within Lambda's 64 characters and alphabet", () => {
    const hash = "0123456789abcdef".repeat(4);
    expect(lambdaFunctionName("pi", hash)).toBe("superfaas-pi-0123456789ab");
    const long = lambdaFunctionName("a.very.long.job.name".repeat(5), hash);
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^superfaas-[A-Za-z0-9_-]+-0123456789ab$/);
  });
});
