// The deployments people actually run, as the emulator's profiles reproduce them (apache/openwhisk's defaults, the
// Helm chart, a custom one): the backend reads the controller's info document, picks a kind the deployment offers,
// builds for its Node.js version, refuses what the deployment would refuse before deploying, and says clearly what
// a refused setting means. Also: a front proxy that cuts long responses, endpoints that hang or are not OpenWhisk.
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, RunError, SuperfaasError, type RunOptions } from "@superfaas/core";
import { conformanceJob, type FixtureTask } from "@superfaas/core/conformance";
import { pi, type PiOutput } from "@superfaas/example-pi";
import { backendFor, withEmulator, type OpenWhiskEmulator } from "./helpers.js";

const echo = (n: number, sleepMs = 0): FixtureTask[] => Array.from({ length: n }, (_, i) => ({ op: "echo", value: i, ...(sleepMs ? { sleepMs } : {}) }));
const values = (output: unknown) => (output as { value: unknown }[]).map((p) => p.value);
const fast: Partial<RunOptions> = { backoff: { baseMs: 20, maxMs: 200 } };
const basic = (auth: string) => `Basic ${Buffer.from(auth).toString("base64")}`;

/** The error a run failed with, or the one prepare threw. */
async function failure(p: Promise<unknown>): Promise<SuperfaasError> {
  try {
    await p;
  } catch (err) {
    return (err instanceof RunError ? err : err) as SuperfaasError;
  }
  throw new Error("expected the run to fail");
}

async function put(em: OpenWhiskEmulator, name: string, exec: Record<string, unknown>, limits: Record<string, number> = {}) {
  const res = await fetch(`${em.url}/api/v1/namespaces/_/actions/${name}?overwrite=true`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: basic(em.auth) },
    body: JSON.stringify({ exec, limits }),
  });
  return { status: res.status, body: (await res.json()) as { error?: string } };
}

describe("the emulator's deployment profiles", () => {
  it("serves the controller's info document at GET / with the profile's kinds and the stock limits", async () => {
    for (const [profile, kinds, std] of [
      ["apache", ["nodejs:18", "nodejs:20"], "nodejs:20"],
      ["helm", ["nodejs:14", "nodejs:16"], "nodejs:14"],
    ] as const) {
      await withEmulator({ profile }, async (em) => {
        const info = (await (await fetch(`${em.url}/`)).json()) as { limits: Record<string, number>; runtimes: Record<string, { kind: string; default: boolean }[]> };
        expect(Object.keys(info).sort()).toEqual(["api_paths", "description", "limits", "runtimes", "support"]);
        expect(info.limits).toMatchObject({
          actions_per_minute: 60,
          concurrent_actions: 30,
          min_action_memory: 128 * 2 ** 20,
          max_action_memory: 512 * 2 ** 20,
          min_action_duration: 100,
          max_action_duration: 300_000,
        });
        expect(Object.keys(info.runtimes)).toEqual(["nodejs"]);
        const nodejs = info.runtimes.nodejs!;
        expect(nodejs.map((r) => r.kind)).toEqual(kinds);
        expect(nodejs.find((r) => r.default)?.kind).toBe(std);
        for (const r of nodejs) expect(Object.keys(r).sort()).toEqual(["attached", "default", "deprecated", "image", "kind", "requireMain"]);
      });
    }
  });

  it("refuses an unknown kind with 400 listing the valid ones, and takes nodejs:default", async () => {
    await withEmulator({ profile: "helm" }, async (em) => {
      const code = "function main() { return {}; }";
      expect(await put(em, "a", { kind: "nodejs:20", code })).toEqual({
        status: 400,
        body: expect.objectContaining({ error: "The specified runtime 'nodejs:20' is not supported by this platform. Valid values are: 'nodejs:14', 'nodejs:16'." }),
      });
      expect((await put(em, "b", { kind: "nodejs:default", code })).status).toBe(200);
    });
  });

  it("allows action concurrency 1..1 on stock deployments, worded as each release words it", async () => {
    const code = "function main() { return {}; }";
    await withEmulator({ profile: "helm" }, async (em) => {
      expect((await put(em, "a", { kind: "nodejs:14", code }, { concurrency: 4 })).body.error).toBe("The request content was malformed:\nrequirement failed: concurrency 4 out of [1, 1]");
    });
    await withEmulator({}, async (em) => {
      expect((await put(em, "a", { kind: "nodejs:20", code }, { concurrency: 4 })).body.error).toBe("concurrency 4 exceeds allowed threshold of 1");
      expect((await put(em, "b", { kind: "nodejs:20", code }, { concurrency: 1 })).status).toBe(200);
    });
  });

  it("the container refuses a second simultaneous /run with 403 System not ready unless the invokers allow it", async () => {
    await withEmulator({ profile: "custom", allowConcurrent: false, invocationsPerMinute: 1000 }, async (em) => {
      const code = "async function main(p) { await new Promise((r) => setTimeout(r, 300)); return { ok: true }; }";
      expect((await put(em, "slow", { kind: "nodejs:20", code }, { concurrency: 2 })).status).toBe(200);
      const call = () => fetch(`${em.url}/api/v1/namespaces/_/actions/slow?blocking=true`, { method: "POST", headers: { "content-type": "application/json", authorization: basic(em.auth) }, body: "{}" });
      await call(); // a warm container, so that both of the next two land in it
      const answers = await Promise.all([call(), call()]);
      const bodies = (await Promise.all(answers.map((r) => r.json()))) as { response?: { status?: string; result: { error?: string } } }[];
      const refused = bodies.filter((b) => b.response?.status === "action developer error");
      expect(refused.map((b) => b.response?.result.error)).toEqual(["System not ready, status is running."]);
    });
  });

  it("takes away the globals an older kind's Node.js lacks (no fetch on nodejs:14)", async () => {
    await withEmulator({ profile: "helm" }, async (em) => {
      const code = "function main() { return { fetch: typeof fetch, abort: typeof AbortController, clone: typeof structuredClone }; }";
      expect((await put(em, "g", { kind: "nodejs:14", code })).status).toBe(200);
      const res = await fetch(`${em.url}/api/v1/namespaces/_/actions/g?blocking=true&result=true`, { method: "POST", headers: { "content-type": "application/json", authorization: basic(em.auth) }, body: "{}" });
      expect(await res.json()).toEqual({ fetch: "undefined", abort: "undefined", clone: "undefined" });
    });
  });
});

