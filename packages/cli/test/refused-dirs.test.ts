// A state directory or bundle cache that is not private to this user is refused before anything is made in it,
// through the real `superfaas run`: the refusal is one BAD_INPUT line and the folder is left as it was.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { built, errorLines, NOBODY, notBuilt, superfaas } from "./process.js";

const PI = ["run", "pi", "--points", "1e5", "--tasks", "2", "--workers", "1"];
const root = process.getuid?.() === 0;

/** A folder writable by everyone, or (as root) owned by another user; nothing in it. */
function unsafeDir(parent: string, name: string, how: "world-writable" | "another user's"): string {
  const dir = join(parent, name);
  mkdirSync(dir, { mode: 0o700 });
  if (how === "world-writable") chmodSync(dir, 0o777);
  else chownSync(dir, NOBODY, NOBODY);
  return dir;
}

const cases = ["world-writable", ...(root ? ["another user's"] : [])] as const;

describe.skipIf(!built || process.platform === "win32")(`refused folders are left untouched, through the real CLI process${notBuilt}`, () => {
  for (const how of cases) {
    const a = how === "world-writable" ? "a world-writable" : "another user's";
    it(`${a} --state-dir is refused with nothing made in it (no runs/)`, { timeout: 60_000 }, async () => {
      const stateDir = unsafeDir(mkdtempSync(join(tmpdir(), "sf-state-")), "state", how);
      const r = await superfaas([...PI, "--state-dir", stateDir]);
      expect(errorLines(r.stderr)).toEqual([`error[BAD_INPUT]: the state directory ${stateDir} is not private to this user (a link, another user's, or writable by others) — remove it, fix its permissions (chmod 700), or pass --state-dir a folder of your own`]);
      expect(r.code).toBe(2);
      expect(readdirSync(stateDir)).toEqual([]);
    });

    it(`${a} bundle cache folder is refused with nothing made in it (no bundles/)`, { timeout: 60_000 }, async () => {
      const cacheHome = mkdtempSync(join(tmpdir(), "sf-cache-"));
      const cache = unsafeDir(cacheHome, "superfaas", how);
      const r = await superfaas([...PI, "--no-journal"], { env: { ...process.env, XDG_CACHE_HOME: cacheHome } });
      expect(errorLines(r.stderr)).toEqual([`error[BAD_INPUT]: the bundle cache ${cache} is not private to this user (a link, another user's, or writable by others) — remove it, or point XDG_CACHE_HOME at a folder of your own`]);
      expect(r.code).toBe(2);
      expect(readdirSync(cache)).toEqual([]);
    });
  }
});
