import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SuperfaasError } from "../errors.js";
import { makePrivateDir, userDir } from "../run/user-dirs.js";
import type { JobRef } from "../backend.js";

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
   * Path of the function's entry module: a real module of the backend's package (see `entryModulePath`) that exports
   * the platform's handler and gets the job through `loadBundledJob()` from `@superfaas/core/entry`. Its imports
   * resolve from its own package. Without an entry, the job module itself is bundled (the CLI loads TypeScript jobs so).
   */
  entry?: string;
  format: "esm" | "cjs";
  /**
   * Packages left out of the bundle. An entry imports an optional part (the object store) lazily; leaving it out when
   * the run does not need it keeps the function small, and the import is never reached there.
   */
  external?: string[];
  /** Where bundles are cached; defaults to `defaultCacheDir()`. */
  cacheDir?: string;
  /** Node.js version the platform runs, e.g. "node20". */
  nodeTarget?: string;
}

/** The specifier an entry imports the job module by (see `@superfaas/core/entry`); `bundleJob` binds it. */
export const JOB_SPECIFIER = "superfaas:job";

/**
 * The module `name` beside the module at `url`: its compiled `.js` when there is one, else its `.ts` source (tests
 * run from sources). Backends find their entry modules with it: `entryModulePath(import.meta.url, "worker-entry")`.
 */
export function entryModulePath(url: string, name: string): string {
  const here = dirname(fileURLToPath(url));
  const js = join(here, `${name}.js`);
  return existsSync(js) ? js : join(here, `${name}.ts`);
}

/**
 * This user's bundle cache: `$XDG_CACHE_HOME/superfaas/bundles` (else `~/.cache/...`). Without a home directory it is
 * a folder in the temporary directory named after the user id, which `bundleJob` creates private (mode 0700) and
 * refuses when another user owns it or can write to it, so nobody else can swap a bundle this user will load.
 */
export function defaultCacheDir(): string {
  return userDir("cache", "bundles");
}

/** Creates the cache folder private to this user, or checks that an existing one is (no one else owns or writes it). */
function privateDir(dir: string): void {
  // The folder and its parents up to the first one made for superfaas, checked before anything is made in them.
  makePrivateDir(
    dir,
    (d) => d.includes("superfaas"),
    (d) =>
      new SuperfaasError(
        "BAD_INPUT",
        `the bundle cache ${d} is not private to this user (a link, another user's, or writable by others)`,
        "remove it, or point XDG_CACHE_HOME at a folder of your own",
      ),
  );
}

/** A job or target name as it may appear in a file name: letters, digits, '-', '_' and '.', never a path. */
const safeName = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^\.+/, "_").slice(0, 80) || "_";

/** Bundles a job's remote side into one file with esbuild (TypeScript sources welcome) and caches it by content hash. */
export async function bundleJob(opts: BundleOptions): Promise<Bundle> {
  if (!existsSync(opts.job.modulePath)) {
    throw new SuperfaasError("MODULE_NOT_FOUND", `job module not found: ${opts.job.modulePath}`, "check the path of the job module");
  }
  let code: string;
  try {
    // Loaded lazily so job bundles that import @superfaas/core never pull esbuild in (it is external there).
    const { build } = await import("esbuild");
    const result = await build({
      entryPoints: [opts.entry ?? opts.job.modulePath],
      bundle: true,
      write: false,
      platform: "node",
      format: opts.format,
      target: opts.nodeTarget ?? "node20",
      // Workspace packages point "source" at their TypeScript; installed packages ship it too.
      conditions: ["source"],
      mainFields: ["module", "main"],
      // A function (a bundle with an entry) never lists objects, only reads them: the XML parser of listings
      // (object-list.ts, loaded lazily) stays out of it; the host bundle of a TypeScript job keeps it.
      external: ["esbuild", "fflate", ...(opts.entry ? ["fast-xml-parser"] : []), ...(opts.external ?? [])],
      legalComments: "none",
      logLevel: "silent",
      define: { __SUPERFAAS_JOB_NAME__: JSON.stringify(opts.job.jobName) },
      plugins: [
        {
          name: "superfaas-job",
          setup(b) {
            b.onResolve({ filter: /^superfaas:job$/ }, () => ({ path: opts.job.modulePath }));
          },
        },
      ],
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
  const dir = opts.cacheDir ?? defaultCacheDir();
  const path = join(dir, `${safeName(opts.target)}-${safeName(opts.job.jobName)}-${hash.slice(0, 16)}.${opts.format === "esm" ? "mjs" : "cjs"}`);
  privateDir(dir);
  if (!existsSync(path) || (await readFile(path, "utf8")) !== code) {
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, code, { mode: 0o600 });
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