describe("the backend on each deployment", () => {
  it("apache/openwhisk defaults: picks nodejs:20, builds for Node 20, deploys without the API key", async () => {
    await withEmulator({}, async (em) => {
      const backend = backendFor(em, { keep: true });
      try {
        const { output } = await run(conformanceJob, { tasks: echo(2) }, { backend, concurrency: 2 });
        expect(values(output)).toEqual([0, 1]);
        expect(backend.platform.deployment).toMatchObject({ kind: "nodejs:20", nodeMajor: 20, memory: 256, actionTimeoutMs: 300_000 });
        const res = await fetch(`${em.url}/api/v1/namespaces/_/actions`, { headers: { authorization: basic(em.auth) } });
        const [action] = (await res.json()) as { exec: { kind: string }; annotations: { key: string; value: unknown }[] }[];
        expect(action!.exec.kind).toBe("nodejs:20");
        expect(action!.annotations).toContainEqual({ key: "provide-api-key", value: false });
      } finally {
        await backend.dispose();
      }
    });
  });

  it("the Helm chart: pi with default settings runs on its newest kind, nodejs:16; nodejs:default and nodejs:14 build for Node 14", async () => {
    await withEmulator({ profile: "helm" }, async (em) => {
      const backend = backendFor(em);
      try {
        // Exactly one activation per task is counted below: no backup of a task slowed by its cold start.
        const { output } = await run(pi, { points: 4_000_000, seed: 7, kernel: "wasm" }, { backend, tasks: 4, concurrency: 4, backupTasks: false });
        expect((output as PiOutput).points).toBe(4_000_000);
        expect(backend.platform.deployment).toMatchObject({ kind: "nodejs:16", nodeMajor: 16 });
        expect(em.stats.byStatus.success).toBe(4);
      } finally {
        await backend.dispose();
      }
      for (const kind of ["nodejs:default", "nodejs:14"]) {
        const b = backendFor(em, { kind });
        try {
          const { output } = await run(pi, { points: 1_000_000, seed: 7, kernel: "wasm" }, { backend: b, tasks: 2, concurrency: 2 });
          expect((output as PiOutput).points).toBe(1_000_000);
          expect(b.platform.deployment).toMatchObject({ kind, nodeMajor: 14 });
          expect(b.platform.entry.nodeTarget).toBe("node14");
        } finally {
          await b.dispose();
        }
      }
    });
  });

  it("refuses a kind the deployment does not offer before deploying, listing the valid ones", async () => {
    await withEmulator({ profile: "helm" }, async (em) => {
      const backend = backendFor(em, { kind: "nodejs:20" });
      const err = await failure(run(conformanceJob, { tasks: echo(1) }, { backend }));
      expect(err.code).toBe("BACKEND_CONFIG");
      expect(err.message).toBe("openwhisk: this deployment does not offer --kind nodejs:20: its Node.js kinds are nodejs:14, nodejs:16, nodejs:default");
      expect(em.stats.requests).toBe(1); // the info document, and nothing deployed
      await backend.dispose();
    });
  });

  it("refuses a deployment whose Node.js kinds are all older than Node 14 (the old OpenShift template) before deploying", async () => {
    await withEmulator({ kinds: [{ kind: "nodejs:6" }, { kind: "nodejs:8", default: true }] }, async (em) => {
      const backend = backendFor(em);
      const err = await failure(run(conformanceJob, { tasks: echo(1) }, { backend }));
      expect(err.message).toBe("openwhisk: kind nodejs:8 runs Node.js 8, older than Node.js 14, the oldest the action's bundle can run on");
      expect(err.hint).toMatch(/nodejs:6, nodejs:8, nodejs:default/);
      expect(em.actions.size).toBe(0);
      await backend.dispose();
    });
  });

  it("refuses memory and time limits outside the deployment's bounds before deploying, naming the limit", async () => {
    await withEmulator({}, async (em) => {
      const memory = backendFor(em, { memory: 1024 });
      const m = await failure(run(conformanceJob, { tasks: echo(1) }, { backend: memory }));
      expect(m.message).toBe("openwhisk: --memory 1024 MB is outside this deployment's action limits (128 MB to 512 MB, from its info document)");
      expect(m.hint).toMatch(/max_action_memory/);
      const timeout = backendFor(em, { actionTimeout: 600 });
      const t = await failure(run(conformanceJob, { tasks: echo(1) }, { backend: timeout }));
      expect(t.message).toBe("openwhisk: --action-timeout 600 s is outside this deployment's action limits (0.1 s to 300 s, from its info document)");
      expect(em.actions.size).toBe(0);
      await Promise.all([memory.dispose(), timeout.dispose()]);
    });
  });

  it("a refused action concurrency is one clear error that names __OW_ALLOW_CONCURRENT", async () => {
    await withEmulator({ profile: "helm" }, async (em) => {
      const backend = backendFor(em, { actionConcurrency: 4 });
      const err = await failure(run(conformanceJob, { tasks: echo(1) }, { backend }));
      expect(err.message).toBe("openwhisk: this deployment refused --action-concurrency 4 (HTTP 400: The request content was malformed:\nrequirement failed: concurrency 4 out of [1, 1])");
      expect(err.hint).toMatch(/__OW_ALLOW_CONCURRENT=true/);
      await backend.dispose();
    });
  });

  it("concurrency allowed by the controller but not by the invokers fails at once as that configuration error", async () => {
    await withEmulator({ profile: "custom", allowConcurrent: false }, async (em) => {
      const backend = backendFor(em, { actionConcurrency: 4 });
      const err = await failure(run(conformanceJob, { tasks: echo(4, 200) }, { backend, concurrency: 4, ...fast }));
      expect(err.message).toMatch(/refused by its container \("System not ready, status is running\."\): .* __OW_ALLOW_CONCURRENT=true\); use --action-concurrency 1/);
      await backend.dispose();
    });
  });
});

