import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// One vitest run covers every package so CI gets a single pass/fail count. Workspace packages resolve to
// their TypeScript sources through the "source" export condition, so tests never need a prior build.
const conditions = ["source", "import", "node", "default"];
// Runs keep journals by default: the tests' go to a folder of this vitest process's own, removed when it exits.
const stateDir = join(tmpdir(), `superfaas-test-state-${process.pid}`);
process.once("exit", () => rmSync(stateDir, { recursive: true, force: true }));
const project = (name: string, root: string, extra: Record<string, unknown> = {}) => ({
  extends: true as const,
  test: { name, root, include: ["test/**/*.test.ts"], ...extra },
});

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["source"] } },
  test: {
    testTimeout: 60_000,
    globalSetup: [fileURLToPath(new URL("./vitest.global-setup.mjs", import.meta.url))],
    // The AWS SDK's notice that its 2027 releases will need Node 22 is not news to these tests.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", XDG_STATE_HOME: stateDir },
    hookTimeout: 120_000,
    projects: [
      project("core", "packages/core"),
      project("backend-local", "packages/backend-local"),
      project("backend-openwhisk", "packages/backend-openwhisk"),
      project("backend-lambda", "packages/backend-lambda"),
      project("cli", "packages/cli"),
      project("report", "packages/report"),
      project("store-s3", "packages/store-s3"),
      project("pi", "examples/pi"),
      project("image-classification", "examples/image-classification"),
      project("wordcount", "examples/wordcount"),
    ],
  },
});
