// Puts the Fashion-MNIST IDX files where tasks can read them by range: uncompressed (a byte range of a gzip stream
// means nothing), under s3://bucket/prefix/ or file:///dir/ (see scripts/upload.mjs).
import { putObject, s3AccessFromEnv, type S3Access } from "@superfaas/core";
import { locate, readMaybeGzip, splitFiles, type Split } from "./idx.js";

/** Uploads the (gunzipped) IDX files of the given splits from `dir` to `dest`; returns the URLs written and their sizes. */
export async function uploadFashionMnist(
  dir: string,
  dest: string,
  opts: { splits?: Split[]; access?: S3Access; onFile?: (url: string, bytes: number) => void } = {},
): Promise<Array<{ url: string; size: number }>> {
  const out: Array<{ url: string; size: number }> = [];
  for (const split of opts.splits ?? ["test", "train"]) {
    for (const name of Object.values(splitFiles(split))) {
      const bytes = readMaybeGzip(locate(dir, name));
      const url = `${dest.replace(/\/+$/, "")}/${name}`;
      await putObject(url, bytes, opts.access ?? s3AccessFromEnv());
      opts.onFile?.(url, bytes.length);
      out.push({ url, size: bytes.length });
    }
  }
  return out;
}
