// Finds the objects a job reads and their sizes, on the orchestrating side (partition): a listing or HEAD on S3,
// fs.stat locally. Never bundled into functions: only the reader (object-reader.ts) runs remotely.
import { stat, readdir } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SuperfaasError } from "./errors.js";
import { parseS3Url, type ObjectInfo } from "./objects.js";
import { ensureWebCrypto, ObjectReadError, s3AccessFromEnv, s3Client, s3HttpUrl, type S3Access } from "./object-reader.js";

/** Turns a local path (relative to the working directory) or a `file:` URL into a `file:` URL; other URLs pass. */
export function toDataUrl(source: string): string {
  if (/^(s3|file):\/\//.test(source)) return source;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new SuperfaasError("BAD_INPUT", `unsupported data URL ${JSON.stringify(source)}`, "data lives at s3://BUCKET/PREFIX or in local files (a path or file:///PATH)");
  }
  return pathToFileURL(isAbsolute(source) ? source : resolve(source)).href;
}

async function listLocal(url: string): Promise<ObjectInfo[]> {
  const path = fileURLToPath(url);
  let s: Awaited<ReturnType<typeof stat>>;
  try {
    s = await stat(path);
  } catch {
    throw new SuperfaasError("BAD_INPUT", `no such file or folder: ${path}`, "check the data path");
  }
  if (s.isFile()) return [{ url: pathToFileURL(path).href, size: s.size }];
  const out: ObjectInfo[] = [];
  for (const name of (await readdir(path)).sort()) out.push(...(await listLocal(pathToFileURL(join(path, name)).href)));
  return out;
}

// Loaded on first listing: job modules are bundled into functions whole, and functions never list.
type ListPage = { ListBucketResult?: { Contents?: Array<{ Key: unknown; Size: unknown }>; IsTruncated?: unknown } };
let parser: Promise<{ parse(xml: string): ListPage }> | undefined;
const xml = () => (parser ??= import("fast-xml-parser").then((m) => new m.XMLParser({ isArray: (name) => name === "Contents" })));

function s3Failure(what: string, status: number, body: string): ObjectReadError {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  return new ObjectReadError(`${what}: HTTP ${status}${code ? ` ${code}` : ""}`, status >= 500 || status === 429, status);
}

/** Every object under `prefix` in `bucket`, in key order (ListObjects v1 pages, which every S3-compatible server offers). */
async function listPrefix(bucket: string, prefix: string, access: S3Access): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  const base = s3HttpUrl(`s3://${bucket}/`, access).replace(/\/$/, "");
  let marker = "";
  for (;;) {
    const res = await s3Client(access).fetch(`${base}?prefix=${encodeURIComponent(prefix)}${marker ? `&marker=${encodeURIComponent(marker)}` : ""}`);
    const body = await res.text();
    if (res.status !== 200) throw s3Failure(`listing s3://${bucket}/${prefix}`, res.status, body);
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

async function headObject(url: string, access: S3Access): Promise<ObjectInfo | undefined> {
  const res = await s3Client(access).fetch(s3HttpUrl(url, access), { method: "HEAD" });
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw s3Failure(`HEAD ${url}`, res.status, "");
  return { url, size: Number(res.headers.get("content-length")) };
}

/**
 * The objects a source (or each of several) names, with their sizes: a file or every file under a folder (sorted, recursively), an S3
 * object, or every object under an S3 prefix (`s3://bucket/prefix/`, or a key that names no object). Throws BAD_INPUT
 * when the source holds nothing. S3 settings default to the AWS variables of this process.
 */
export async function listObjects(source: string | readonly string[], access: S3Access = s3AccessFromEnv()): Promise<ObjectInfo[]> {
  // Several sources (keys, prefixes, paths): each is listed, in the order given.
  if (typeof source !== "string") return (await Promise.all(source.map((s) => listObjects(s, access)))).flat();
  const url = toDataUrl(source);
  if (url.startsWith("file://")) return listLocal(url);
  const { bucket, key } = parseS3Url(url);
  await ensureWebCrypto();
  let found: ObjectInfo[];
  try {
    const one = key && !key.endsWith("/") ? await headObject(url, access) : undefined;
    found = one ? [one] : await listPrefix(bucket, key && !key.endsWith("/") ? `${key}/` : key, access);
  } catch (err) {
    if (err instanceof SuperfaasError) throw err;
    throw new SuperfaasError(
      "BAD_INPUT",
      `cannot list ${url}: ${(err as Error).message}`,
      (err as ObjectReadError).status === 403 ? "check the S3 credentials (AWS_ACCESS_KEY_ID...) and the bucket policy" : "check the bucket, the endpoint (AWS_ENDPOINT_URL_S3) and the region",
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
