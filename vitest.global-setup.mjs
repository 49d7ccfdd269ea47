// Before any test: packages whose dist is missing or older than their sources are rebuilt (turbo, cached), so the
// tests of the real CLI process never run old code; when the build fails, the run stops here with the reason.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stampPath, staleBuilds } from "./scripts/dist-freshness.mjs";

export default function setup() {
  const root = dirname(fileURLToPath(import.meta.url));
  const stale = staleBuilds(root);
  if (stale.length === 0) return;
  process.stderr.write(`vitest setup: rebuilding ${stale.join(", ")} (dist older than src)\n`);
  const turbo = join(root, "node_modules", ".bin", "turbo");
  const r = spawnSync(turbo, ["run", "build", "--output-logs=errors-only"], { cwd: root, stdio: ["ignore", 2, 2], env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" } });
  if (r.status !== 0) {
    throw new Error(`the build of ${stale.join(", ")} failed (${r.error?.message ?? `exit ${r.status}`}): fix it (\`pnpm exec turbo run build\`) — the CLI tests would otherwise run old code`);
  }
  writeFileSync(stampPath(root), `${new Date().toISOString()}\n`);
}
