// The emulator speaks OpenWhisk's REST API as the platform does: these tests hold it to the platform's paths,
// status codes and payload shapes, so the backend tests that run against it mean something.
import { strToU8, zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenWhiskEmulator, type ActivationRecord, type OpenWhiskEmulator, type OpenWhiskEmulatorOptions } from "@superfaas/testing";

// A plain-code action (not a zip) that the tests steer through its parameters.
const PROBE = `
async function main(p) {
  if (p.sleep) await new Promise((r) => setTimeout(r, p.sleep));
  switch (p.op) {
    case "reject": throw new Error(p.message);
    case "string": return "not an object";
    case "big": return { data: "x".repeat(p.bytes) };
    case "exit": process.exit(3);
    case "log": console.log("hello from the action"); return { logged: true };
    default:
      return { pid: process.pid, params: p, env: { id: process.env.__OW_ACTIVATION_ID, ns: process.env.__OW_NAMESPACE, deadline: process.env.__OW_DEADLINE, host: process.env.__OW_API_HOST } };
  }
}`;

const basic = (auth: string) => `Basic ${Buffer.from(auth).toString("base64")}`;

/** Calls the emulator's REST API; `path` is below /api/v1/namespaces/_/ unless it starts with "/". */
async function call(em: OpenWhiskEmulator, method: string, path: string, body?: unknown, auth: string | null = em.auth) {
  const url = path.startsWith("/") ? `${em.url}${path}` : `${em.url}/api/v1/namespaces/_/${path}`;
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...(auth ? { authorization: basic(auth) } : {}) },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: the tests read whatever shape the emulator answered
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

const put = (em: OpenWhiskEmulator, name: string, code = PROBE, limits: Record<string, number> = {}, overwrite = true) =>
  call(em, "PUT", `actions/${name}${overwrite ? "?overwrite=true" : ""}`, { exec: { kind: "nodejs:20", code }, limits });
