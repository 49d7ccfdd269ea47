// Finds the objects a job reads and their sizes, on the orchestrating side (partition): a listing or HEAD on S3,
// fs.stat locally. Never bundled into functions: only the reader (object-reader.ts) runs remotely.
import type { Stats } from "node:fs";
import { stat, readdir } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SuperfaasError } from "../errors.js";
import { parseS3Url, type ObjectInfo } from "./objects.js";
import { describeAnswer } from "../cloud/http-answer.js";
import { ensureWebCrypto, ObjectReadError, S3TimeoutError, s3AccessFromEnv, s3Client, s3HttpUrl, s3Request, type S3Access, type S3Answer } from "./object-reader.js";

const WHERE_DATA_LIVES = "data lives at s3://BUCKET/PREFIX or in local files (a path or file:///PATH)";

/** Turns a local path (relative to the working directory) or a `file:` URL into a `file:` URL; other URLs pass. */
export function toDataUrl(source: string): string {
  // An empty location would be the working directory: a project tree, not data (and a long, deep walk).
  if (typeof source !== "string" || !source.trim()) {
    throw new SuperfaasError("BAD_INPUT", `no data location given (${typeof source === "string" ? JSON.stringify(source) : String(source)})`, WHERE_DATA_LIVES);
  }
  if (/^file:\/\//.test(source)) {
    try {
      fileURLToPath(source);
    } catch (err) {
      throw new SuperfaasError("BAD_INPUT", `malformed file URL ${JSON.stringify(source)}: ${(err as Error).message}`, WHERE_DATA_LIVES);
    }
    return source;
  }
  if (/^s3:\/\//.test(source)) return source;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new SuperfaasError("BAD_INPUT", `unsupported data URL ${JSON.stringify(source)}`, WHERE_DATA_LIVES);
  }
  return pathToFileURL(isAbsolute(source) ? source : resolve(source)).href;
}

/** How many files and folders one local location may hold before its listing is refused (see `ListOptions`). */
export const MAX_LIST_ENTRIES = 1_000_000;

/** Options of `listObjects`. */
export interface ListOptions {
  /** At most this many files and folders are looked at under one local location (default `MAX_LIST_ENTRIES`). */
  maxEntries?: number;
  /** Ends the listing at once (a run's cancellation: pass `plan.signal` from a job's partition). */
  signal?: AbortSignal;
}

/** A folder being listed and the folders above it, by device and inode: a link back to one of them is a cycle. */
interface Ancestry {
  dev: number;
  ino: number;
  up: Ancestry | undefined;
}

const KINDS: Array<[keyof Stats & `is${string}`, string]> = [
  ["isFIFO", "a FIFO"],
  ["isSocket", "a socket"],
  ["isCharacterDevice", "a character device"],
  ["isBlockDevice", "a block device"],
];

/**
 * Every regular file at or under a local path, in name order (a folder's entries sorted, depth first). Walked with a
 * stack of its own, never recursion; links are followed, except one back to a folder it is inside (a cycle adds
 * nothing); anything but regular files and folders (FIFOs, sockets, devices) is refused, as reading one would block
 * or never end.
 */
