#!/usr/bin/env node
// Makes a fresh clone runnable: installs pnpm when missing, installs dependencies from the lockfile, and builds
// every package (turbo caches, so a second run takes a second or two). Called by `npm run pi`, `npm test`, `npm run bench`.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const PNPM_VERSION = "10.34.9";
const quiet = process.env.SUPERFAAS_SETUP_QUIET === "1";
const say = (m) => quiet || process.stderr.write(`setup: ${m}\n`);

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`error[BAD_INPUT]: Node.js ${process.versions.node} is too old — install Node.js 20.19 or newer\n`);
  process.exit(2);
}

function has(cmd) {
  return spawnSync(cmd, ["--version"], { stdio: "ignore", shell: process.platform === "win32" }).status === 0;
}

function sh(cmd, args, what) {
  say(what);
  const r = spawnSync(cmd, args, { cwd: root, stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit", env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" } });
  if (r.status !== 0) {
    process.stderr.write(`error[INTERNAL]: setup step failed: ${what} (${cmd} ${args.join(" ")}) — fix the error above and rerun\n`);
    process.exit(r.status ?? 1);
  }
}

if (!has("pnpm")) {
  say(`pnpm not found: installing pnpm@${PNPM_VERSION} with npm`);
  try {
    execFileSync("npm", ["install", "-g", `pnpm@${PNPM_VERSION}`], { stdio: "inherit" });
  } catch {
    sh("corepack", ["enable", "pnpm"], "npm could not install pnpm globally: enabling it through corepack");
  }
}
const stamp = join(root, "node_modules", ".modules.yaml");
if (!existsSync(stamp) || process.env.CI) sh("pnpm", ["install", "--frozen-lockfile", "--prefer-offline"], "installing dependencies (pnpm install)");
sh("pnpm", ["exec", "turbo", "run", "build", "--output-logs=errors-only"], "building packages (turbo run build)");
