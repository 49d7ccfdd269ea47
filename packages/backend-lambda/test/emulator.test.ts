// The emulator against the real AWS SDK: the control plane's states and errors, and invocations as Lambda answers them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { zipSync, strToU8 } from "fflate";
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";
import { startLambdaEmulator, type LambdaEmulator } from "@superfaas/testing";
import { decodeLogResult, parseReportLine } from "../src/index.js";
import { TEST_ROLE } from "./helpers.js";

const code = (source: string) => zipSync({ "index.js": strToU8(source) });
const HANDLER = `
exports.handler = async (event, context) => {
  if (event.throw) { const e = new RangeError(event.throw); throw e; }
  if (event.big) return "x".repeat(event.big);
  if (event.sleep) await new Promise((r) => setTimeout(r, event.sleep));
  if (event.exit) process.exit(event.exit);
  console.log("hello from", context.functionName);
  return { echo: event, env: process.env.GREETING ?? null, stream: context.logStreamName, remaining: context.getRemainingTimeInMillis() > 0 };
};`;

describe("the loopback Lambda emulator, driven by @aws-sdk/client-lambda", () => {
  let emu: LambdaEmulator;
  let client: LambdaClient;
  const waiter = () => ({ client, minDelay: 0.05, maxDelay: 0.1, maxWaitTime: 10 });
  const invoke = async (name: string, event: unknown) => {
    const out = await client.send(new InvokeCommand({ FunctionName: name, LogType: "Tail", Payload: Buffer.from(JSON.stringify(event)) }));
    return { out, text: Buffer.from(out.Payload ?? []).toString("utf8"), log: decodeLogResult(out.LogResult) };
  };
  const create = (name: string, extra: Record<string, unknown> = {}) =>
    client.send(
      new CreateFunctionCommand({ FunctionName: name, Role: TEST_ROLE, Runtime: "nodejs22.x", Handler: "index.handler", Code: { ZipFile: code(HANDLER) }, Timeout: 1, MemorySize: 256, ...extra }),
    );

  beforeAll(async () => {
    emu = await startLambdaEmulator({ pendingMs: 200, updateMs: 200, maxEnvironments: 4 });
    client = new LambdaClient({ endpoint: emu.endpoint, region: emu.region, credentials: emu.credentials, maxAttempts: 1 });
    await create("fn");
    await waitUntilFunctionActiveV2(waiter(), { FunctionName: "fn" });
  });
  afterAll(async () => {
    client?.destroy();
    await emu?.close();
  });

  it("creates a function Pending, then Active, as waitUntilFunctionActiveV2 sees it", async () => {
    const created = await create("states");
    expect(created.State).toBe("Pending");
    expect(created.StateReasonCode).toBe("Creating");
    const now = await client.send(new GetFunctionCommand({ FunctionName: "states" }));
    expect(now.Configuration?.State).toBe("Pending");
    await waitUntilFunctionActiveV2(waiter(), { FunctionName: "states" });
    const later = await client.send(new GetFunctionCommand({ FunctionName: "states" }));
    expect(later.Configuration).toMatchObject({ State: "Active", LastUpdateStatus: "Successful", Runtime: "nodejs22.x", MemorySize: 256, Architectures: ["x86_64"] });
    expect(later.Configuration?.CodeSha256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it("refuses invocations while Pending with ResourceConflictException", async () => {
    await create("pending");
    await expect(invoke("pending", {})).rejects.toMatchObject({ name: "ResourceConflictException", $metadata: { httpStatusCode: 409 } });
  });

  it("maps its errors to the SDK's exception classes", async () => {
    await expect(client.send(new GetFunctionCommand({ FunctionName: "nope" }))).rejects.toMatchObject({ name: "ResourceNotFoundException", $metadata: { httpStatusCode: 404 } });
    await expect(create("fn")).rejects.toMatchObject({ name: "ResourceConflictException" });
    await expect(create("bad-runtime", { Runtime: "nodejs16.x" })).rejects.toMatchObject({ name: "InvalidParameterValueException" });
    await expect(create("bad-env", { Environment: { Variables: { AWS_REGION: "x" } } })).rejects.toMatchObject({ name: "InvalidParameterValueException" });
    await expect(create("bad-zip", { Code: { ZipFile: strToU8("not a zip") } })).rejects.toMatchObject({ name: "InvalidParameterValueException", message: /Could not unzip/ });
    await expect(create("bad-memory", { MemorySize: 64 })).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 }, message: /memorySize/ });
  });

  it("runs an update InProgress -> Successful and serves the new code and configuration after it", async () => {
    await create("upd");
    await waitUntilFunctionActiveV2(waiter(), { FunctionName: "upd" });
    const first = await invoke("upd", {});
    expect(JSON.parse(first.text).env).toBeNull();
    const started = await client.send(new UpdateFunctionConfigurationCommand({ FunctionName: "upd", Environment: { Variables: { GREETING: "hi" } } }));
    expect(started.LastUpdateStatus).toBe("InProgress");
    await expect(client.send(new UpdateFunctionCodeCommand({ FunctionName: "upd", ZipFile: code(HANDLER) }))).rejects.toMatchObject({ name: "ResourceConflictException" });
    await waitUntilFunctionUpdatedV2(waiter(), { FunctionName: "upd" });
    expect(JSON.parse((await invoke("upd", {})).text).env).toBe("hi");
    await client.send(new UpdateFunctionCodeCommand({ FunctionName: "upd", ZipFile: code(`exports.handler = async () => "v2";`) }));
    await waitUntilFunctionUpdatedV2(waiter(), { FunctionName: "upd" });
    expect(JSON.parse((await invoke("upd", {})).text)).toBe("v2");
  });

  it("answers an invocation with the payload and a log tail whose REPORT line shows the cold start once", async () => {
    const a = await invoke("fn", { n: 1 });
    expect(a.out.StatusCode).toBe(200);
    expect(a.out.FunctionError).toBeUndefined();
    expect(JSON.parse(a.text)).toMatchObject({ echo: { n: 1 }, remaining: true });
    expect(a.log).toMatch(/^INIT_START|START RequestId/);
    expect(a.log).toMatch(/\tINFO\thello from fn\n/);
    const ra = parseReportLine(a.log)!;
    expect(ra.requestId).toBe(a.out.$metadata.requestId);
    expect(ra.memorySizeMb).toBe(256);
    const b = await invoke("fn", { n: 2 });
    const rb = parseReportLine(b.log)!;
    expect(rb.initMs).toBeUndefined(); // warm: the same environment served it
    expect(JSON.parse(b.text).stream).toBe(JSON.parse(a.text).stream);
    expect(rb.billedMs).toBeGreaterThanOrEqual(Math.floor(rb.durationMs));
  });

  it("runs one invocation at a time per environment and starts more for concurrent ones", async () => {
    const before = emu.stats.environmentsStarted;
    const results = await Promise.all([1, 2, 3].map(() => invoke("fn", { sleep: 150 })));
    const streams = new Set(results.map((r) => JSON.parse(r.text).stream));
    expect(streams.size).toBe(3);
    expect(emu.stats.environmentsStarted - before).toBeGreaterThanOrEqual(2);
  });

  it("returns a thrown error as HTTP 200 with X-Amz-Function-Error and {errorType, errorMessage, trace}", async () => {
    const r = await invoke("fn", { throw: "out of range" });
    expect(r.out.StatusCode).toBe(200);
    expect(r.out.FunctionError).toBe("Unhandled");
    const body = JSON.parse(r.text);
    expect(body).toMatchObject({ errorType: "RangeError", errorMessage: "out of range" });
    expect(body.trace[0]).toBe("RangeError: out of range");
  });

  it("times a function out at its Timeout, reports Sandbox.Timedout and kills the environment", async () => {
    const r = await invoke("fn", { sleep: 5_000 });
    expect(r.out.FunctionError).toBe("Unhandled");
    expect(JSON.parse(r.text)).toMatchObject({ errorType: "Sandbox.Timedout", errorMessage: expect.stringMatching(/Task timed out after 1\.00 seconds/) });
    expect(parseReportLine(r.log)).toMatchObject({ status: "timeout", durationMs: 1000 });
  });

  it("reports an environment that exits mid-invocation as Runtime.ExitError", async () => {
    const r = await invoke("fn", { exit: 3 });
    expect(JSON.parse(r.text)).toMatchObject({ errorType: "Runtime.ExitError", errorMessage: expect.stringMatching(/exit status 3/) });
    expect(parseReportLine(r.log)).toMatchObject({ status: "error", errorType: "Runtime.ExitError" });
  });

  it("enforces the 6 MB limits: 413 RequestTooLargeException in, Function.ResponseSizeTooLarge out", async () => {
    await expect(invoke("fn", { pad: "x".repeat(6 * 1024 * 1024) })).rejects.toMatchObject({ name: "RequestTooLargeException", $metadata: { httpStatusCode: 413 } });
    const r = await invoke("fn", { big: 6_291_600 });
    expect(r.out.FunctionError).toBe("Unhandled");
    expect(JSON.parse(r.text)).toMatchObject({ errorType: "Function.ResponseSizeTooLarge" });
  });

  it("throttles on demand and at a reserved concurrency with 429 TooManyRequestsException", async () => {
    emu.faults.throttle(1, { reason: "CallerRateLimitExceeded", retryAfterSeconds: 2 });
    await expect(invoke("fn", {})).rejects.toMatchObject({ name: "TooManyRequestsException", Reason: "CallerRateLimitExceeded", retryAfterSeconds: "2", $metadata: { httpStatusCode: 429 } });
    emu.faults.reserveConcurrency("fn", 1);
    const outcomes = await Promise.allSettled([invoke("fn", { sleep: 200 }), invoke("fn", { sleep: 200 })]);
    emu.faults.reserveConcurrency("fn", undefined);
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    expect(outcomes.find((o) => o.status === "rejected")).toMatchObject({ reason: { name: "TooManyRequestsException", Reason: "ReservedFunctionConcurrentInvocationLimitExceeded" } });
  });

  it("deletes functions and their environments", async () => {
    await client.send(new DeleteFunctionCommand({ FunctionName: "states" }));
    await expect(client.send(new GetFunctionCommand({ FunctionName: "states" }))).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    const listed = await client.send(new ListFunctionsCommand({}));
    expect(listed.Functions?.map((f) => f.FunctionName)).not.toContain("states");
  });
});
