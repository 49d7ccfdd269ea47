// The vitest global setup rebuilds packages whose dist/ is older than src/ (so CLI-process tests never run old
// code); this pins down which packages count as stale.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module of the repository's scripts, without type declarations
import { stampPath, staleBuilds } from "../../../scripts/dist-freshness.mjs";

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function workspace(): string {
  const root = mkdtempSync(join(tmpdir(), "superfaas-fresh-"));
  roots.push(root);
  mkdirSync(join(root, "node_modules"));
  return root;
}

function pkg(root: string, path: string, opts: { build?: boolean; src?: number; dist?: number | null }): void {
  const dir = join(root, path);
  mkdirSync(join(dir, "src", "inner"), { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ scripts: opts.build === false ? {} : { build: "tsc" } }));
  utimesSync(join(dir, "package.json"), 1_000, 1_000);
  const file = join(dir, "src", "inner", "index.ts");
  writeFileSync(file, "export {};\n");
  utimesSync(file, opts.src ?? 2_000, opts.src ?? 2_000);
  if (opts.dist !== null) {
    mkdirSync(join(dir, "dist"));
    writeFileSync(join(dir, "dist", "index.js"), "export {};\n");
    utimesSync(join(dir, "dist", "index.js"), opts.dist ?? 3_000, opts.dist ?? 3_000);
  }
}

describe("staleBuilds", () => {
  it("names packages whose dist is missing or older than a nested source, and no others", () => {
    const root = workspace();
    pkg(root, "packages/fresh", {});
    pkg(root, "packages/old", { src: 5_000, dist: 3_000 });
    pkg(root, "examples/unbuilt", { dist: null });
    pkg(root, "packages/no-build-script", { build: false, dist: null });
    expect(staleBuilds(root).sort()).toEqual(["examples/unbuilt", "packages/old"]);
  });

  it("a manifest edited after the build makes its package stale", () => {
    const root = workspace();
    pkg(root, "packages/a", {});
    utimesSync(join(root, "packages/a/package.json"), 9_000, 9_000);
    expect(staleBuilds(root)).toEqual(["packages/a"]);
  });

  it("the stamp of a completed build covers sources touched but left unchanged (a turbo cache hit)", () => {
    const root = workspace();
    pkg(root, "packages/a", { src: 5_000, dist: 3_000 });
    expect(staleBuilds(root)).toEqual(["packages/a"]);
    writeFileSync(stampPath(root), "built\n");
    utimesSync(stampPath(root), 6_000, 6_000);
    expect(staleBuilds(root)).toEqual([]);
    // A package without any dist is stale whatever the stamp says.
    pkg(root, "packages/b", { dist: null });
    expect(staleBuilds(root)).toEqual(["packages/b"]);
  });

  it("the repository itself is fresh once the global setup ran", () => {
    expect(staleBuilds(join(__dirname, "..", "..", ".."))).toEqual([]);
  });
});