const invoke = (em: OpenWhiskEmulator, name: string, params: unknown, q = "blocking=true") => call(em, "POST", `actions/${name}?${q}`, params);
const note = (r: ActivationRecord, key: string) => r.annotations.find((a) => a.key === key)?.value;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function until<T>(fn: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("OpenWhisk emulator: REST API", () => {
  let em: OpenWhiskEmulator;
  beforeAll(async () => {
    em = await startOpenWhiskEmulator({ concurrentInvocations: 1000, invocationsPerMinute: 1000 });
    expect((await put(em, "probe")).status).toBe(200);
  });
  afterAll(() => em?.close());

  it("answers 401 without credentials or with a wrong key, and lists the namespace with them", async () => {
    expect(await call(em, "GET", "/api/v1/namespaces", undefined, null)).toMatchObject({ status: 401, body: { error: "The supplied authentication is invalid." } });
    expect((await call(em, "GET", "/api/v1/namespaces", undefined, `${em.auth.split(":")[0]}:wrong`)).status).toBe(401);
    expect(await call(em, "GET", "/api/v1/namespaces")).toEqual({ status: 200, body: ["guest"] });
    expect((await call(em, "GET", "/api/v1/namespaces/someone-else/actions")).status).toBe(403);
  });

  it("lists actions in pages (limit at most 200, skip), with their annotations, as the controller does", async () => {
    expect((await put(em, "page-a")).status).toBe(200);
    expect((await put(em, "page-b")).status).toBe(200);
    const all = (await call(em, "GET", "/api/v1/namespaces/_/actions")).body as { name: string; annotations: unknown[] }[];
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect(all.every((a) => Array.isArray(a.annotations))).toBe(true);
    const first = (await call(em, "GET", "/api/v1/namespaces/_/actions?limit=1&skip=0")).body as { name: string }[];
    const second = (await call(em, "GET", "/api/v1/namespaces/_/actions?limit=1&skip=1")).body as { name: string }[];
    expect(first.map((a) => a.name).concat(second.map((a) => a.name))).toEqual(all.slice(0, 2).map((a) => a.name));
    expect((await call(em, "GET", "/api/v1/namespaces/_/actions?limit=201")).status).toBe(400);
  });

  it("creates, reads, refuses to overwrite without ?overwrite=true (409), updates and deletes actions", async () => {
    const created = await put(em, "crud", PROBE, { timeout: 5_000, memory: 128 }, false);
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ name: "crud", namespace: "guest", version: "0.0.1", exec: { kind: "nodejs:20", binary: false }, limits: { timeout: 5_000, memory: 128, logs: 10, concurrency: 1 } });
    expect(await put(em, "crud", PROBE, {}, false)).toMatchObject({ status: 409, body: { error: "resource already exists" } });
    const withoutCode = await call(em, "GET", "actions/crud?code=false");
    expect(withoutCode.body.exec.code).toBeUndefined();
    expect((await call(em, "GET", "actions/crud")).body.exec.code).toBe(PROBE);
    expect((await put(em, "crud")).body.version).toBe("0.0.2");
    expect((await call(em, "GET", "actions")).body.map((a: { name: string }) => a.name)).toContain("crud");
    expect((await call(em, "DELETE", "actions/crud")).status).toBe(200);
    const gone = await call(em, "GET", "actions/crud");
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ error: "The requested resource does not exist." });
    expect(typeof gone.body.code).toBe("string");
    expect((await call(em, "DELETE", "actions/crud")).status).toBe(404);
    expect((await invoke(em, "crud", {})).status).toBe(404);
  });

  it("validates limits and kinds like the platform (400)", async () => {
    expect((await put(em, "bad", PROBE, { memory: 1024 })).body.error).toMatch(/memory 1024 MB exceeds allowed threshold of 512 MB/);
    expect((await put(em, "bad", PROBE, { timeout: 50 })).status).toBe(400);
    expect((await call(em, "PUT", "actions/bad", { exec: { kind: "python:3", code: "x" } })).status).toBe(400);
  });

  it("answers a non-blocking invocation with 202 and records the activation once it ran (404 before)", async () => {
    const accepted = await invoke(em, "probe", { sleep: 200, hello: "world" }, "blocking=false");
    expect(accepted.status).toBe(202);
    const id = accepted.body.activationId as string;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect((await call(em, "GET", `activations/${id}`)).status).toBe(404);
    const record = await until(async () => {
      const r = await call(em, "GET", `activations/${id}`);
      return r.status === 200 ? (r.body as ActivationRecord) : undefined;
    });
    expect(record).toMatchObject({ activationId: id, name: "probe", namespace: "guest", response: { status: "success", success: true } });
    expect(Object.keys(record).sort()).toEqual(["activationId", "annotations", "duration", "end", "logs", "name", "namespace", "publish", "response", "start", "subject", "version"]);
    expect(Object.keys(record.response).sort()).toEqual(["result", "size", "status", "success"]);
    expect(record.response.result).toMatchObject({ params: { hello: "world" }, env: { id, ns: "guest", host: em.url } });
    expect(record.duration).toBeGreaterThanOrEqual(200);
    expect(record.end - record.start).toBe(record.duration);
    expect(note(record, "waitTime")).toEqual(expect.any(Number));
    expect(note(record, "kind")).toBe("nodejs:20");
    expect(note(record, "limits")).toEqual({ timeout: 60_000, memory: 256, logs: 10, concurrency: 1 });
    expect((await call(em, "GET", `activations/${id}/result`)).body).toMatchObject({ status: "success", success: true });
  });

  it("answers a blocking invocation with the record (or the result alone with result=true) and reuses a warm container", async () => {
    await put(em, "warm");
    const cold = await invoke(em, "warm", { n: 1 });
    expect(cold.status).toBe(200);
    expect(note(cold.body, "initTime")).toEqual(expect.any(Number));
    const warm = await invoke(em, "warm", { n: 2 }, "blocking=true&result=true");
    expect(warm.status).toBe(200);
    expect(warm.body).toMatchObject({ params: { n: 2 }, pid: cold.body.response.result.pid });
    const again = await invoke(em, "warm", { n: 3 });
    expect(note(again.body, "initTime")).toBeUndefined();
  });

  it("runs a zip action as the Node.js runtime does (package.json main, exports.main)", async () => {
    const zip = zipSync({
      "package.json": strToU8(JSON.stringify({ main: "lib/entry.js" })),
      "lib/entry.js": strToU8(`const helper = require("./helper.js"); exports.main = (p) => ({ sum: helper.add(p.a, p.b), cwd: process.cwd() });`),
      "lib/helper.js": strToU8(`exports.add = (a, b) => a + b;`),
    });
    const code = Buffer.from(zip).toString("base64");
    const created = await call(em, "PUT", "actions/zipped?overwrite=true", { exec: { kind: "nodejs:default", code, binary: true } });
    expect(created.body.exec).toMatchObject({ kind: "nodejs:20", binary: true });
    const r = await invoke(em, "zipped", { a: 2, b: 40 }, "blocking=true&result=true");
    expect(r.body.sum).toBe(42);
    // A zip without an entry point fails its initialisation, as a developer error.
    await call(em, "PUT", "actions/empty-zip?overwrite=true", { exec: { kind: "nodejs:20", code: Buffer.from(zipSync({ "x.txt": strToU8("x") })).toString("base64"), binary: true } });
    const bad = await invoke(em, "empty-zip", {});
    expect(bad.status).toBe(502);
    expect(bad.body.response).toMatchObject({ status: "action developer error", success: false });
    expect(bad.body.response.result.error).toMatch(/Initialization has failed due to: .*package\.json or index\.js/);
  });

  it("reports the platform's statuses: rejection, non-object result, exit mid-run, timeout", async () => {
    const rejected = await invoke(em, "probe", { op: "reject", message: "nope" });
    expect(rejected.status).toBe(502);
    expect(rejected.body.response).toMatchObject({ status: "application error", success: false, result: { error: { name: "Error", message: "nope" } } });
    const notObject = await invoke(em, "probe", { op: "string" });
    expect(notObject.status).toBe(502);
    expect(notObject.body.response).toMatchObject({ status: "action developer error", result: { error: "The action did not return a dictionary." } });
    const exited = await invoke(em, "probe", { op: "exit" });
    expect(exited.body.response).toMatchObject({ status: "action developer error", result: { error: "The action did not produce a valid response and exited unexpectedly." } });
    await put(em, "short", PROBE, { timeout: 300 });
    const slow = await invoke(em, "short", { sleep: 5_000 });
    expect(slow.status).toBe(502);
    expect(slow.body.response).toMatchObject({ status: "action developer error", result: { error: "The action exceeded its time limits of 300 milliseconds." } });
    expect(note(slow.body, "timeout")).toBe(true);
    // The container that timed out is gone; the next activation gets a new one and succeeds.
    expect((await invoke(em, "short", {})).body.response.status).toBe("success");
    const logged = await invoke(em, "probe", { op: "log" });
    expect((await call(em, "GET", `activations/${logged.body.activationId}/logs`)).body.logs.join("\n")).toMatch(/stdout: hello from the action/);
  });

  it("refuses parameters over 1 MB (413) and turns results over 1 MB into an application error", async () => {
    const big = await invoke(em, "probe", { data: "x".repeat(1024 * 1024) });
    expect(big.status).toBe(413);
    expect(big.body.error).toMatch(/^Request larger than allowed: \d+ > 1048576 bytes\.$/);
    const huge = await invoke(em, "probe", { op: "big", bytes: 1024 * 1024 + 10 });
    expect(huge.status).toBe(502);
    expect(huge.body.response.status).toBe("application error");
    expect(huge.body.response.result.error).toMatch(/^The action produced a response that exceeded the allowed length: \d+ > 1048576 bytes\./);
  });
});

