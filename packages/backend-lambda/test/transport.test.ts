// The invocation transport. The direct path (the client's protocol, signer and request handler called in a row)
// must answer and fail exactly as client.send() does, and sign exactly what it sends: checked here against the
// emulator and, for the signature, against an independent SigV4 verifier on a capturing server. The undici request
// handler must bound its connections, abort and time out.
import { createHash, createHmac } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { strToU8, zipSync } from "fflate";
import { CreateFunctionCommand, LambdaClient, waitUntilFunctionActiveV2, type InvokeCommandInput, type InvokeCommandOutput } from "@aws-sdk/client-lambda";
import { startLambdaEmulator, type LambdaEmulator } from "@superfaas/testing";
import { UndiciHttpHandler } from "../src/http.js";
import { LambdaInvoker } from "../src/invoke.js";
import { decodeLogResult, parseReportLine } from "../src/index.js";
import { TEST_ROLE } from "./helpers.js";

const HANDLER = `exports.handler = async (event) => { if (event.throw) throw new RangeError(event.throw); return { echo: event }; };`;

const handler = (opts: Partial<ConstructorParameters<typeof UndiciHttpHandler>[0]> = {}) =>
  new UndiciHttpHandler({ connections: 8, connectTimeoutMs: 5_000, responseTimeoutMs: 30_000, ...opts });

