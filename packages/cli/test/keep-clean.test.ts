// What `--keep` kept stays, through the real `superfaas` process: `clean --orphans` once removes the finished run's
// journal, and a second time must not take the kept function for an orphan (it carries the kept mark in its owner
// annotation or tags); a killed `--keep` run's function is not deleted by `clean` either. A run without `--keep`
// that was killed is still cleaned, so the mark is what keeps a function, not a blind spot.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLambdaEmulator, startOpenWhiskEmulator, TEST_ROLE, type LambdaEmulator, type OpenWhiskEmulator } from "@superfaas/testing";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

const PI = ["pi", "--points", "2e6", "--tasks", "2", "--concurrency", "2"];

describe.skipIf(!built)(`clean keeps what --keep kept${notBuilt}`, () => {
  let ow: OpenWhiskEmulator;
  let lambda: LambdaEmulator;
  beforeAll(async () => {
    [ow, lambda] = await Promise.all([startOpenWhiskEmulator({}), startLambdaEmulator({ pendingMs: 20, updateMs: 20, maxEnvironments: 2 })]);
  });
  afterAll(async () => {
    await Promise.allSettled([ow?.close(), lambda?.close()]);
  });
  const env = () => ({ ...process.env, AWS_ACCESS_KEY_ID: lambda.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: lambda.credentials.secretAccessKey, AWS_REGION: lambda.region });
  const actions = async () => {
    const { apihost, auth, namespace } = ow.clientOptions;
    const list = (await (await fetch(`${apihost}/api/v1/namespaces/${namespace}/actions`, { headers: { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } })).json()) as { name: string }[];
    return list.map((a) => a.name).sort();
  };

  const cases = [
    {
      name: "openwhisk",
      flags: () => ["--backend", "openwhisk", "--apihost", ow.url, "--auth", ow.auth, "--namespace", ow.namespace, "--wskprops", "/dev/null"],
      functions: actions,
      // Another setting than the first run's, so another function (its settings are hashed into its name).
      other: ["--memory", "320"],
    },
    {
      name: "lambda",
      flags: () => ["--backend", "lambda", "--endpoint", lambda.endpoint, "--region", lambda.region, "--role", TEST_ROLE],
      functions: async () => lambda.functionNames().sort(),
      other: ["--memory", "256"],
    },
  ];

  for (const c of cases) {
    it(`${c.name}: a finished --keep run's function survives clean --orphans run twice, and a killed --keep run's survives clean`, { timeout: 120_000 }, async () => {
      const stateDir = mkdtempSync(join(tmpdir(), "superfaas-state-"));
      const kept = await superfaas(["run", ...PI, "--keep", ...c.flags(), "--state-dir", stateDir], { env: env() });
      expect(errorLines(kept.stderr)).toEqual([]);
      expect(kept.code).toBe(0);
      const [fn] = await c.functions();
      expect(fn).toMatch(/^superfaas-pi-/);
      for (const round of [1, 2]) {
        const clean = await superfaas(["clean", "--orphans", ...c.flags(), "--state-dir", stateDir], { env: env() });
        expect({ round, errors: errorLines(clean.stderr), code: clean.code }).toEqual({ round, errors: [], code: 0 });
        expect(clean.stdout).not.toMatch(/orphan/);
        expect(clean.stdout).toContain(`keeping function ${fn} (kept with --keep by run `);
        expect(await c.functions()).toEqual([fn]);
      }
      expect(readdirSync(join(stateDir, "runs"))).toEqual([]);

      // Killed half way: its journal names the function as not the run's to leave behind.
      const killedDir = mkdtempSync(join(tmpdir(), "superfaas-state-"));
      let killed = false;
      const r = await superfaas(["run", "pi", "--points", "4e8", "--tasks", "8", "--concurrency", "1", ...c.other, "--keep", ...c.flags(), "--state-dir", killedDir], {
        env: env(),
        onStderr: (text, child) => {
          if (!killed && /1\/8 tasks/.test(text)) {
            killed = true;
            child.kill("SIGKILL");
          }
        },
      });
      expect(r.signal).toBe("SIGKILL");
      const functions = await c.functions();
      expect(functions).toHaveLength(2);
      const clean = await superfaas(["clean", ...c.flags(), "--state-dir", killedDir], { env: env() });
      expect(errorLines(clean.stderr)).toEqual([]);
      expect(clean.stdout).toMatch(/removing run \S+ \(interrupted pi on /);
      expect(await c.functions()).toEqual(functions);
      rmSync(stateDir, { recursive: true, force: true });
      rmSync(killedDir, { recursive: true, force: true });
    });
  }

  it("openwhisk: a killed run without --keep is still found by clean --orphans once its journal is gone", { timeout: 120_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "superfaas-state-"));
    const flags = ["--backend", "openwhisk", "--apihost", ow.url, "--auth", ow.auth, "--namespace", ow.namespace, "--wskprops", "/dev/null"];
    const before = await actions();
    let killed = false;
    const r = await superfaas(["run", "pi", "--points", "4e8", "--tasks", "8", "--concurrency", "1", "--memory", "384", ...flags, "--state-dir", stateDir], {
      env: env(),
      onStderr: (text, child) => {
        if (!killed && /1\/8 tasks/.test(text)) {
          killed = true;
          child.kill("SIGKILL");
        }
      },
    });
    expect(r.signal).toBe("SIGKILL");
    const made = (await actions()).filter((a) => !before.includes(a));
    expect(made).toHaveLength(1);
    for (const f of readdirSync(join(stateDir, "runs"))) rmSync(join(stateDir, "runs", f));
    const clean = await superfaas(["clean", "--orphans", ...flags, "--state-dir", stateDir], { env: env() });
    expect(errorLines(clean.stderr)).toEqual([]);
    expect(clean.stdout).toMatch(new RegExp(`removing orphan of run \\S+ \\(no journal here, made .*\\): function ${made[0]}$`, "m"));
    expect(await actions()).toEqual(before);
  });
});
