// Deployment packages: a zip checked against Lambda's limits, unzipped into the emulator's work directory, and the
// "live" configuration new execution environments of a function run once a create or an update completes.
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, normalize, sep } from "node:path";
import { unzipSync } from "fflate";
import { ApiError, validation } from "./api-error.js";
import type { Code, Emulator, FunctionConfig, FunctionRecord, Live } from "./model.js";
import { CONTROL_BODY_LIMIT, UNZIPPED_LIMIT, ZIP_LIMIT } from "./profile.js";

/** Checks a base64 zip (and the architectures asked for) as CreateFunction and UpdateFunctionCode do, and unzips it. */
export function checkZip(b64: unknown, arch: unknown): Code {
  if (typeof b64 !== "string" || !b64) throw new ApiError(400, "InvalidParameterValueException", "Please provide a source for function code.");
  const zip = Buffer.from(b64, "base64");
  if (zip.length > ZIP_LIMIT) throw new ApiError(413, "RequestEntityTooLargeException", `Request must be smaller than ${CONTROL_BODY_LIMIT} bytes for the CreateFunction operation`);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch {
    throw new ApiError(400, "InvalidParameterValueException", "Could not unzip uploaded file. Please check your file, then try to upload again.");
  }
  const unzipped = Object.values(files).reduce((s, f) => s + f.length, 0);
  if (unzipped > UNZIPPED_LIMIT) throw new ApiError(400, "InvalidParameterValueException", `Unzipped size must be smaller than ${UNZIPPED_LIMIT} bytes`);
  const architectures = arch ?? ["x86_64"];
  if (!Array.isArray(architectures) || architectures.length !== 1 || !["x86_64", "arm64"].includes(architectures[0])) {
    throw validation("architectures", JSON.stringify(architectures), "Member must have length less than or equal to 1, Member must satisfy enum value set: [x86_64, arm64]");
  }
  return { zip, files, sha: createHash("sha256").update(zip).digest("base64"), architectures };
}

async function extract(emu: Emulator, name: string, generation: number, files: Record<string, Uint8Array>): Promise<string> {
  const dir = join(emu.workDir, `${name}-${generation}`);
  await mkdir(dir, { recursive: true });
  for (const [path, data] of Object.entries(files)) {
    if (path.endsWith("/")) continue;
    const target = normalize(join(dir, path));
    if (!target.startsWith(dir + sep)) continue; // zip-slip
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data);
  }
  return dir;
}

/** What new environments of a function run: applied when a create or an update completes. */
export function makeLive(emu: Emulator, fn: FunctionRecord, generation: number, code: Code, cfg: FunctionConfig): Promise<Live> {
  const made = makeLiveNow(emu, fn, generation, code, cfg);
  // close() waits for these: removing the work directory while code is still being written there fails.
  emu.extracting.add(made);
  void made.then(
    () => emu.extracting.delete(made),
    () => emu.extracting.delete(made),
  );
  return made;
}

async function makeLiveNow(emu: Emulator, fn: FunctionRecord, generation: number, code: Code, cfg: FunctionConfig): Promise<Live> {
  return {
    generation,
    codeDir: await extract(emu, fn.name, generation, code.files),
    memorySize: cfg.MemorySize,
    timeout: cfg.Timeout,
    handler: cfg.Handler,
    runtime: cfg.Runtime,
    variables: { ...(cfg.Environment?.Variables ?? {}) },
    logFormat: cfg.LoggingConfig?.LogFormat ?? "Text",
  };
}