describe("front proxies and long activations", () => {
  // Time scale 1/100: a 4-minute task behind an OpenShift route's 30 s becomes 2.4 s behind 300 ms.
  const scale = 1 / 100;
  const route = { frontProxyTimeoutMs: 30_000 * scale, invocationsPerMinute: 1000 };
  const longTask = echo(2, 240_000 * scale);

  it("a long task succeeds behind a short front proxy: answered 202 below its limit, polled, never re-invoked", async () => {
    await withEmulator(route, async (em) => {
      const backend = backendFor(em, { proxyTimeout: 30 * scale });
      try {
        const { output, report } = await run(conformanceJob, { tasks: longTask }, { backend, concurrency: 2 });
        expect(values(output)).toEqual([0, 1]);
        expect(report.tasks.flatMap((t) => t.errors ?? [])).toEqual([]);
        expect(report.tasks.map((t) => t.attempts)).toEqual([1, 1]);
        expect(em.stats.cut ?? 0).toBe(0);
        expect(em.stats.accepted).toBe(2);
      } finally {
        await backend.dispose();
      }
    });
  });

  it("a 408 or a 504 from a proxy is retried", async () => {
    await withEmulator({ invocationsPerMinute: 1000 }, async (em) => {
      const backend = backendFor(em);
      try {
        em.failNext(1, { status: 408 });
        em.failNext(1, { status: 504 });
        const { output, report } = await run(conformanceJob, { tasks: echo(1) }, { backend, ...fast });
        expect(values(output)).toEqual([0]);
        expect(report.tasks[0]!.errors!.map((e) => e.message)).toEqual(["openwhisk system error (HTTP 408): Internal server error", "openwhisk system error (HTTP 504): Gateway Timeout"]);
      } finally {
        await backend.dispose();
      }
    });
  });

  it("without the front proxy's limit, the proxy cuts the blocking invocations with 504s (what the flag prevents)", async () => {
    await withEmulator(route, async (em) => {
      const backend = backendFor(em);
      try {
        const err = await failure(run(conformanceJob, { tasks: longTask.slice(0, 1) }, { backend, retries: 1, ...fast }));
        expect(err.message).toMatch(/openwhisk system error \(HTTP 504\): Gateway Timeout/);
        expect(em.stats.cut).toBeGreaterThan(0);
      } finally {
        await backend.dispose();
      }
    });
  });
});

