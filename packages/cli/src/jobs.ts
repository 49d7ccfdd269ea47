import { existsSync, statSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import { bundleJob, findJob, SuperfaasError, type Job } from "@superfaas/core";

/** Examples shipped with superfaas, runnable by name. */
export const EXAMPLES: Record<string, { pkg: string; description: string }> = {
  pi: { pkg: "@superfaas/example-pi", description: "Monte Carlo estimate of pi (counter-based RNG, exact across task counts)" },
  "image-classification": {
    pkg: "@superfaas/example-image-classification",
    description: "Fashion-MNIST inference with a small CNN (TensorFlow.js WASM SIMD), accuracy and confusion matrix",
  },
  wordcount: { pkg: "@superfaas/example-wordcount", description: "word count over newline-delimited text in S3 or local files, each task reading its own byte range" },
};

/** Loads a job by example name or module path; TypeScript modules are bundled first. */
export async function loadJob(spec: string, jobName?: string): Promise<Job> {
  let modulePath: string;
  const example = EXAMPLES[spec];
  if (example) {
    modulePath = new URL(import.meta.resolve(example.pkg)).pathname;
  } else {
    modulePath = resolvePath(spec);
    if (!existsSync(modulePath) || !statSync(modulePath).isFile()) {
      const names = Object.keys(EXAMPLES).join(", ");
      throw new SuperfaasError(
        existsSync(modulePath) ? "MODULE_NOT_FOUND" : spec.includes("/") || spec.includes(".") ? "MODULE_NOT_FOUND" : "UNKNOWN_JOB",
        spec.includes("/") || spec.includes(".") ? `job module not found: ${modulePath}` : `unknown job ${JSON.stringify(spec)}`,
        `give the path of a module that exports a job, or one of the examples: ${names}`,
      );
    }
  }
  let importPath = modulePath;
  if (/\.(c|m)?tsx?$/.test(modulePath)) {
    // Node 20 cannot import TypeScript: load a bundled copy, but keep the original path for the backends.
    importPath = (await bundleJob({ job: { modulePath, jobName: jobName ?? "host" }, target: "host", format: "esm" })).path;
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(importPath).href)) as Record<string, unknown>;
  } catch (err) {
    // The file is there (checked above): it threw, or one of its own imports failed. Its message is the one that helps.
    throw new SuperfaasError("JOB_LOAD_FAILED", `job module ${modulePath} threw while loading: ${(err as Error).message}`, "fix the error in the module (--verbose shows its stack)", { cause: err });
  }
  const job = findJob(mod, jobName, modulePath);
  return job.modulePath === modulePath ? job : Object.freeze({ ...job, modulePath });
}
