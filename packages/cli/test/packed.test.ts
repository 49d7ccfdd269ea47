// superfaas as a user gets it: every package packed with pnpm, the tarballs installed with npm into a fresh folder
// outside the workspace, and the README's library example, a job that imports a backend, and the CLI run there.
// In the workspace the "source" export condition sends the job bundler to src/*.ts; installed packages ship only
// dist/, so this is the one place that proves their manifests and dist/ work on their own.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const require = createRequire(import.meta.url);

/** The workspace's publishable packages: every folder under packages/ and examples/ with a package.json not marked private. */
const packageDirs = ["packages", "examples"].flatMap((group) =>
  readdirSync(join(root, group))
    .map((name) => join(root, group, name))
    .filter((dir) => existsSync(join(dir, "package.json")) && JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).private !== true),
);
const manifests = packageDirs.map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest }));
interface Manifest {
  name: string;
  exports: Record<string, unknown>;
  publishConfig?: { exports?: Record<string, unknown> };
}

const has = (cmd: string) => spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
const unbuilt = packageDirs.filter((dir) => !existsSync(join(dir, "dist", "index.js")));
const skipReason = !has("pnpm")
  ? "pnpm is not on PATH"
  : !has("npm")
    ? "npm is not on PATH"
    : unbuilt.length
      ? `not built: ${unbuilt.map((d) => d.slice(root.length)).join(", ")} (\`npm test\` builds them)`
      : "";

// Children must not inherit the npm_* settings of the `npm test` that started vitest (a prefix, a workspace).
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== "INIT_CWD"));

