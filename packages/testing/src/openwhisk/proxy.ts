// One action container of the OpenWhisk emulator: a child process speaking the Node.js runtime's protocol on a
// loopback port (the real runtime listens on 8080 inside its container). `POST /init` loads the action once,
// `POST /run` calls its main with the parameters. The parent learns the port over IPC and kills this process to
// stop the container; when the parent goes away (IPC disconnect) the container stops too, so no process outlives a
// crashed test run.
//
// Runs as the built dist/openwhisk/proxy.js, one child process per container (container.ts forks it).
//
// argv[2]: a fresh directory this container may write to (the zip is unpacked there).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { AddressInfo } from "node:net";
import { unzipSync } from "fflate";

const workDir: string = process.argv[2] ?? "";
if (!workDir) throw new Error("proxy.js needs a work directory as its first argument");
// argv[3]: the Node.js major version of the action's kind. The container runs on this machine's Node.js, so the
// globals an older version lacks are taken away, and code that assumes them fails here as it would there.
const major = Number(process.argv[3] ?? process.versions.node.split(".")[0]);
const missing: [number, string[]][] = [
  [18, ["fetch", "Headers", "Request", "Response", "FormData", "Blob", "BroadcastChannel", "ReadableStream", "WritableStream", "TransformStream"]],
  [17, ["structuredClone", "DOMException"]],
  [15, ["AbortController", "AbortSignal", "EventTarget", "Event", "AggregateError"]],
];
for (const [since, names] of missing) if (major < since) for (const name of names) delete (globalThis as Record<string, unknown>)[name];
if (major < 15) {
  delete (Promise as { any?: unknown }).any;
  delete (String.prototype as { replaceAll?: unknown }).replaceAll;
}
if (major < 16) {
  delete (Array.prototype as { at?: unknown }).at;
  delete (Object as { hasOwn?: unknown }).hasOwn;
}
/** Set on the invoker when the operator allows concurrent activations in one container. */
const allowConcurrent = process.env.__OW_ALLOW_CONCURRENT === "true";
/** Activations running now. */
let running = 0;

/** "fresh" until /init, then "ready" (or "failed": a container whose init failed is never used again). */
let phase: "fresh" | "initializing" | "ready" | "failed" = "fresh";
/** The action's entry point, once initialised. */
let main: (params: unknown) => unknown;

