// OpenWhisk as a new user meets it, through the real `superfaas` process: the examples with default flags on the
// deployments people run (the emulator's apache/openwhisk and Helm-chart profiles, stock limits: 30 in flight, 60
// invocations a minute), and endpoints that hang. The emulator's per-minute throttle counts by a clock of the test's
// own: a "minute" ends only once the namespace has refused 20 invocations in it, so a default run is throttled as on
// the platform (whatever the machine's speed) without taking minutes.
import { createServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenWhiskEmulator, type OpenWhiskEmulator } from "@superfaas/testing";
import { built, errorLines, notBuilt, signalWhen, superfaas } from "./process.js";

const connect = (em: OpenWhiskEmulator) => ["--backend", "openwhisk", "--apihost", em.url, "--auth", em.auth, "--namespace", em.namespace, "--wskprops", "/dev/null"];
const data = fileURLToPath(new URL("../../../examples/image-classification/test/fixtures", import.meta.url));

for (const profile of ["apache", "helm"] as const) {
  describe.skipIf(!built)(`the examples with default flags on the ${profile} profile${notBuilt}`, () => {
    let em: OpenWhiskEmulator;
    let minute = 0;
    let throttledBefore = 0;
    let tick: ReturnType<typeof setInterval>;
    beforeAll(async () => {
      em = await startOpenWhiskEmulator({ profile, clock: () => minute * 60_000 });
      tick = setInterval(() => {
        if (em.stats.throttled - throttledBefore < 20) return;
        throttledBefore = em.stats.throttled;
        minute++;
      }, 50);
    });
    afterAll(async () => {
      clearInterval(tick);
      await em?.close();
    });

    it("pi with default flags: planned from the info document (30 in flight, 60 tasks), so no invocation is throttled", async () => {
      const r = await superfaas(["run", "pi", "--points", "2e7", ...connect(em)]);
      expect(errorLines(r.stderr)).toEqual([]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/60 tasks/);
      expect(em.stats.accepted).toBe(60);
      expect(em.stats.throttled).toBe(0);
      expect(r.stderr).not.toMatch(/throttl|retrying/);
    });

    it("pi with 150 tasks through a 60-a-minute namespace: completes, with one line about throttling, no line per 429", async () => {
      const r = await superfaas(["run", "pi", "--points", "2e7", "--tasks", "150", ...connect(em)]);
      expect(errorLines(r.stderr)).toEqual([]);
      expect(r.code).toBe(0);
      expect(em.stats.throttled).toBeGreaterThan(0);
      expect(r.stderr.match(/throttling invocations/g)).toHaveLength(1);
      expect(r.stderr).not.toMatch(/retrying task/);
      expect(r.stderr.split("\n").length).toBeLessThan(30);
    });

    // On the Helm chart also on its oldest kind, nodejs:14, whose containers have no global fetch.
    for (const kind of profile === "helm" ? [[], ["--kind", "nodejs:14"]] : [[]]) {
      it(`image classification${kind.length ? ` with ${kind.join(" ")}` : ""}`, async () => {
        const r = await superfaas(["run", "image-classification", "--images", "300", "--data", data, "--tasks", "4", ...connect(em), ...kind]);
        expect(errorLines(r.stderr)).toEqual([]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/accuracy/i);
      });
    }
  });
}

describe.skipIf(!built)(`an endpoint that accepts connections and never answers${notBuilt}`, () => {
  let server: ReturnType<typeof createServer>;
  const sockets = new Set<Socket>();
  /** Connections accepted so far. */
  let accepted = 0;
  let url: string;
  beforeAll(async () => {
    server = createServer((s) => {
      accepted++;
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  const flags = () => ["--backend", "openwhisk", "--apihost", url, "--auth", "a:b", "--wskprops", "/dev/null"];

  it("fails within --request-timeout with one line naming the endpoint and the bound", async () => {
    const r = await superfaas(["run", "pi", "--points", "1e6", ...flags(), "--request-timeout", "1"]);
    expect(errorLines(r.stderr)).toEqual([
      `error[BACKEND_CONFIG]: openwhisk: ${url}/ accepted the connection but did not answer within 1 s while reading the controller's info document (GET /) — check --apihost (a firewall or a proxy that swallows requests looks like this); --request-timeout sets this bound`,
    ]);
    expect(r.code).toBe(2);
  });

  it("the first Ctrl-C (SIGINT) ends the wait at once", async () => {
    const before = accepted;
    // Once this process is waiting on the endpoint (its first request is in).
    const signal = signalWhen(() => accepted !== before, "SIGINT");
    const r = await superfaas(["run", "pi", "--points", "1e6", ...flags()], { onStart: signal.onStart });
    expect(signal.sent).toBe(true);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[CANCELLED\]/)]);
    expect(r.code).toBe(130);
  });
});