const client = (endpoint: string, region: string, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
  new LambdaClient({ endpoint, region, credentials, maxAttempts: 1, requestHandler: handler() });

const input = (name: string, event: unknown, extra: Partial<InvokeCommandInput> = {}): InvokeCommandInput => ({
  FunctionName: name,
  InvocationType: "RequestResponse",
  LogType: "Tail",
  Payload: Buffer.from(JSON.stringify(event)),
  ...extra,
});

const signal = () => new AbortController().signal;

/** What two answers must share: everything but the ids and timings. */
function answer(o: InvokeCommandOutput) {
  const report = parseReportLine(decodeLogResult(o.LogResult));
  return {
    StatusCode: o.StatusCode,
    FunctionError: o.FunctionError,
    ExecutedVersion: o.ExecutedVersion,
    payload: JSON.parse(Buffer.from(o.Payload ?? []).toString("utf8")) as unknown,
    reported: report !== undefined,
    httpStatusCode: o.$metadata.httpStatusCode,
    requestId: typeof o.$metadata.requestId,
  };
}

/** What two failures must share. */
async function failure(p: Promise<unknown>) {
  const e = (await p.then(
    () => undefined,
    (err: unknown) => err,
  )) as (Error & Record<string, unknown> & { $metadata?: { httpStatusCode?: number; requestId?: string } }) | undefined;
  expect(e).toBeInstanceOf(Error);
  return {
    name: e!.name,
    message: e!.message,
    fault: e!.$fault,
    httpStatusCode: e!.$metadata?.httpStatusCode,
    requestId: typeof e!.$metadata?.requestId,
    Type: e!.Type,
    Reason: e!.Reason,
    retryAfterSeconds: e!.retryAfterSeconds,
  };
}

describe("invocations through the direct path answer and fail as client.send() does (emulator)", () => {
  let emu: LambdaEmulator;
  let sdk: LambdaInvoker;
  let direct: LambdaInvoker;
  const clients: LambdaClient[] = [];
  const make = () => {
    const c = client(emu.endpoint, emu.region, emu.credentials);
    clients.push(c);
    return c;
  };
  const both = async (name: string, event: unknown, extra: Partial<InvokeCommandInput> = {}, arm?: () => void) => {
    arm?.();
    const a = sdk.invoke(input(name, event, extra), signal());
    const ra = await Promise.allSettled([a]);
    arm?.();
    const rb = await Promise.allSettled([direct.invoke(input(name, event, extra), signal())]);
    return [ra[0]!, rb[0]!] as const;
  };

  beforeAll(async () => {
    emu = await startLambdaEmulator({ pendingMs: 50, updateMs: 50, maxEnvironments: 4 });
    const control = make();
    await control.send(
      new CreateFunctionCommand({
        FunctionName: "echo",
        Role: TEST_ROLE,
        Runtime: "nodejs22.x",
        Handler: "index.handler",
        Code: { ZipFile: zipSync({ "index.js": strToU8(HANDLER) }) },
        Timeout: 5,
        MemorySize: 128,
      }),
    );
    await waitUntilFunctionActiveV2({ client: control, minDelay: 0.05, maxDelay: 0.1, maxWaitTime: 10 }, { FunctionName: "echo" });
    sdk = new LambdaInvoker(make(), { direct: false });
    direct = new LambdaInvoker(make());
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await emu?.close();
  });

  it("goes through client.send() first, then takes the direct path; the answers are the same", async () => {
    expect(direct.path).toBe("sdk");
    const first = await direct.invoke(input("echo", { n: 1 }), signal());
    expect(await direct.settled()).toBe("direct");
    expect(await sdk.settled()).toBe("sdk");
    const viaSdk = await sdk.invoke(input("echo", { n: 2, text: "ünïcödé ✓" }), signal());
    const viaDirect = await direct.invoke(input("echo", { n: 2, text: "ünïcödé ✓" }), signal());
    expect(answer(viaDirect)).toEqual(answer(viaSdk));
    expect(answer(viaDirect)).toMatchObject({ StatusCode: 200, payload: { echo: { n: 2, text: "ünïcödé ✓" } }, reported: true, httpStatusCode: 200, requestId: "string" });
    expect(answer(first).payload).toEqual({ echo: { n: 1 } });
  });

  it("returns a function error the same way (HTTP 200, FunctionError, the error payload)", async () => {
    const [a, b] = await both("echo", { throw: "boom" });
    expect(a.status).toBe("fulfilled");
    expect(b.status).toBe("fulfilled");
    const va = answer((a as PromiseFulfilledResult<InvokeCommandOutput>).value);
    const vb = answer((b as PromiseFulfilledResult<InvokeCommandOutput>).value);
    expect(vb).toEqual(va);
    expect(vb).toMatchObject({ FunctionError: "Unhandled", payload: { errorType: "RangeError", errorMessage: "boom" } });
  });

  const cases: [string, string, unknown, Partial<InvokeCommandInput>, (() => void) | undefined, Record<string, unknown>][] = [
    [
      "429 TooManyRequestsException, with Reason and Retry-After",
      "echo",
      {},
      {},
      () => emu.faults.throttle(1, { reason: "CallerRateLimitExceeded", retryAfterSeconds: 3 }),
      { name: "TooManyRequestsException", httpStatusCode: 429, Reason: "CallerRateLimitExceeded", retryAfterSeconds: "3", fault: "client" },
    ],
    ["a 502 from the service", "echo", {}, {}, () => emu.faults.serverError(1, { status: 502 }), { httpStatusCode: 502, fault: "server" }],
    ["404 ResourceNotFoundException", "missing", {}, {}, undefined, { name: "ResourceNotFoundException", httpStatusCode: 404 }],
    ["413 RequestEntityTooLargeException", "echo", { pad: "x".repeat(6 * 1024 * 1024) }, {}, undefined, { name: "RequestEntityTooLargeException", httpStatusCode: 413 }],
    ["a qualifier that does not exist", "echo", {}, { Qualifier: "7" }, undefined, { name: "ResourceNotFoundException", httpStatusCode: 404 }],
  ];
  for (const [what, name, event, extra, arm, expected] of cases) {
    it(`throws the same exception for ${what}`, async () => {
      expect(direct.path).toBe("direct");
      const [a, b] = await both(name, event, extra, arm);
      const fa = await failure(a.status === "rejected" ? Promise.reject(a.reason) : Promise.resolve());
      const fb = await failure(b.status === "rejected" ? Promise.reject(b.reason) : Promise.resolve());
      expect(fb).toEqual(fa);
      expect(fb).toMatchObject({ ...expected, requestId: "string" });
    });
  }

  it("falls back to client.send() for the rest of its life when the direct path's SDK internals fail", async () => {
    const invoker = new LambdaInvoker(make());
    await invoker.invoke(input("echo", { n: 1 }), signal());
    expect(await invoker.settled()).toBe("direct");
    // What an SDK upgrade that moved an internal would look like: the signer the direct path took up now throws.
    const internals = invoker as unknown as { direct: { signer: { sign: () => Promise<never> } } };
    const broken = new TypeError("signer.sign is not a function");
    internals.direct.signer = { sign: () => Promise.reject(broken) };
    const out = await invoker.invoke(input("echo", { n: 2 }), signal());
    expect(answer(out).payload).toEqual({ echo: { n: 2 } });
    expect(invoker.path).toBe("sdk");
    expect(invoker.abandoned).toBe(broken);
    expect(answer(await invoker.invoke(input("echo", { n: 3 }), signal())).payload).toEqual({ echo: { n: 3 } });
  });

  it("rejects at once when the attempt is aborted in flight", async () => {
    const ac = new AbortController();
    const p = direct.invoke(input("echo", { n: 3 }), ac.signal);
    ac.abort(new Error("deadline"));
    // The request's abort (undici's AbortError), not whatever transport error might follow or the echo's answer.
    await expect(p).rejects.toMatchObject({ name: "AbortError", message: "Request aborted" });
  });
});

// ---- SigV4, checked independently of the SDK ----

const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Recomputes the request's AWS Signature Version 4 from what arrived on the wire; returns what it found wrong. */
function verifySigV4(r: Captured, secretAccessKey: string): { scope: string; signedHeaders: string[]; problems: string[] } {
  const problems: string[] = [];
  const auth = String(r.headers.authorization ?? "");
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { scope: "", signedHeaders: [], problems: [`unparsable authorization header: ${auth}`] };
  const [, , date, region, service, signedList, signature] = m as unknown as string[];
  const signedHeaders = signedList!.split(";");
  const amzDate = String(r.headers["x-amz-date"] ?? "");
  if (!amzDate.startsWith(date!)) problems.push(`x-amz-date ${amzDate} is not of the credential's day ${date}`);
  const [path, query = ""] = r.url.split("?") as [string, string?];
  const canonicalUri = path
    .split("/")
    .map((segment) => rfc3986(segment))
    .join("/");
  const canonicalQuery = query
    .split("&")
    .filter(Boolean)
    .map((pair) => {
      const [k, v = ""] = pair.split("=") as [string, string?];
      return [rfc3986(decodeURIComponent(k)), rfc3986(decodeURIComponent(v))] as const;
    })
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${String(r.headers[h] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const payloadHash = sha256(r.body);
  const declared = r.headers["x-amz-content-sha256"];
  if (declared !== undefined && declared !== payloadHash) problems.push("x-amz-content-sha256 is not the body's hash");
  const canonicalRequest = [r.method, canonicalUri, canonicalQuery, canonicalHeaders, signedList, payloadHash].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date!), region!), service!), "aws4_request");
  if (createHmac("sha256", key).update(stringToSign).digest("hex") !== signature) problems.push("the signature does not match the request as sent");
  // Every header sent must be covered, but those SigV4 never signs.
  const unsignable = new Set(["authorization", "user-agent", "connection", "keep-alive", "transfer-encoding", "expect"]);
  const uncovered = Object.keys(r.headers).filter((h) => !signedHeaders.includes(h) && !unsignable.has(h));
  if (uncovered.length) problems.push(`sent but not signed: ${uncovered.join(", ")}`);
  for (const h of ["host", "x-amz-date", "content-length"]) if (!signedHeaders.includes(h)) problems.push(`${h} is not signed`);
  return { scope, signedHeaders, problems };
}

