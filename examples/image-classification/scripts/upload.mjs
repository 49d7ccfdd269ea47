#!/usr/bin/env node
// Uploads the Fashion-MNIST IDX files, uncompressed, to s3://BUCKET/PREFIX (or file:///DIR), so that
// `superfaas run image-classification --data s3://BUCKET/PREFIX` can read each shard by byte range. Needs a build.
//   node scripts/upload.mjs s3://BUCKET/PREFIX [--data DIR] [--split test|train|all]
// S3 settings come from the usual variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
// AWS_REGION, and AWS_ENDPOINT_URL_S3 for an S3-compatible store (MinIO, Ceph RGW). The bucket must exist.
import { parseArgs } from "node:util";
import { DEFAULT_DATA_DIR, uploadFashionMnist } from "../dist/index.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { data: { type: "string", default: DEFAULT_DATA_DIR }, split: { type: "string", default: "all" } },
});
const fail = (message, hint) => {
  process.stderr.write(`error[BAD_INPUT]: ${message} — ${hint}\n`);
  process.exit(2);
};
if (positionals.length !== 1 || !/^(s3|file):\/\//.test(positionals[0])) fail("give one destination", "node scripts/upload.mjs s3://BUCKET/PREFIX [--data DIR] [--split test|train|all]");
if (!["test", "train", "all"].includes(values.split)) fail(`unknown split ${JSON.stringify(values.split)}`, "pass --split test, train or all");
const splits = values.split === "all" ? ["test", "train"] : [values.split];
try {
  await uploadFashionMnist(values.data, positionals[0], {
    splits,
    onFile: (url, bytes) => process.stdout.write(`uploaded ${url} (${bytes.toLocaleString("en-US")} bytes)\n`),
  });
} catch (err) {
  fail(err.message, err.hint ?? "check the destination and the S3 settings");
}
