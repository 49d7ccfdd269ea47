// The CLI loads a cloud adapter (and the AWS SDK) only when a backend of that cloud is created: listing backends,
// parsing flags and running on the local backend never load them (they cost a few hundred ms of every start).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { built, notBuilt, superfaas } from "./process.js";

const register = fileURLToPath(new URL("./fixtures/module-log/register.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "superfaas-lazy-"));

/** Runs the CLI with every resolved module logged; returns its exit code and the modules it resolved. */
async function modulesOf(name: string, args: string[]) {
  const log = join(dir, `${name}.log`);
  const r = await superfaas(args, { env: { ...process.env, NODE_OPTIONS: `--import ${register}`, SUPERFAAS_MODULE_LOG: log, SUPERFAAS_STATE_DIR: dir } });
  const urls = readFileSync(log, "utf8").split("\n").filter(Boolean);
  return { code: r.code, stderr: r.stderr, urls };
}
const aws = (urls: string[]) => urls.filter((u) => u.includes("/@aws-sdk/"));
/** The adapter proper (its backend and platform), not the light descriptor and price table the CLI reads. */
const adapter = (urls: string[], pkg: string) => urls.filter((u) => u.includes(`/${pkg}/`) && /\/(backend|platform)\.js$/.test(u));

describe.skipIf(!built)(`cloud backends load lazily${notBuilt}`, () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("`superfaas backends` and a run on the local backend load no cloud adapter and no AWS SDK", async () => {
    const listed = await modulesOf("backends", ["backends"]);
    expect(listed.code).toBe(0);
    // The log works: the CLI's own modules are in it.
    expect(listed.urls.some((u) => u.endsWith("/cli/dist/main.js"))).toBe(true);
    expect(aws(listed.urls)).toEqual([]);
    const ran = await modulesOf("local", ["run", "pi", "--backend", "local", "--points", "1e6", "--tasks", "2", "--no-journal", "--json"]);
    expect(ran.stderr).toBe("");
    expect(ran.code).toBe(0);
    expect(aws(ran.urls)).toEqual([]);
    expect(adapter(ran.urls, "backend-lambda/dist")).toEqual([]);
    expect(adapter(ran.urls, "backend-openwhisk/dist")).toEqual([]);
  });

  it("a Lambda backend loads its adapter when created (the descriptor's factory)", async () => {
    // No credentials or endpoint: creating the backend is enough to load it, then the run fails as misconfigured.
    const r = await modulesOf("lambda", ["run", "pi", "--backend", "lambda", "--region", "us-east-1", "--endpoint", "http://127.0.0.1:9", "--points", "1e6", "--no-journal"]);
    expect(r.code).not.toBe(0);
    expect(adapter(r.urls, "backend-lambda/dist").length).toBeGreaterThan(0);
    expect(aws(r.urls).length).toBeGreaterThan(0);
  });
});
