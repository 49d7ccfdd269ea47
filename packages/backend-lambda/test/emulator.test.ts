// The emulator against the real AWS SDK: the control plane's states and errors, and invocations as Lambda answers them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "node:http";
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
import { RIC_AVAILABLE, startLambdaEmulator, type LambdaEmulator } from "@superfaas/testing";
import { decodeLogResult, parseReportLine } from "../src/index.js";
import { TEST_ROLE } from "./helpers.js";

const code = (source: string) => zipSync({ "index.js": strToU8(source) });
const HANDLER = `
exports.handler = async (event, context) => {
  if (event.throw) { const e = new RangeError(event.throw); throw e; }
  if (event.big) return "x".repeat(event.big);
  if (event.sleep) await new Promise((r) => setTimeout(r, event.sleep));
  if (event.exit) process.exit(event.exit);
  if (event.escape) { setTimeout(() => { throw new Error(event.escape); }, 1); await new Promise((r) => setTimeout(r, 5000)); }
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

  // Which runtime ran is in the test's name: AWS's runtime interface client when setup could build it, else the fallback.
  it(`runs each environment with ${RIC_AVAILABLE && process.env.SUPERFAAS_LAMBDA_RIC !== "0" ? "aws-lambda-ric 4.x on Node.js 22 (as nodejs22.x)" : "the emulator's own runtime loop (aws-lambda-ric not built, or SUPERFAAS_LAMBDA_RIC=0)"}`, async () => {
    expect(emu.runtimeClient).toBe(RIC_AVAILABLE && process.env.SUPERFAAS_LAMBDA_RIC !== "0" ? "aws-lambda-ric" : "emulator-loop");
    await create("which", { Code: { ZipFile: code("exports.handler = async () => ({ node: process.version, api: process.env.AWS_LAMBDA_RUNTIME_API ?? null });") } });
    await waitUntilFunctionActiveV2(waiter(), { FunctionName: "which" });
    const { text } = await invoke("which", {});
    const out = JSON.parse(text) as { node: string; api: string | null };
    if (emu.runtimeClient === "aws-lambda-ric") {
      expect(out.node).toMatch(/^v22\./);
      expect(out.api).toMatch(/^127\.0\.0\.1:\d+$/);
    } else {
      expect(out.api).toBeNull();
    }
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
    await expect(create("too-much-memory", { MemorySize: 10241 })).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 }, message: /Member must have value less than or equal to 10240/ });
    await expect(create("bad-arch", { Architectures: ["sparc" as never] })).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 }, message: /enum value set: \[x86_64, arm64\]/ });
    await expect(create("two-arches", { Architectures: ["x86_64", "arm64"] })).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
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
    // Each runs long enough (under the function's 1 s Timeout) that none is done before the last one arrives, even on
    // a loaded machine: a free environment would take it, as on Lambda.
    const results = await Promise.all([1, 2, 3].map(() => invoke("fn", { sleep: 700 })));
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

  it("ends the environment on an error thrown outside the handler's await, as RIC 4: Runtime.ExitError, the message only in the log", async () => {
    const r = await invoke("fn", { escape: "thrown from a timer" });
    expect(r.out.FunctionError).toBe("Unhandled");
    expect(JSON.parse(r.text)).toMatchObject({ errorType: "Runtime.ExitError", errorMessage: expect.stringMatching(/Runtime exited with error: exit status 1/) });
    expect(r.text).not.toMatch(/thrown from a timer/);
    expect(r.log).toMatch(/Error: thrown from a timer/);
  });

  it("enforces the 6 MB limits: 413 RequestEntityTooLargeException in, with AWS's message, Function.ResponseSizeTooLarge out", async () => {
    await expect(invoke("fn", { pad: "x".repeat(6 * 1024 * 1024) })).rejects.toMatchObject({
      name: "RequestEntityTooLargeException",
      message: "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
      $metadata: { httpStatusCode: 413 },
    });
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

  it("verifies every request's SigV4 signature: a wrong secret, another region or an unknown key is refused with 403", async () => {
    const refusedBefore = emu.stats.refusedSignatures;
    const other = (credentials: { accessKeyId: string; secretAccessKey: string }, region = emu.region) =>
      new LambdaClient({ endpoint: emu.endpoint, region, credentials, maxAttempts: 1 });
    const wrongSecret = other({ accessKeyId: emu.credentials.accessKeyId, secretAccessKey: "not-the-secret" });
    const wrongRegion = other(emu.credentials, "eu-west-1");
    const unknownKey = other({ accessKeyId: "AKIDSOMEONEELSE", secretAccessKey: "x" });
    try {
      await expect(wrongSecret.send(new GetFunctionCommand({ FunctionName: "fn" }))).rejects.toMatchObject({
        name: "InvalidSignatureException",
        message: /signature we calculated does not match/,
        $metadata: { httpStatusCode: 403 },
      });
      await expect(wrongSecret.send(new InvokeCommand({ FunctionName: "fn", Payload: Buffer.from("{}") }))).rejects.toMatchObject({ name: "InvalidSignatureException" });
      await expect(wrongRegion.send(new GetFunctionCommand({ FunctionName: "fn" }))).rejects.toMatchObject({ name: "InvalidSignatureException", message: /scoped to a valid region/ });
      await expect(unknownKey.send(new GetFunctionCommand({ FunctionName: "fn" }))).rejects.toMatchObject({ name: "UnrecognizedClientException", $metadata: { httpStatusCode: 403 } });
    } finally {
      for (const c of [wrongSecret, wrongRegion, unknownKey]) c.destroy();
    }
    expect(emu.stats.refusedSignatures - refusedBefore).toBe(4);
    // The same calls correctly signed pass, a payload included.
    expect((await invoke("fn", { signed: true })).out.StatusCode).toBe(200);
  });

  it("refuses a request whose body was changed after signing, and one without any signature", async () => {
    // Sign a real Invoke, then send it with another payload of the same length: the payload hash no longer matches.
    let signed: { url: string; headers: Record<string, string> } | undefined;
    const capture = new LambdaClient({
      endpoint: emu.endpoint,
      region: emu.region,
      credentials: emu.credentials,
      maxAttempts: 1,
      requestHandler: {
        handle: async (req: { protocol: string; hostname: string; port?: number; path: string; headers: Record<string, string> }) => {
          signed = { url: `${req.protocol}//${req.hostname}:${req.port}${req.path}`, headers: req.headers };
          throw new Error("captured");
        },
      },
    });
    await expect(capture.send(new InvokeCommand({ FunctionName: "fn", Payload: Buffer.from('{"n":1}') }))).rejects.toThrow("captured");
    capture.destroy();
    // Sent as signed, byte for byte (node:http leaves the headers as they are, Host and Content-Length included).
    const send = (headers: Record<string, string>, body: string) =>
      new Promise<{ status: number; type: string | undefined }>((resolve, reject) => {
        const req = request(signed!.url, { method: "POST", headers }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["x-amzn-errortype"] as string | undefined }));
        });
        req.on("error", reject);
        req.end(body);
      });
    const headers = signed!.headers;
    expect(await send(headers, '{"n":1}')).toEqual({ status: 200, type: undefined });
    expect(await send(headers, '{"n":2}')).toEqual({ status: 403, type: "InvalidSignatureException" });
    const { authorization: _auth, ...unsigned } = headers;
    expect(await send(unsigned, '{"n":1}')).toEqual({ status: 403, type: "MissingAuthenticationTokenException" });
  });

  it("makes an idle function Inactive: an invocation fails with 409 and wakes it, Pending then Active", async () => {
    await create("idle");
    await waitUntilFunctionActiveV2(waiter(), { FunctionName: "idle" });
    emu.faults.deactivate("idle");
    expect((await client.send(new GetFunctionCommand({ FunctionName: "idle" }))).Configuration).toMatchObject({ State: "Inactive", StateReasonCode: "Idle" });
    await expect(invoke("idle", {})).rejects.toMatchObject({ name: "ResourceConflictException", message: /following state: Inactive/, $metadata: { httpStatusCode: 409 } });
    expect((await client.send(new GetFunctionCommand({ FunctionName: "idle" }))).Configuration?.State).toBe("Pending");
    await waitUntilFunctionActiveV2(waiter(), { FunctionName: "idle" });
    expect((await invoke("idle", {})).out.StatusCode).toBe(200);
  });

  it("logs in JSON when LoggingConfig.LogFormat is JSON: the REPORT is a platform.report record, which parses too", async () => {
    await create("json-logs", { LoggingConfig: { LogFormat: "JSON" } });
    await waitUntilFunctionActiveV2(waiter(), { FunctionName: "json-logs" });
    const conf = (await client.send(new GetFunctionCommand({ FunctionName: "json-logs" }))).Configuration;
    expect(conf?.LoggingConfig).toMatchObject({ LogFormat: "JSON", LogGroup: "/aws/lambda/json-logs" });
    const a = await invoke("json-logs", {});
    expect(a.log).not.toMatch(/REPORT RequestId/);
    const lines = a.log.trim().split("\n").map((l) => JSON.parse(l) as { type?: string; level?: string; message?: string });
    expect(lines.find((l) => l.level === "INFO")?.message).toBe("hello from json-logs");
    const report = lines.find((l) => l.type === "platform.report");
    expect(report).toMatchObject({ record: { requestId: a.out.$metadata.requestId, status: "success", metrics: { memorySizeMB: 256 } } });
    const parsed = parseReportLine(a.log)!;
    expect(parsed).toMatchObject({ requestId: a.out.$metadata.requestId, memorySizeMb: 256 });
    expect(parsed.initMs).toBeGreaterThanOrEqual(0);
    expect(parsed.billedMs).toBeGreaterThanOrEqual(Math.floor(parsed.durationMs + parsed.initMs!));
    // Billed Duration is the duration plus the init phase (billed since August 2025), rounded up to the next ms.
    expect(Number.isInteger(parsed.billedMs)).toBe(true);
    expect(parsed.billedMs).toBeLessThan(parsed.durationMs + parsed.initMs! + 1.01);
    emu.faults.timeout(1, { functionName: "json-logs", afterMs: 50 });
    const t = await invoke("json-logs", {});
    expect(parseReportLine(t.log)).toMatchObject({ status: "timeout" });
    await expect(create("bad-format", { LoggingConfig: { LogFormat: "XML" } })).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
  });

  it("deletes functions and their environments", async () => {
    await client.send(new DeleteFunctionCommand({ FunctionName: "states" }));
    await expect(client.send(new GetFunctionCommand({ FunctionName: "states" }))).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    const listed = await client.send(new ListFunctionsCommand({}));
    expect(listed.Functions?.map((f) => f.FunctionName)).not.toContain("states");
  });

  it("lists functions in pages of at most 50, NextMarker while more remain, as ListFunctions does", async () => {
    const all = (await client.send(new ListFunctionsCommand({}))).Functions!.map((f) => f.FunctionName!);
    expect(all.length).toBeGreaterThan(1);
    const paged: string[] = [];
    let marker: string | undefined;
    do {
      const page = await client.send(new ListFunctionsCommand({ MaxItems: 1, ...(marker ? { Marker: marker } : {}) }));
      expect(page.Functions).toHaveLength(1);
      paged.push(page.Functions![0]!.FunctionName!);
      marker = page.NextMarker;
    } while (marker);
    expect(paged.sort()).toEqual([...all].sort());
    await expect(client.send(new ListFunctionsCommand({ MaxItems: 51 }))).rejects.toMatchObject({ name: "InvalidParameterValueException" });
  });
});