const MAIN_NAME = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;
/** Written to stdout and stderr after every activation: the invoker reads the logs up to these lines. */
const MARKER = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";
const writeMarkers = () => {
  process.stdout.write(`${MARKER}\n`);
  process.stderr.write(`${MARKER}\n`);
};

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", reject);
    req.on("end", () => {
      try {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve(text ? JSON.parse(text) : {});
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** Unpacks a base64 zip into the work directory, refusing entries that would escape it. */
function unpack(base64: string): string {
  const root = join(workDir, "action");
  mkdirSync(root, { recursive: true });
  const files = unzipSync(Buffer.from(base64, "base64"));
  for (const [name, bytes] of Object.entries(files)) {
    const rel = normalize(name);
    if (isAbsolute(rel) || rel.split(sep).includes("..")) throw new Error(`zip entry ${name} escapes the action directory`);
    const target = join(root, rel);
    if (name.endsWith("/")) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, bytes);
  }
  return root;
}

/** Finds `main` in a loaded module: `exports.main`, or a dotted path such as `handlers.run`. */
function pick(mod: unknown, name: string): unknown {
  let v = mod;
  for (const part of name.split(".")) v = v == null ? undefined : (v as Record<string, unknown>)[part];
  return v;
}

/** What /init carries. */
interface InitValue {
  name?: string;
  main?: string;
  code?: string;
  binary?: boolean;
  env?: Record<string, unknown>;
}

async function load(value: InitValue & { code: string }): Promise<(params: unknown) => unknown> {
  const name = value.main || "main";
  if (!MAIN_NAME.test(name)) throw new Error(`Action entrypoint '${name}' is not a valid name.`);
  if (value.env && typeof value.env === "object") {
    for (const [k, v] of Object.entries(value.env)) process.env[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  let fn: unknown;
  if (value.binary) {
    const dir = unpack(value.code);
    const pkgPath = join(dir, "package.json");
    if (!existsSync(pkgPath) && !existsSync(join(dir, "index.js"))) {
      throw new Error("Zipped actions must contain either package.json or index.js at the root.");
    }
    const pkg = existsSync(pkgPath) ? JSON.parse(readFileSync(pkgPath, "utf8")) : {};
    const entry = join(dir, pkg.main || "index.js");
    // Like the real runtime, the action runs with its unpacked directory as the working directory.
    process.chdir(dir);
    const esm = pkg.type === "module" || entry.endsWith(".mjs");
    const mod = esm ? await import(pathToFileURL(entry).href) : createRequire(join(dir, "noop.js"))(dir);
    fn = pick(mod, name);
  } else {
    // Plain source: the function named `main` may be a top-level declaration or an export.
    const file = join(workDir, "action.cjs");
    writeFileSync(file, `${value.code}\n;module.exports.__owMain = typeof ${name.split(".")[0]} !== "undefined" ? ${name} : module.exports.${name};\n`);
    fn = createRequire(file)(file).__owMain;
  }
  if (typeof fn !== "function") throw new Error(`Action entrypoint '${name}' is not a function.`);
  return fn as (params: unknown) => unknown;
}

/** An error as the runtime puts it in `{error}`: its name, message, stack and own fields. */
function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err === undefined ? {} : err;
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  if (err.stack) out.stack = err.stack;
  for (const k of Object.keys(err)) out[k] = (err as unknown as Record<string, unknown>)[k];
  return out;
}

async function handleInit(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (phase !== "fresh") return reply(res, 403, { error: "Cannot initialize the action more than once." });
  phase = "initializing";
  let body: Record<string, unknown>;
  try {
    body = await readJson(req);
  } catch (err) {
    phase = "failed";
    return reply(res, 502, { error: `Initialization has failed due to: ${(err as Error).message}` });
  }
  const value = (body?.value ?? {}) as InitValue;
  if (typeof value.code !== "string" || !value.code) {
    phase = "fresh";
    return reply(res, 500, { error: "Missing main/no code to execute." });
  }
  try {
    main = await load(value as InitValue & { code: string });
    phase = "ready";
    reply(res, 200, { OK: true });
  } catch (err) {
    phase = "failed";
    console.error("Error during initialization:", err);
    reply(res, 502, { error: `Initialization has failed due to: ${(err as Error | undefined)?.stack ?? String(err)}` });
  }
}

async function handleRun(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (phase !== "ready") return reply(res, 500, { error: `Internal system error: container not ready, status: ${phase}` });
  // The real proxy's answer to a second simultaneous /run when the invoker does not allow concurrency.
  if (running > 0 && !allowConcurrent) return reply(res, 403, { error: "System not ready, status is running." });
  running++;
  try {
    await runOnce(req, res);
  } finally {
    running--;
  }
}

async function runOnce(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  for (const key of ["api_key", "namespace", "action_name", "action_version", "activation_id", "deadline", "transaction_id"]) {
    if (body[key] !== undefined) process.env[`__OW_${key.toUpperCase()}`] = String(body[key]);
  }
  let pending: unknown;
  try {
    pending = main(body.value ?? {});
  } catch (err) {
    // A synchronous throw is not a result: the platform reports it as the developer's error.
    console.error(err);
    writeMarkers();
    return reply(res, 502, { error: `An error has occurred: ${err}` });
  }
  let result: unknown;
  try {
    result = await pending;
    if (result === undefined) result = {};
  } catch (err) {
    // A rejected promise is the action's own error, returned as `{error}` (an "application error").
    result = { error: serializeError(err) };
  }
  writeMarkers();
  if (result === null || typeof result !== "object" || Array.isArray(result)) {
    console.error(`Result must be of type object but has type "${Array.isArray(result) ? "array" : typeof result}":`, result);
    return reply(res, 502, { error: "The action did not return a dictionary." });
  }
  let text: string;
  try {
    text = JSON.stringify(result);
  } catch (err) {
    return reply(res, 502, { error: `The action did not produce a valid JSON response: ${(err as Error).message}` });
  }
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer((req, res) => {
  const route = `${req.method} ${req.url}`;
  const handler = route === "POST /init" ? handleInit : route === "POST /run" ? handleRun : undefined;
  if (!handler) return reply(res, 404, { error: `no route ${route}` });
  handler(req, res).catch((err) => {
    if (!res.headersSent) reply(res, 500, { error: `proxy failure: ${(err as Error | undefined)?.message ?? err}` });
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.requestTimeout = 0;
server.listen(0, "127.0.0.1", () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on("disconnect", () => {
  // Orphaned (the emulator's process died without closing it): leave nothing behind.
  rmSync(workDir, { recursive: true, force: true });
  process.exit(0);
});