async function listLocal(url: string, maxEntries: number): Promise<ObjectInfo[]> {
  const root = fileURLToPath(url);
  const out: ObjectInfo[] = [];
  const pending: Array<{ path: string; up: Ancestry | undefined }> = [{ path: root, up: undefined }];
  let seen = 0;
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { path, up } = next;
    if (++seen > maxEntries) {
      throw new SuperfaasError(
        "BAD_INPUT",
        `${root} holds more than ${maxEntries.toLocaleString("en-US")} files and folders`,
        "point at the folder that holds the data (not a project or home folder), or pack small files into larger ones",
      );
    }
    let s: Stats;
    try {
      s = await stat(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ELOOP") throw new SuperfaasError("BAD_INPUT", `${path} is a link that never reaches a file (a loop of links)`, "fix or remove the link");
      if (code === "ENOENT" || code === "ENOTDIR") throw new SuperfaasError("BAD_INPUT", `no such file or folder: ${path}`, path === root ? "check the data path" : "a link in the data folder points nowhere: fix or remove it");
      throw new SuperfaasError("BAD_INPUT", `cannot read ${path}: ${code ?? (err as Error).message}`, "check that this user may read the data");
    }
    if (s.isFile()) {
      out.push({ url: pathToFileURL(path).href, size: s.size });
      continue;
    }
    if (!s.isDirectory()) {
      const kind = KINDS.find(([is]) => (s[is] as () => boolean)())?.[1] ?? "not a regular file";
      throw new SuperfaasError("BAD_INPUT", `${path} is ${kind}, not a regular file`, "only regular files are data: move it out of the data folder, or name the files to read");
    }
    let cycle = false;
    for (let a = up; a && !cycle; a = a.up) cycle = a.dev === s.dev && a.ino === s.ino;
    if (cycle) continue;
    let names: string[];
    try {
      names = await readdir(path);
    } catch (err) {
      throw new SuperfaasError("BAD_INPUT", `cannot list folder ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, "check that this user may read the data");
    }
    const here: Ancestry = { dev: s.dev, ino: s.ino, up };
    // Reversed onto the stack, so they come off in name order.
    names.sort();
    for (let i = names.length - 1; i >= 0; i--) pending.push({ path: join(path, names[i]!), up: here });
  }
  return out;
}

// Loaded on first listing: job modules are bundled into functions whole, and functions never list.
type ListPage = { ListBucketResult?: { Contents?: Array<{ Key: unknown; Size: unknown }>; IsTruncated?: unknown } };
let parser: Promise<{ parse(xml: string): ListPage }> | undefined;
const xml = () => (parser ??= import("fast-xml-parser").then((m) => new m.XMLParser({ isArray: (name) => name === "Contents" })));

/** An S3 answer's body as text. */
const textOf = (body: Uint8Array) => new TextDecoder().decode(body);

/** An answer no S3 API gives: an HTML login or error page, say. */
class NotS3Answer extends ObjectReadError {}

const htmlType = (res: S3Answer) => /^\s*text\/html\b/i.test(res.headers.get("content-type") ?? "");

/**
 * What an answer that no S3 API gives was (an HTML page, text), named with its status and content type; a HEAD's
 * answer has no body, its content type tells.
 */
function notS3(what: string, res: S3Answer, endpoint: string, body: string): NotS3Answer {
  const answer = describeAnswer({ status: res.status, contentType: res.headers.get("content-type"), body: body || (htmlType(res) ? "<html>" : "") });
  return new NotS3Answer(`${endpoint} answered ${what} with ${answer}, not S3's XML: it is not an S3 API endpoint`, false, res.status);
}

/** S3's XML error (`<Code>`), else what answered instead of S3 (a proxy's page, say). */
function s3Failure(what: string, res: S3Answer, endpoint: string, doing: string): ObjectReadError {
  const body = textOf(res.body);
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  if (!code && (htmlType(res) || (body.trim() && !/^\s*(<\?xml|<Error\b)/.test(body)))) return notS3(doing, res, endpoint, body);
  return new ObjectReadError(`${what}: HTTP ${res.status}${code ? ` ${code}` : ""}`, res.status >= 500 || res.status === 429, res.status);
}

/** The origin a request went to, as the user gave it. */
const endpointOf = (url: string) => new URL(url).origin;

/** Every object under `prefix` in `bucket`, in key order (ListObjects v1 pages, which every S3-compatible server offers). */
async function listPrefix(bucket: string, prefix: string, access: S3Access, signal: AbortSignal | undefined): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  const base = s3HttpUrl(`s3://${bucket}/`, access).replace(/\/$/, "");
  const what = `listing s3://${bucket}/${prefix}`;
  const doing = "the listing";
  let marker = "";
  for (;;) {
    const url = `${base}?prefix=${encodeURIComponent(prefix)}${marker ? `&marker=${encodeURIComponent(marker)}` : ""}`;
    const res = await s3Request(url, {}, access, signal);
    if (res.status !== 200) throw s3Failure(what, res, endpointOf(url), doing);
    const body = textOf(res.body);
    // A page that parses as XML of another shape (HTML, say) would otherwise read as an empty listing.
    if (!/<ListBucketResult\b/.test(body)) throw notS3(doing, res, endpointOf(url), body);
    const page = (await xml()).parse(body).ListBucketResult ?? {};
    const contents = page.Contents ?? [];
    for (const c of contents) {
      const key = String(c.Key);
      if (!key.endsWith("/")) out.push({ url: `s3://${bucket}/${key}`, size: Number(c.Size) });
    }
    if (String(page.IsTruncated) !== "true" || !contents.length) return out;
    marker = String(contents[contents.length - 1]!.Key);
  }
}

async function headObject(url: string, access: S3Access, signal: AbortSignal | undefined): Promise<ObjectInfo | undefined> {
  const http = s3HttpUrl(url, access);
  const res = await s3Request(http, { method: "HEAD" }, access, signal);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw s3Failure(`HEAD ${url}`, res, endpointOf(http), "a HEAD request");
  // Every S3 object has an ETag; a web page answering in S3's place (HTML, no ETag) is not an object of its size.
  if (!res.headers.get("etag") && htmlType(res)) throw notS3("a HEAD request", res, endpointOf(http), "");
  return { url, size: Number(res.headers.get("content-length")) };
}

/**
 * The objects a source (or each of several) names, with their sizes: a file or every regular file under a folder
 * (sorted, depth first; see `listLocal` for links and special files), an S3 object, or every object under an S3 prefix
 * (`s3://bucket/prefix/`, or a key that names no object). Throws BAD_INPUT when the source is empty or malformed, holds
 * nothing, or (locally) holds more than `options.maxEntries` files and folders. S3 settings default to the AWS
 * variables of this process; each S3 request has a deadline (`S3Access.timeoutMs`, SUPERFAAS_S3_TIMEOUT).
 */
export async function listObjects(source: string | readonly string[], access: S3Access = s3AccessFromEnv(), options: ListOptions = {}): Promise<ObjectInfo[]> {
  // Several sources (keys, prefixes, paths): each is listed, in the order given.
  if (Array.isArray(source)) return (await Promise.all(source.map((s) => listObjects(s, access, options)))).flat();
  const url = toDataUrl(source as string);
  if (url.startsWith("file://")) {
    const max = options.maxEntries ?? MAX_LIST_ENTRIES;
    if (!Number.isSafeInteger(max) || max < 1) throw new SuperfaasError("BAD_INPUT", `maxEntries must be a whole number >= 1, got ${max}`, "pass listObjects a maxEntries of 1 or more");
    return listLocal(url, max);
  }
  const { bucket, key } = parseS3Url(url);
  const { signal } = options;
  await ensureWebCrypto();
  let found: ObjectInfo[];
  try {
    const one = key && !key.endsWith("/") ? await headObject(url, access, signal) : undefined;
    found = one ? [one] : await listPrefix(bucket, key && !key.endsWith("/") ? `${key}/` : key, access, signal);
  } catch (err) {
    if (signal?.aborted) throw new SuperfaasError("CANCELLED", `cancelled while listing ${url}`, "nothing ran; run again to get a result", { cause: err });
    if (err instanceof SuperfaasError) throw err;
    throw new SuperfaasError(
      "BAD_INPUT",
      `cannot list ${url}: ${(err as Error).message}`,
      err instanceof NotS3Answer
        ? "point AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) at the S3 API itself, not at a web page or a login proxy"
        : err instanceof S3TimeoutError
        ? "check the endpoint (AWS_ENDPOINT_URL_S3): a firewall or a proxy that swallows requests looks like this; SUPERFAAS_S3_TIMEOUT (seconds) sets this bound"
        : (err as ObjectReadError).status === 403
          ? "check the S3 credentials (AWS_ACCESS_KEY_ID...) and the bucket policy"
          : "check the bucket, the endpoint (AWS_ENDPOINT_URL_S3) and the region",
      { cause: err },
    );
  }
  if (!found.length) throw new SuperfaasError("BAD_INPUT", `no objects at ${url}`, "check the bucket and prefix, or upload the data first");
  return found;
}

/** Writes an object to S3 (`s3://bucket/key`) or a local file (`file:///path`, folders made as needed). */
export async function putObject(url: string, body: Uint8Array | string, access: S3Access = s3AccessFromEnv()): Promise<void> {
  const target = toDataUrl(url);
  if (target.startsWith("file://")) {
    const { mkdir, writeFile } = await import("node:fs/promises");
    const { dirname } = await import("node:path");
    const path = fileURLToPath(target);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
    return;
  }
  await ensureWebCrypto();
  const res = await s3Client(access).fetch(s3HttpUrl(target, access), { method: "PUT", body });
  if (res.status !== 200) {
    const text = await res.text();
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
    throw new SuperfaasError(
      "BAD_INPUT",
      `cannot write ${target}: HTTP ${res.status}${code ? ` ${code}` : ""}`,
      code === "NoSuchBucket" ? "create the bucket first" : "check the S3 credentials, the endpoint (AWS_ENDPOINT_URL_S3) and the bucket policy",
    );
  }
}
