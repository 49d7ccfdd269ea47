import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SuperfaasError } from "./errors.js";
import type { JobRef } from "./backend.js";

/** A single-file function made from a job module, named by the hash of its content. */
export interface Bundle {
  path: string;
  /** Hex SHA-256 of the code: an unchanged job gives the same hash, so backends can skip redeploying. */
  hash: string;
  code: string;
  format: "esm" | "cjs";
}

/** What a backend asks of `bundleJob`. */
export interface BundleOptions {
  job: JobRef;
  /** Names the platform in file names and hashes: "local", "openwhisk", "lambda". */
  target: string;
  /**
   * The function's entry source: a few lines that import the job and the runtime and export the platform's
   * handler. `JOB_MODULE`, `CORE_RUNTIME` and `JOB_NAME` are replaced by the job module's path, the runtime's
   * path and the job's name as JSON strings.
   */
  entry: string;
  format: "esm" | "cjs";
  /** Where bundles are cached; defaults to `$TMPDIR/superfaas/bundles`. */
  cacheDir?: string;
  /** Node.js version the platform runs, e.g. "node20". */
  nodeTarget?: string;
}

/** The runtime module that entries import (`TaskPayload` handling, error envelopes). */
export function runtimeModulePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const js = join(here, "runtime.js");
  return existsSync(js) ? js : join(here, "runtime.ts");
}

/** Bundles a job's remote side into one file with esbuild (TypeScript sources welcome) and caches it by content hash. */
export async function bundleJob(opts: BundleOptions): Promise<Bundle> {
  if (!existsSync(opts.job.modulePath)) {
    throw new SuperfaasError("MODULE_NOT_FOUND", `job module not found: ${opts.job.modulePath}`, "check the path of the job module");
  }
  const contents = opts.entry
    .replaceAll("JOB_MODULE", JSON.stringify(opts.job.modulePath))
    .replaceAll("CORE_RUNTIME", JSON.stringify(runtimeModulePath()))
    .replaceAll("JOB_NAME", JSON.stringify(opts.job.jobName));
  let code: string;
  try {
    // Loaded lazily so job bundles that import @superfaas/core never pull esbuild in (it is external there).
    const { build } = await import("esbuild");
    const result = await build({
      stdin: { contents, resolveDir: dirname(opts.job.modulePath), sourcefile: `superfaas-${opts.target}-entry.js`, loader: "js" },
      bundle: true,
      write: false,
      platform: "node",
      format: opts.format,
      target: opts.nodeTarget ?? "node20",
      conditions: ["source"],
      mainFields: ["module", "main"],
      external: ["esbuild", "fflate"],
      legalComments: "none",
      logLevel: "silent",
      // ESM bundles of CommonJS dependencies need a real `require` for Node built-ins.
      ...(opts.format === "esm"
        ? { banner: { js: "import { createRequire as __sfCreateRequire } from 'node:module'; const require = __sfCreateRequire(import.meta.url);" } }
        : {}),
    });
    code = result.outputFiles[0]!.text;
  } catch (err) {
    const first = (err as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors?.[0];
    const where = first?.location ? ` (${first.location.file}:${first.location.line})` : "";
    throw new SuperfaasError(
      "BUNDLE_FAILED",
      `could not bundle job module ${opts.job.modulePath}: ${first?.text ?? (err as Error).message}${where}`,
      "make sure the module and its imports build (try `npx esbuild --bundle <module>`)",
      { cause: err },
    );
  }
  const hash = createHash("sha256").update(opts.target).update("\0").update(code).digest("hex");
  const dir = opts.cacheDir ?? join(tmpdir(), "superfaas", "bundles");
  const path = join(dir, `${opts.target}-${opts.job.jobName}-${hash.slice(0, 16)}.${opts.format === "esm" ? "mjs" : "cjs"}`);
  if (!existsSync(path) || (await readFile(path, "utf8")) !== code) {
    await mkdir(dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, code);
    await rename(tmp, path); // atomic: concurrent runs never see half a file
  }
  return { path, hash, code, format: opts.format };
}

/** Packs a bundle as a zip holding `fileName` (and a package.json naming it as main), as function platforms take code. */
export async function zipBundle(bundle: Bundle, fileName: string): Promise<Uint8Array> {
  const { zipSync, strToU8 } = await import("fflate");
  // A fixed timestamp keeps the zip, and so the platform's code hash, identical for identical code.
  const mtime = new Date("2020-01-01T00:00:00Z");
  return zipSync(
    {
      [fileName]: [strToU8(bundle.code), { mtime }],
      "package.json": [strToU8(JSON.stringify({ name: "superfaas-function", main: fileName, private: true })), { mtime }],
    },
    { level: 6 },
  );
}
