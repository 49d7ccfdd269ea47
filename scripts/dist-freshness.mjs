// Tests that spawn the real `superfaas` process run packages/*/dist, not the sources: after an edit, a bare
// `npx vitest run` would test the old code. `staleBuilds` names the packages whose build is missing or older than
// their sources; the vitest global setup (vitest.global-setup.mjs) rebuilds them first, or fails fast saying why.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** The newest modification time (ms) of a file under `dir`, or -1 when it holds none. */
function newest(dir) {
  let max = -1;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop();
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) max = Math.max(max, statSync(p).mtimeMs);
    }
  }
  return max;
}

/**
 * Written after a build that turbo completed: a cache hit leaves dist's files as they were (their sources were
 * touched, not changed), so the stamp, not dist's own times, says that dist matches src as of then.
 */
export const stampPath = (root) => join(root, "node_modules", ".superfaas-built");

/** Packages (folders under `root`'s packages/ and examples/) that build to dist/ whose dist is missing or older than src/. */
export function staleBuilds(root) {
  const stale = [];
  const stamp = existsSync(stampPath(root)) ? statSync(stampPath(root)).mtimeMs : -1;
  for (const group of ["packages", "examples"]) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const pkg = join(base, name);
      const manifest = join(pkg, "package.json");
      if (!existsSync(manifest) || !existsSync(join(pkg, "src"))) continue;
      const builds = /"build"\s*:/.test(readFileText(manifest));
      if (!builds) continue;
      const dist = join(pkg, "dist");
      const src = Math.max(newest(join(pkg, "src")), statSync(manifest).mtimeMs);
      if (!existsSync(dist) || Math.max(newest(dist), stamp) < src) stale.push(`${group}/${name}`);
    }
  }
  return stale;
}

const readFileText = (p) => readFileSync(p, "utf8");
