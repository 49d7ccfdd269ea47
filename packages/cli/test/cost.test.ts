// `superfaas cost`, end to end through the real CLI process against the loopback Lambda and OpenWhisk servers: each
// configuration deployed with its memory and architecture, the billed durations the platforms reported (REPORT lines,
// activation records) priced exactly, a configuration over the platform's memory limit refused with the platform's
// message while the others run, and Ctrl-C leaving nothing deployed.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAMBDA_PRICING } from "@superfaas/backend-lambda";
import { parseReportDocument, type ReportDocument } from "@superfaas/report";
import { startLambdaEmulator, startOpenWhiskEmulator, TEST_ROLE, type LambdaEmulator, type OpenWhiskEmulator } from "@superfaas/testing";
import { built, errorLines, notBuilt, signalWhen, superfaas } from "./process.js";
import { capture } from "./helpers.js";
import { main } from "../src/main.js";

const sumJob = fileURLToPath(new URL("./fixtures/sum-job.ts", import.meta.url));

describe.skipIf(!built)(`superfaas cost against the loopback servers${notBuilt}`, () => {
  let lambda: LambdaEmulator;
  let ow: OpenWhiskEmulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    // An account held at 3,008 MB, as new AWS accounts are: 4,096 MB is refused by the platform, not by superfaas.
    [lambda, ow] = await Promise.all([startLambdaEmulator({ pendingMs: 50, updateMs: 50, maxEnvironments: 8, maxMemoryMb: 3008 }), startOpenWhiskEmulator({})]);
    dir = await mkdtemp(join(tmpdir(), "superfaas-cost-"));
    env = { ...process.env, AWS_ACCESS_KEY_ID: lambda.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: lambda.credentials.secretAccessKey, AWS_PROFILE: "", AWS_REGION: lambda.region };
    delete env.AWS_PROFILE;
  });

  afterAll(async () => {
    await Promise.allSettled([lambda?.close(), ow?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const lambdaFlags = () => ["--backend", "lambda", "--region", lambda.region, "--endpoint", lambda.endpoint, "--role", TEST_ROLE];

  it("lambda: deploys each memory × architecture, prices the REPORT lines' billed durations, refuses 4096 MB with Lambda's message, leaves nothing", async () => {
    const seen = new Set<string>();
    const watch = setInterval(() => {
      for (const name of lambda.functionNames()) {
        const f = lambda.getFunction(name) as { MemorySize: number; Architectures: string[] } | undefined;
        if (f) seen.add(`${f.MemorySize} ${f.Architectures[0]}`);
      }
    }, 10);
    const billedBefore = lambda.stats.billedMs;
    const report = join(dir, "lambda");
    const r = await superfaas(
      ["cost", sumJob, ...lambdaFlags(), "--memory", "128,1024,4096", "--arch", "x86_64,arm64", "--n", "6000", "--slow", "150", "--tasks", "6", "--sample", "2", "--report", report, "--json"],
      { env },
    ).finally(() => clearInterval(watch));
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    const doc = parseReportDocument(JSON.parse(r.stdout)) as Extract<ReportDocument, { kind: "cost" }>;
    const cost = doc.cost;
    expect(cost.configurations.map((c) => `${c.label}: ${c.status}`)).toEqual([
      "128 MB x86_64: succeeded",
      "1024 MB x86_64: succeeded",
      "4096 MB x86_64: refused",
      "128 MB arm64: succeeded",
      "1024 MB arm64: succeeded",
      "4096 MB arm64: refused",
    ]);
    // The function of each configuration was deployed with its settings; 4096 MB never was.
    expect([...seen].sort()).toEqual(["1024 arm64", "1024 x86_64", "128 arm64", "128 x86_64"]);
    for (const c of cost.configurations.filter((c) => c.status === "refused")) {
      expect(c.error!.message).toContain("'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to 3008");
    }
    expect(doc.skipped.map((s) => s.backend)).toEqual(["4096 MB x86_64", "4096 MB arm64"]);
    // The same two of six tasks everywhere, whose partials agree.
    expect(cost.totalTasks).toBe(6);
    expect(cost.sampled).toEqual([1, 4]);
    expect(doc.comparison.agree).toBe(true);
    // What was billed is what the REPORT lines said (the emulator sums the same lines), priced by the table.
    const ran = cost.configurations.filter((c) => c.status === "succeeded");
    expect(ran.reduce((s, c) => s + c.measure!.billedMs, 0)).toBe(lambda.stats.billedMs - billedBefore);
    for (const c of ran) {
      const m = c.measure!;
      const p = LAMBDA_PRICING[c.arch as "x86_64" | "arm64"];
      expect(c.price).toEqual(p);
      expect(m.invocations).toBe(2);
      expect(m.billedMs).toBeGreaterThanOrEqual(2 * 150);
      expect(Number.isInteger(m.billedMs)).toBe(true);
      expect(m.costUsd).toBeCloseTo((m.billedMs / 1000) * (c.memoryMb / 1024) * p.gbSecondUsd + 2 * p.requestUsd, 15);
      expect(m.jobCostUsd).toBeCloseTo(m.costUsd! * 3, 15);
    }
    const rec = cost.recommendation;
    expect(rec.basis).toBe("usd");
    expect(ran.map((c) => c.label)).toContain(rec.cheapest);
    expect(ran.map((c) => c.label)).toContain(rec.fastest);
    expect(ran.filter((c) => c.pareto).map((c) => c.label)).toContain(rec.cheapest);
    // Each configuration's function was deleted after its run.
    expect(lambda.functionNames()).toEqual([]);
    for (const f of ["report.html", "report.json", "cost.svg"]) expect(existsSync(join(report, f))).toBe(true);
    expect(await readFile(join(report, "cost.svg"), "utf8")).toContain("<svg");
  });

  it("openwhisk: within the info document's 512 MB, the activation records' durations at the price given, 1024 MB refused", async () => {
    const { apihost, auth, namespace } = ow.clientOptions;
    const prices = join(dir, "prices.json");
    await writeFile(prices, JSON.stringify({ gbSecondUsd: 0.00002, requestUsd: 0.0000001 }));
    const report = join(dir, "openwhisk");
    const r = await superfaas(
      ["cost", sumJob, "--backend", "openwhisk", "--apihost", apihost, "--auth", auth, "--namespace", namespace, "--wskprops", "/dev/null",
        "--memory", "1024,256,128", "--prices", prices, "--n", "300", "--tasks", "3", "--concurrency", "3", "--report", report],
      { env },
    );
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    // The table: one row per configuration, the refusal in the platform's terms, the picks.
    expect(r.stdout).toMatch(/^configuration\s+status/m);
    expect(r.stdout).toMatch(/^128 MB\s+succeeded\s+3 /m);
    expect(r.stdout).toMatch(/^refused 1024 MB: openwhisk: --memory 1024 MB is outside this deployment's action limits \(128 MB to 512 MB, from its info document\)$/m);
    expect(r.stdout).toMatch(/^cheapest: \d+ MB; fastest: \d+ MB; cheapest within 1.25× of the fastest: \d+ MB$/m);
    // Nothing left deployed: the namespace's action list is empty.
    const list = await fetch(`${apihost}/api/v1/namespaces/${encodeURIComponent(namespace)}/actions`, { headers: { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } });
    expect(await list.json()).toEqual([]);
    // Each configuration's activations ran with its memory, and their durations are exactly what was billed and priced.
    const billedByMemory = new Map<number, { ms: number; n: number }>();
    for (const a of ow.activations.values()) {
      const mem = (a.annotations.find((n) => n.key === "limits")!.value as { memory: number }).memory;
      const b = billedByMemory.get(mem) ?? { ms: 0, n: 0 };
      billedByMemory.set(mem, { ms: b.ms + a.duration, n: b.n + 1 });
    }
    expect([...billedByMemory.keys()].sort((a, b) => a - b)).toEqual([128, 256]);
    const doc = parseReportDocument(JSON.parse(await readFile(join(report, "report.json"), "utf8"))) as Extract<ReportDocument, { kind: "cost" }>;
    expect(doc.cost.recommendation.basis).toBe("usd");
    for (const c of doc.cost.configurations.filter((c) => c.status === "succeeded")) {
      const b = billedByMemory.get(c.memoryMb)!;
      expect(c.measure!.billedMs).toBe(b.ms);
      expect(c.measure!.invocations).toBe(b.n);
      expect(c.measure!.gbSeconds).toBeCloseTo((b.ms / 1000) * (c.memoryMb / 1024), 12);
      expect(c.measure!.costUsd).toBeCloseTo((b.ms / 1000) * (c.memoryMb / 1024) * 0.00002 + b.n * 0.0000001, 15);
    }
  });

  it("Ctrl-C during the sweep disposes the configuration running (its invocations still in flight), starts no other, exits 130 with nothing deployed", async () => {
    const { apihost, auth, namespace } = ow.clientOptions;
    let lambdaErr = "";
    let owErr = "";
    const toLambda = signalWhen(() => lambdaErr.includes("configuration 1 of 3") && lambda.environments().some((e) => e.busy), "SIGINT");
    const toOw = signalWhen(() => owErr.includes("configuration 1 of 2") && ow.containers().some((c) => c.running.size > 0), "SIGINT");
    // Both platforms at once: each sweep's first configuration is busy with tasks that sleep 20 s when the signal comes.
    const [l, o] = await Promise.all([
      superfaas(["cost", sumJob, ...lambdaFlags(), "--memory", "128,256,512", "--n", "100", "--slow", "20000", "--tasks", "2"], {
        env,
        onStart: toLambda.onStart,
        onStderr: (text) => (lambdaErr = text),
      }),
      superfaas(
        ["cost", sumJob, "--backend", "openwhisk", "--apihost", apihost, "--auth", auth, "--namespace", namespace, "--wskprops", "/dev/null", "--memory", "128,256", "--n", "100", "--slow", "20000", "--tasks", "2"],
        { env, onStart: toOw.onStart, onStderr: (text) => (owErr = text) },
      ),
    ]);
    for (const [r, sig, second] of [[l, toLambda, "configuration 2 of 3"], [o, toOw, "configuration 2 of 2"]] as const) {
      expect(sig.sent).toBe(true);
      expect(r.code).toBe(130);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[CANCELLED\]/)]);
      expect(r.stderr).not.toContain(second);
    }
    expect(lambda.functionNames()).toEqual([]);
    const list = await fetch(`${apihost}/api/v1/namespaces/${encodeURIComponent(namespace)}/actions`, { headers: { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } });
    expect(await list.json()).toEqual([]);
  });

  it("bad input is one error line before anything is deployed", async () => {
    const created = lambda.stats.calls.CreateFunction ?? 0;
    const cases: [string[], RegExp][] = [
      [["cost", "pi", ...lambdaFlags()], /^error\[BAD_INPUT\]: cost needs the memory sizes to measure — pass --memory/],
      [["cost", "pi", ...lambdaFlags(), "--memory", "128", "--arch", "sparc"], /^error\[BAD_INPUT\]: invalid value "sparc" for --arch — /],
      [["cost", "pi", "--backend", "local", "--memory", "128"], /^error\[BAD_INPUT\]: the local backend has no memory setting to sweep — /],
      [["cost", "pi", ...lambdaFlags(), "--memory", "128", "--prices", "/nonexistent.json"], /^error\[BAD_INPUT\]: cannot read --prices \/nonexistent.json/],
    ];
    // In this process (main()): the same parsing and the same error lines as the real CLI, without starting one.
    for (const [args, line] of cases) {
      const out = capture();
      const err = capture();
      const code = await main(args, { stdout: out.stream, stderr: err.stream });
      expect(errorLines(err.text)).toEqual([expect.stringMatching(line)]);
      expect(code).toBe(2);
    }
    expect(lambda.stats.calls.CreateFunction ?? 0).toBe(created);
  });
});