describe("OpenWhisk emulator: invokers, windows and throttles", () => {
  const started: OpenWhiskEmulator[] = [];
  const start = async (o: OpenWhiskEmulatorOptions) => {
    const em = await startOpenWhiskEmulator(o);
    started.push(em);
    await put(em, "probe");
    return em;
  };
  afterAll(async () => {
    await Promise.all(started.map((e) => e.close()));
  });

  it("answers 202 when the blocking window runs out, and records the activation later", async () => {
    const em = await start({ blockingWindowMs: 300 });
    // A 202 is itself the proof: the action needs 800 ms, the window is 300 ms.
    const r = await invoke(em, "probe", { sleep: 800 });
    expect(r.status).toBe(202);
    expect(em.activations.has(r.body.activationId)).toBe(false);
    const record = await until(async () => em.activations.get(r.body.activationId));
    expect(record.response.status).toBe("success");
  });

  it("throttles a namespace with the platform's 429 bodies: concurrent activations, then invocations per minute", async () => {
    const clock = { now: 60_000 * 1_000 + 5 };
    const em = await start({ concurrentInvocations: 2, invocationsPerMinute: 4, clock: () => clock.now });
    const slow = await Promise.all([invoke(em, "probe", { sleep: 500 }, "blocking=false"), invoke(em, "probe", { sleep: 500 }, "blocking=false")]);
    expect(slow.map((r) => r.status)).toEqual([202, 202]);
    const third = await invoke(em, "probe", {}, "blocking=false");
    expect(third.status).toBe(429);
    expect(third.body.error).toBe("Too many concurrent requests in flight (count: 2, allowed: 2).");
    // The refused call counted towards the minute: one more is allowed, the next is over the per-minute limit.
    await until(async () => (em.stats.completed >= 2 ? true : undefined));
    expect((await invoke(em, "probe", {})).status).toBe(200);
    const over = await invoke(em, "probe", {});
    expect(over.status).toBe(429);
    expect(over.body.error).toBe("Too many requests in the last minute (count: 5, allowed: 4).");
    clock.now += 60_000; // a new minute
    expect((await invoke(em, "probe", {})).status).toBe(200);
  });

  it("queues activations while an invoker's containers are busy, and evicts an idle container for another action", async () => {
    const em = await start({ containersPerInvoker: 1, concurrentInvocations: 100, invocationsPerMinute: 1000 });
    const t0 = Date.now();
    const all = await Promise.all([1, 2, 3].map((n) => invoke(em, "probe", { sleep: 150, n }, "blocking=true&result=true")));
    expect(all.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(new Set(all.map((r) => r.body.pid)).size).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(em.stats.peakContainers).toBe(1);
    await put(em, "other");
    const first = all[0]!.body.pid as number;
    expect((await invoke(em, "other", {})).status).toBe(200);
    await until(async () => (alive(first) ? undefined : true));
    expect(em.containers().map((c) => c.key)).toEqual(["guest/other"]);
  });

  it("slows the chosen share of activations on the platform side: the container holds the answer, within the time limit", async () => {
    // Every activation straggles 3x: a 200 ms run answers after about 600 ms, and its record says so.
    const em = await start({ straggle: { fraction: 1, factor: 3 } });
    await put(em, "probe", PROBE, { timeout: 1_000 });
    const t0 = Date.now();
    const ok = await invoke(em, "probe", { sleep: 200 });
    expect(ok.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(580);
    expect(ok.body.duration).toBeGreaterThanOrEqual(580);
    // Slowed past the action's 1 s limit, a 400 ms run ends as the platform's timeout.
    const late = await invoke(em, "probe", { sleep: 400 });
    expect(late.status).toBe(502);
    expect(late.body.response).toMatchObject({ status: "action developer error", result: { error: "The action exceeded its time limits of 1000 milliseconds." } });
    expect(em.stats.straggled).toBe(2);
    // None with fraction 0.
    const none = await start({ straggle: { fraction: 0, factor: 10 } });
    await invoke(none, "probe", {});
    expect(none.stats.straggled).toBe(0);
  });

  it("kills an action's containers when it is updated or deleted, and every container on close", async () => {
    const em = await start({});
    const pid1 = (await invoke(em, "probe", {}, "blocking=true&result=true")).body.pid as number;
    await put(em, "probe");
    await until(async () => (alive(pid1) ? undefined : true));
    const pid2 = (await invoke(em, "probe", {}, "blocking=true&result=true")).body.pid as number;
    expect(pid2).not.toBe(pid1);
    await call(em, "DELETE", "actions/probe");
    await until(async () => (alive(pid2) ? undefined : true));
    await put(em, "probe");
    const pid3 = (await invoke(em, "probe", {}, "blocking=true&result=true")).body.pid as number;
    await em.close();
    expect(alive(pid3)).toBe(false);
    expect(em.containers()).toEqual([]);
  });
});
