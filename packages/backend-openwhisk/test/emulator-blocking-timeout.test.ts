// The blocking wait as the controller enforces it (apache/openwhisk Actions.scala `stringToFiniteDuration`): a
// `timeout` query parameter from 1 to the configured maximum (max-wait-for-blocking-activation, 60 s by default) is the
// wait; anything else is refused with 400 before an activation is made, never clamped.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenWhiskEmulator, type OpenWhiskEmulator } from "@superfaas/testing";

const SLEEPER = "async function main(p) { await new Promise((r) => setTimeout(r, p.ms)); return { slept: p.ms }; }";

describe("OpenWhisk emulator: the blocking invocation's timeout parameter", () => {
  let em: OpenWhiskEmulator;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${em.url}/api/v1/namespaces/_/${path}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from(em.auth).toString("base64")}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as { error?: string; activationId?: string; response?: { result: unknown } } };
  };
  beforeAll(async () => {
    em = await startOpenWhiskEmulator({ blockingWindowMs: 2_000 });
    expect((await call("PUT", "actions/sleeper?overwrite=true", { exec: { kind: "nodejs:20", code: SLEEPER } })).status).toBe(200);
  });
  afterAll(async () => {
    await em?.close();
  });

  it("refuses a timeout above the configured maximum, zero, or not an integer with the controller's 400, and makes no activation", async () => {
    const expected = "The query parameter 'timeout' was malformed:\nTimeout must be number of milliseconds up to 2000.";
    for (const timeout of ["2001", "60000", "0", "-5", "1.5", "soon"]) {
      const r = await call("POST", `actions/sleeper?blocking=true&timeout=${timeout}`, { ms: 0 });
      expect({ timeout, status: r.status, error: r.body.error }).toEqual({ timeout, status: 400, error: expected });
    }
    // Also without blocking: the parameter is read whatever `blocking` says.
    expect((await call("POST", "actions/sleeper?timeout=5000", { ms: 0 })).status).toBe(400);
    expect(em.stats.accepted).toBe(0);
  });

  it("waits the given timeout up to the maximum: 202 once it runs out, the record when the activation ends first", async () => {
    const cut = await call("POST", "actions/sleeper?blocking=true&timeout=200", { ms: 1_000 });
    expect(cut.status).toBe(202);
    expect(typeof cut.body.activationId).toBe("string");
    const whole = await call("POST", "actions/sleeper?blocking=true&timeout=2000&result=true", { ms: 100 });
    expect(whole).toEqual({ status: 200, body: { slept: 100 } });
  });
});
