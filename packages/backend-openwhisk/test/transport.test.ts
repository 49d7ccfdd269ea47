// The hot path's transport (undici, one connection per attempt in flight): aborts reach the request and free its
// connection, whether it is on the wire or still waiting for a connection; answers are read as the controller and
// proxies in front of it send them; an HTTP proxy from the environment is honoured; an unreachable controller is a
// retryable platform error.
import { once } from "node:events";
import { createServer } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskError } from "@superfaas/core";
import { conformanceJob } from "@superfaas/core/conformance";
import { backendFor, startOpenWhiskEmulator, type OpenWhiskEmulator } from "./helpers.js";
import { Transport } from "../src/transport.js";
import type { OpenWhiskBackend } from "../src/index.js";

async function until(what: string, check: () => Promise<boolean>, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const request = (taskIndex: number, task: unknown) => ({ task, taskIndex, attempt: 1, timeoutMs: 60_000 });

describe("openwhisk hot path", () => {
  let emulator: OpenWhiskEmulator;
  let backend: OpenWhiskBackend;
  /** Connections the emulator saw close. */
  let closed = 0;

  beforeAll(async () => {
    emulator = await startOpenWhiskEmulator({ concurrentInvocations: 100, invocationsPerMinute: 10_000 });
    emulator.server.on("connection", (socket: Socket) => socket.on("close", () => closed++));
    backend = backendFor(emulator);
    // One attempt at a time: the transport keeps 1 + 4 connections.
    await backend.prepare({ job: { modulePath: conformanceJob.modulePath!, jobName: conformanceJob.name }, runId: "hot-path", concurrency: 1 });
  });
  afterAll(async () => {
    await backend?.dispose();
    await emulator?.close();
  });

  it("answers an invocation with the activation's figures", async () => {
    const r = await backend.invoke(request(0, { op: "echo", value: "hi" }), new AbortController().signal);
    expect((r.partial as { value: unknown }).value).toBe("hi");
    expect(r.platformId).toMatch(/^[0-9a-f]{32}$/);
    expect(typeof r.durationMs).toBe("number");
    expect(typeof r.waitMs).toBe("number");
  });

  it("rejects at once with the signal's reason and closes the connection when an attempt is aborted mid-flight", async () => {
    const controller = new AbortController();
    const before = emulator.stats.accepted;
    const call = backend.invoke(request(1, { op: "echo", value: 1, sleepMs: 5_000 }), controller.signal);
    call.catch(() => undefined);
    await until("the invocation to reach the emulator", async () => emulator.stats.accepted > before);
    const closedBefore = closed;
    const reason = new Error("attempt cancelled");
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    // The emulator sees the connection go before the activation (5 s) would have ended and closed it anyway.
    await until("the aborted connection to close", async () => closed > closedBefore, 4_000);
  });

  it("rejects an attempt aborted while it waits for a connection, and never sends it", async () => {
    // Five connections, six attempts: the sixth waits in the pool's queue.
    const before = emulator.stats.accepted;
    const held = Array.from({ length: 5 }, (_, i) => backend.invoke(request(10 + i, { op: "echo", value: i, sleepMs: 400 }), new AbortController().signal));
    await until("five invocations in flight", async () => emulator.stats.accepted >= before + 5);
    const invocations = emulator.stats.invocations;
    const controller = new AbortController();
    const queued = backend.invoke(request(20, { op: "echo", value: "queued" }), controller.signal);
    queued.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    controller.abort(new Error("never sent"));
    await expect(queued).rejects.toThrow("never sent");
    expect((await Promise.all(held)).map((r) => (r.partial as { value: unknown }).value)).toEqual([0, 1, 2, 3, 4]);
    // Had the aborted attempt gone out when a connection freed, it would have reached the emulator before a sentinel
    // sent after every held attempt was answered: once the sentinel is answered, only the sentinel was invoked.
    const sentinel = await backend.invoke(request(21, { op: "echo", value: "sentinel" }), new AbortController().signal);
    expect((sentinel.partial as { value: unknown }).value).toBe("sentinel");
    expect(emulator.stats.invocations).toBe(invocations + 1);
    const values = [...emulator.activations.values()].map((a) => (a.response.result as { partial?: { value?: unknown } }).partial?.value);
    expect(values).toContain("sentinel");
    expect(values).not.toContain("queued");
  });

  it("does not send an attempt whose signal is already aborted", async () => {
    const controller = new AbortController();
    const reason = new Error("too late");
    controller.abort(reason);
    const before = emulator.stats.requests;
    await expect(backend.invoke(request(30, { op: "echo", value: 0 }), controller.signal)).rejects.toBe(reason);
    expect(emulator.stats.requests).toBe(before);
  });
});

describe("openwhisk transport", () => {
  let emulator: OpenWhiskEmulator;
  beforeAll(async () => {
    emulator = await startOpenWhiskEmulator({});
  });
  afterAll(async () => {
    await emulator?.close();
  });
  const transportFor = (extra: { proxy?: string } = {}) =>
    new Transport({ apihost: emulator.url, auth: emulator.auth, namespace: emulator.namespace, insecure: false, connections: 2, ...extra });

  it("reads the controller's JSON errors and keeps a non-JSON body as text", async () => {
    const t = transportFor();
    try {
      const signal = new AbortController().signal;
      const missing = await t.get(t.activationPath("0123456789abcdef0123456789abcdef"), signal);
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ error: "The requested resource does not exist." });
      emulator.failNext(1, { status: 502 });
      const proxied = await t.post(t.invokePath("whatever"), "{}", signal);
      expect(proxied.status).toBe(502);
      expect(proxied.body).toMatch(/^<html>[\s\S]*502 Bad Gateway/);
    } finally {
      await t.close();
    }
  });

  it("goes through an HTTP proxy when given one", async () => {
    // A CONNECT proxy, as HTTPS_PROXY/HTTP_PROXY name them.
    const tunnels: string[] = [];
    const sockets = new Set<Socket>();
    const proxy = createServer((_req, res) => res.writeHead(405).end());
    proxy.on("connect", (req, client: Socket, head: Buffer) => {
      tunnels.push(req.url ?? "");
      const [host, port] = (req.url ?? "").split(":");
      const upstream = connect(Number(port), host!, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        upstream.write(head);
        upstream.pipe(client).pipe(upstream);
      });
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("error", () => undefined).on("close", () => sockets.delete(s));
      }
    });
    proxy.listen(0, "127.0.0.1");
    await once(proxy, "listening");
    const t = transportFor({ proxy: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
    try {
      const answer = await t.get(t.activationPath("0123456789abcdef0123456789abcdef"), new AbortController().signal);
      expect(answer.status).toBe(404);
      expect(tunnels).toEqual([`127.0.0.1:${emulator.port}`]);
    } finally {
      await t.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    }
  });

  it("makes an unreachable controller a retryable platform error naming the address", async () => {
    const em = await startOpenWhiskEmulator({});
    const backend = backendFor(em);
    try {
      await backend.prepare({ job: { modulePath: conformanceJob.modulePath!, jobName: conformanceJob.name }, runId: "unreachable", concurrency: 1 });
      await em.close();
      const err = await backend.invoke(request(0, { op: "echo", value: 0 }), new AbortController().signal).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TaskError);
      expect((err as TaskError).retryable).toBe(true);
      expect((err as TaskError).origin).toBe("platform");
      expect((err as TaskError).message).toMatch(new RegExp(`^openwhisk system error: cannot reach ${em.url.replace(/\./g, "\\.")}/api/v1/namespaces/guest/actions/superfaas-conformance-[0-9a-f]+\\?blocking=true&timeout=24000: `));
    } finally {
      await backend.dispose().catch(() => undefined);
      await em.close();
    }
  });
});