describe("the loopback Lambda emulator's stragglers", () => {
  it("slows the chosen share of invocations on the platform side: billed for the wait, timed out past the Timeout", async () => {
    const emu = await startLambdaEmulator({ pendingMs: 0, updateMs: 0, maxEnvironments: 2, straggle: { fraction: 1, factor: 3 } });
    const client = new LambdaClient({ endpoint: emu.endpoint, region: emu.region, credentials: emu.credentials, maxAttempts: 1 });
    try {
      await client.send(
        new CreateFunctionCommand({ FunctionName: "slow", Role: TEST_ROLE, Runtime: "nodejs22.x", Handler: "index.handler", Code: { ZipFile: code(HANDLER) }, Timeout: 2, MemorySize: 256 }),
      );
      await waitUntilFunctionActiveV2({ client, minDelay: 0.05, maxDelay: 0.1, maxWaitTime: 10 }, { FunctionName: "slow" });
      const send = async (event: unknown) => {
        const out = await client.send(new InvokeCommand({ FunctionName: "slow", LogType: "Tail", Payload: Buffer.from(JSON.stringify(event)) }));
        return { out, text: Buffer.from(out.Payload ?? []).toString("utf8"), report: parseReportLine(decodeLogResult(out.LogResult)) };
      };
      // Every invocation straggles 3x: a 200 ms handler answers after about 600 ms, and REPORT bills for that.
      const t0 = performance.now();
      const ok = await send({ sleep: 200 });
      expect(ok.out.FunctionError).toBeUndefined();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(580);
      expect(ok.report?.durationMs).toBeGreaterThanOrEqual(580);
      expect(ok.report?.billedMs).toBeGreaterThanOrEqual(580);
      // An 800 ms handler slowed 3x passes the 2 s Timeout: Sandbox.Timedout, as Lambda would end it.
      const late = await send({ sleep: 800 });
      expect(late.out.FunctionError).toBe("Unhandled");
      expect(JSON.parse(late.text)).toMatchObject({ errorType: "Sandbox.Timedout" });
      expect(emu.stats.straggled).toBe(2);
    } finally {
      client.destroy();
      await emu.close();
    }
  });
});