describe("the direct path signs exactly what it sends (independent SigV4 check)", () => {
  let server: Server;
  const captured: Captured[] = [];
  const credentials = { accessKeyId: "AKIDSIGV4TEST", secretAccessKey: "wJalr/K7MDENG+bPxRfi", sessionToken: "session/token+1" };
  let endpoint: string;
  beforeAll(async () => {
    const log = Buffer.from("REPORT RequestId: 1\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\n").toString("base64");
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        captured.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { "content-type": "application/json", "x-amz-executed-version": "$LATEST", "x-amz-log-result": log, "x-amzn-requestid": `req-${captured.length}` });
        res.end('{"ok":true}');
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("signs both paths' requests over the headers, query and body that reach the server", async () => {
    const c = client(endpoint, "eu-west-1", credentials);
    try {
      const invoker = new LambdaInvoker(c);
      const event = { task: { text: "ünïcödé", list: [1, 2, 3] }, taskIndex: 7, attempt: 1 };
      await invoker.invoke(input("superfaas-sig-0123456789ab", event), signal());
      expect(await invoker.settled()).toBe("direct");
      await invoker.invoke(input("superfaas-sig-0123456789ab", event), signal());
      await invoker.invoke(input("superfaas-sig-0123456789ab", event, { Qualifier: "$LATEST" }), signal());
      expect(captured).toHaveLength(3);
      for (const r of captured) {
        const v = verifySigV4(r, credentials.secretAccessKey);
        expect(v.problems).toEqual([]);
        expect(v.scope).toMatch(/^\d{8}\/eu-west-1\/lambda\/aws4_request$/);
        expect(v.signedHeaders).toContain("x-amz-security-token");
        expect(r.headers["x-amz-security-token"]).toBe(credentials.sessionToken);
        expect(r.method).toBe("POST");
        expect(JSON.parse(r.body.toString("utf8"))).toEqual(event);
        expect(r.headers).toMatchObject({ "x-amz-invocation-type": "RequestResponse", "x-amz-log-type": "Tail" });
      }
      expect(captured[0]!.url).toBe("/2015-03-31/functions/superfaas-sig-0123456789ab/invocations");
      expect(captured[2]!.url).toBe("/2015-03-31/functions/superfaas-sig-0123456789ab/invocations?Qualifier=%24LATEST");
      // The direct path sends what client.send() sent, less the retry middleware's per-attempt headers.
      const names = (h: IncomingHttpHeaders) => Object.keys(h).filter((n) => !n.startsWith("amz-sdk-")).sort();
      expect(names(captured[1]!.headers)).toEqual(names(captured[0]!.headers));
    } finally {
      c.destroy();
    }
  });
});

// ---- the undici request handler ----

describe("the undici request handler", () => {
  let server: Server;
  let base: { protocol: string; hostname: string; port: number };
  let connections = 0;
  const urls: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      urls.push(req.url!);
      if (req.url!.startsWith("/hang")) return; // never answers
      setTimeout(() => res.writeHead(200, { "content-type": "text/plain", "x-a": "1" }).end("done"), 20);
    });
    server.on("connection", () => connections++);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    base = { protocol: "http:", hostname: "127.0.0.1", port: (server.address() as AddressInfo).port };
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const req = (path: string, query?: Record<string, string | string[]>) => ({ ...base, method: "GET", path, headers: {}, ...(query ? { query } : {}) });

  it("answers with the status, the headers and the whole body, and writes the query string as the SDK does", async () => {
    const h = handler();
    try {
      const { response } = await h.handle(req("/ok", { Qualifier: "$LATEST", list: ["a b", "c"] }));
      expect(response.statusCode).toBe(200);
      expect(response.headers["x-a"]).toBe("1");
      expect(Buffer.from(response.body).toString()).toBe("done");
      expect(urls.at(-1)).toBe("/ok?Qualifier=%24LATEST&list=a%20b&list=c");
    } finally {
      h.destroy();
    }
  });

  it("keeps at most `connections` connections, and more after resize()", async () => {
    const h = handler({ connections: 3 });
    try {
      const before = connections;
      await Promise.all(Array.from({ length: 24 }, () => h.handle(req("/ok"))));
      expect(connections - before).toBeLessThanOrEqual(3);
      h.resize(6);
      const mid = connections;
      await Promise.all(Array.from({ length: 24 }, () => h.handle(req("/ok"))));
      expect(connections - mid).toBeGreaterThan(0);
      expect(connections - mid).toBeLessThanOrEqual(6);
    } finally {
      h.destroy();
    }
  });

  it("gives up when the attempt is aborted, and when no answer comes within the response timeout", async () => {
    const h = handler({ responseTimeoutMs: 300 });
    try {
      const ac = new AbortController();
      const aborted = h.handle(req("/hang/1"), { abortSignal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      // The rejection is the abort, not the 300 ms response timeout: told apart by its name, not by a stopwatch.
      await expect(aborted).rejects.toMatchObject({ name: "AbortError" });
      await expect(h.handle(req("/x"), { abortSignal: ac.signal })).rejects.toMatchObject({ name: "AbortError" });
      const late = await h.handle(req("/hang/2")).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string; $metadata?: unknown },
      );
      expect(late).toMatchObject({ code: "UND_ERR_HEADERS_TIMEOUT" });
      expect(late?.$metadata).toBeUndefined(); // no HTTP status: the backend retries it
    } finally {
      h.destroy();
    }
  });
});