function sh(cmd: string, args: string[], cwd: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...cleanEnv, NO_UPDATE_NOTIFIER: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The body of the README's ```ts block whose first line is `// <file>`. */
function readmeBlock(readme: string, file: string): string {
  const start = readme.indexOf(`\`\`\`ts\n// ${file}\n`);
  if (start < 0) throw new Error(`README.md has no \`\`\`ts block starting with "// ${file}"`);
  const body = readme.slice(start + "```ts\n".length);
  return body.slice(0, body.indexOf("```"));
}

/** The file paths an exports map points at, under every condition. */
const leaves = (v: unknown): string[] => (typeof v === "string" ? [v] : typeof v === "object" && v !== null ? Object.values(v).flatMap(leaves) : []);

/** (n-1)n(2n-1)/6, the sum of i² for 0 <= i < n, in exact integers. */
const sumOfSquaresBelow = (n: bigint) => (((n - 1n) * n * (2n * n - 1n)) / 6n).toString();

describe.skipIf(skipReason !== "")(`packed packages installed outside the workspace${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  let work = "";
  let app = "";
  // Set when npm cannot reach the registry for the packages' third-party dependencies: each test then skips, saying so.
  let offline = "";

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "superfaas-packed-"));
    app = join(work, "app");
    const tarballs = join(work, "tarballs");
    await mkdir(app);
    const filters = packageDirs.flatMap((dir) => ["--filter", `./${dir.slice(root.length)}`]);
    const packed = await sh("pnpm", ["-r", ...filters, "pack", "--pack-destination", tarballs], root);
    expect(packed.code, packed.stderr).toBe(0);
    const files = readdirSync(tarballs).filter((f) => f.endsWith(".tgz"));
    expect(files).toHaveLength(packageDirs.length);
    await writeFile(join(app, "package.json"), `${JSON.stringify({ name: "superfaas-packed-app", private: true, type: "module" }, null, 2)}\n`);
    const install = await sh(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...files.map((f) => join(tarballs, f))],
      app,
    );
    if (install.code !== 0 && /E(NOTFOUND|AI_AGAIN|CONNREFUSED|CONNRESET|TIMEDOUT|NETUNREACH)|network/i.test(install.stderr)) {
      offline = `npm could not reach its registry: ${install.stderr.trim().split("\n")[0]}`;
      return;
    }
    expect(install.code, install.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("installs manifests with no \"source\" condition whose every export target was shipped", async ({ skip }) => {
    if (offline) skip(offline);
    for (const { dir, pkg } of manifests) {
      const installed = JSON.parse(await readFile(join(app, "node_modules", pkg.name, "package.json"), "utf8")) as Manifest;
      // The same entry points as in the workspace, minus the condition that points at unshipped sources.
      expect(Object.keys(installed.exports), pkg.name).toEqual(Object.keys(pkg.exports));
      expect(JSON.stringify(installed.exports), `${pkg.name}: publishConfig.exports must drop "source"`).not.toContain('"source"');
      for (const target of leaves(installed.exports)) {
        expect(existsSync(join(app, "node_modules", pkg.name, target)), `${pkg.name} ships ${target}`).toBe(true);
      }
      const strip = (v: unknown): unknown =>
        typeof v === "object" && v !== null ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== "source").map(([k, x]) => [k, strip(x)])) : v;
      expect(installed.exports, `${dir.slice(root.length)}: publishConfig.exports must equal exports without "source"`).toEqual(strip(pkg.exports));
    }
  });

  it("runs the README's library example and prints the exact sum of squares below 1e7", async ({ skip }) => {
    if (offline) skip(offline);
    const readme = await readFile(join(root, "README.md"), "utf8");
    for (const file of ["sum-of-squares.ts", "run-sum-of-squares.ts"]) {
      const source = await readFile(join(root, "docs", "examples", file), "utf8");
      expect(readmeBlock(readme, file), `README.md's ${file} block must be docs/examples/${file}`).toBe(source);
      await writeFile(join(app, file), source);
    }
    // Compiled as a user would, strictly, against the installed packages' own declarations: the example must typecheck.
    const tsconfig = {
      compilerOptions: {
        strict: true,
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        skipLibCheck: true,
        types: ["node"],
        typeRoots: [dirname(dirname(require.resolve("@types/node/package.json")))],
      },
      files: ["sum-of-squares.ts", "run-sum-of-squares.ts"],
    };
    await writeFile(join(app, "tsconfig.json"), JSON.stringify(tsconfig));
    const tsc = await sh(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.json"], app);
    expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
    const r = await sh(process.execPath, ["run-sum-of-squares.js"], app);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(sumOfSquaresBelow(10_000_000n));
    expect(r.stdout.trim()).toBe("333333283333335000000");
  }, 120_000);

  it("bundles and runs a job module that imports a backend too", async ({ skip }) => {
    if (offline) skip(offline);
    // One file holding the job and the code that runs it: the bundler must resolve @superfaas/backend-local in
    // node_modules, which failed while installed manifests still named the unshipped src/ under "source". The
    // guard keeps the workers, which load this module for map, from starting runs of their own.
    const job = `import { pathToFileURL } from "node:url";
import { defineJob, run, splitRange } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";

export const squares = defineJob({
  name: "squares",
  partition: (input) => splitRange(input.n, 4),
  map: ({ start, count }) => {
    let s = 0;
    for (let i = start; i < start + count; i++) s += i * i;
    return s;
  },
  reduce: (partials) => partials.reduce((a, b) => a + b, 0),
});

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const backend = localBackend({ workers: 2 });
  try {
    console.log((await run(squares, { n: 1000 }, { backend, tasks: 4 })).output);
  } finally {
    await backend.dispose();
  }
}
`;
    await writeFile(join(app, "one-file-job.mjs"), job);
    const r = await sh(process.execPath, ["one-file-job.mjs"], app);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(sumOfSquaresBelow(1000n));
  }, 120_000);

  it("runs `npx superfaas run pi --points 1e7` with the same hits as the workspace, on either kernel", async ({ skip }) => {
    if (offline) skip(offline);
    for (const kernel of ["wasm", "js"]) {
      const r = await sh("npx", ["--no", "superfaas", "run", "pi", "--points", "1e7", "--kernel", kernel], app);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^pi ≈ 3\.14\d+ /);
      // The hit count is a pure function of (points, seed): 7855017 for 1e7 points and seed 42 everywhere.
      expect(r.stdout).toContain(`1.000e+7 points, seed 42, 7855017 hits, kernel ${kernel === "wasm" ? "wasm-simd" : "js"}`);
    }
  }, 120_000);

  it("runs the README's TypeScript job file with `npx superfaas run ./sum-of-squares.ts --n 1e7`", async ({ skip }) => {
    if (offline) skip(offline);
    await writeFile(join(app, "sum-of-squares.ts"), await readFile(join(root, "docs", "examples", "sum-of-squares.ts"), "utf8"));
    const r = await sh("npx", ["--no", "superfaas", "run", "./sum-of-squares.ts", "--n", "1e7", "--tasks", "auto", "--backend", "local"], app);
    expect(r.code, r.stderr).toBe(0);
    // The output comes first, as JSON (a string here), then the run's summary lines.
    expect(r.stdout.split("\n")[0]).toBe(JSON.stringify(sumOfSquaresBelow(10_000_000n)));
  }, 120_000);
});