describe("endpoints that are not a working controller", () => {
  let hanging: ReturnType<typeof createTcpServer>;
  let html: Server;
  const sockets = new Set<Socket>();
  let hangingUrl: string;
  let htmlUrl: string;
  beforeAll(async () => {
    hanging = createTcpServer((s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    html = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!DOCTYPE html><html><head><title>Welcome</title></head><body>It works!</body></html>");
    });
    await Promise.all([new Promise<void>((r) => hanging.listen(0, "127.0.0.1", r)), new Promise<void>((r) => html.listen(0, "127.0.0.1", r))]);
    hangingUrl = `http://127.0.0.1:${(hanging.address() as { port: number }).port}`;
    htmlUrl = `http://127.0.0.1:${(html.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all([new Promise((r) => hanging.close(r)), new Promise((r) => html.close(r))]);
  });
  const options = (apihost: string) => ({ apihost, auth: "a:b", namespace: "_", wskprops: "/dev/null", env: {} });

  it("an endpoint that accepts connections and never answers fails within --request-timeout with a clear error", async () => {
    const { OpenWhiskBackend } = await import("../src/index.js");
    const backend = new OpenWhiskBackend({ ...options(hangingUrl), requestTimeout: 0.5 });
    const err = await failure(run(conformanceJob, { tasks: echo(1) }, { backend }));
    expect(err.code).toBe("BACKEND_CONFIG");
    expect(err.message).toBe(`openwhisk: ${hangingUrl}/ accepted the connection but did not answer within 0.5 s while reading the controller's info document (GET /)`);
    await backend.dispose();
  });

  it("a cancelled run stops waiting on a hanging endpoint at once", async () => {
    const { OpenWhiskBackend } = await import("../src/index.js");
    const backend = new OpenWhiskBackend(options(hangingUrl));
    const ac = new AbortController();
    const p = failure(run(conformanceJob, { tasks: echo(1) }, { backend, signal: ac.signal }));
    while (sockets.size === 0) await new Promise((r) => setTimeout(r, 10));
    ac.abort(new SuperfaasError("CANCELLED", "cancelled by the test", ""));
    expect((await p).code).toBe("CANCELLED");
    await backend.dispose();
  });

  it("a web page answering 200 is recognised as not an OpenWhisk controller", async () => {
    const { OpenWhiskBackend } = await import("../src/index.js");
    const backend = new OpenWhiskBackend(options(htmlUrl));
    const err = await failure(run(conformanceJob, { tasks: echo(1) }, { backend }));
    expect(err.message).toBe(`openwhisk: ${htmlUrl}/ answered GET / with an HTML page "Welcome" (HTTP 200), not the controller's JSON: it is not an OpenWhisk API host`);
    await backend.dispose();
  });
});

describe("throttling that ends", () => {
  it("fails after throttleTimeoutMs of nothing but 429s with one error naming the limit and how to raise it", async () => {
    await withEmulator({}, async (em) => {
      const backend = backendFor(em);
      await run(conformanceJob, { tasks: echo(1) }, { backend }); // deployed
      em.throttleNext(100_000, { reason: "minute" });
      const err = await failure(run(conformanceJob, { tasks: echo(2) }, { backend, concurrency: 2, throttleTimeoutMs: 1_000, ...fast }));
      expect(err.code).toBe("THROTTLED");
      expect(err.message).toMatch(/^openwhisk refused every invocation for load for [\d.]+ s, longer than throttleTimeoutMs 1000 \(last answer: openwhisk throttled the invocation: /);
      expect(err.hint).toBe(
        "raise the namespace's 60 invocations a minute (actions_per_minute; WHISK_ACTIONS_INVOKES_PER_MINUTE on OpenShift; ask the operator), or lower concurrency or tasks",
      );
      await backend.dispose();
    });
  });
});
