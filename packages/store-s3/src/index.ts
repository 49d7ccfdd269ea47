import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
} from "@aws-sdk/client-s3";
import type { ObjectStore } from "@superfaas/core";

/**
 * Where the S3-compatible data plane lives. Plain JSON, so the orchestrator can hand it to functions that must
 * reach the same bucket (OpenWhisk actions get it as a bound parameter, Lambda functions as environment).
 * Endpoint and credentials fall back to the AWS SDK's default chain (AWS_ENDPOINT_URL_S3, profiles, roles).
 */
export interface S3StoreConfig {
  bucket: string;
  region?: string;
  endpoint?: string;
  /** Path-style URLs, needed by most S3-compatible servers (MinIO, Ceph RGW, Swift's S3 API). */
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Keys listed per page by `deletePrefix` (default 1,000, the S3 maximum). */
  pageSize?: number;
}

/** An object store in an S3 bucket. */
export class S3Store implements ObjectStore {
  readonly client: S3Client;
  constructor(readonly config: S3StoreConfig) {
    this.client = new S3Client({
      ...(config.region ? { region: config.region } : {}),
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.forcePathStyle !== undefined ? { forcePathStyle: config.forcePathStyle } : {}),
      ...(config.credentials ? { credentials: config.credentials } : {}),
    });
  }

  async put(key: string, body: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key: key, Body: body, ContentType: "application/json" }));
  }

  async get(key: string): Promise<string> {
    const r = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: key }));
    return (await r.Body?.transformToString("utf-8")) ?? "";
  }

  async has(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: key }));
      return true;
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: key }));
  }

  async deletePrefix(prefix: string): Promise<void> {
    // An empty prefix would empty the whole bucket, which may hold more than this run's objects.
    if (!prefix) throw new Error("S3Store.deletePrefix: refusing to delete with an empty prefix");
    // Each round lists the first page and deletes it, so no continuation is needed. The plain (v1) listing is used
    // because some S3-compatible servers cannot make v2 continuation tokens (s3rver needs DES, gone in OpenSSL 3).
    let previous: string | undefined;
    for (;;) {
      const page = await this.client.send(new ListObjectsCommand({ Bucket: this.config.bucket, Prefix: prefix, MaxKeys: this.config.pageSize ?? 1000 }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (!keys.length) return;
      if (keys[0]!.Key === previous) throw new Error(`S3Store.deletePrefix: ${previous} is still listed after it was deleted`);
      previous = keys[0]!.Key;
      const r = await this.client.send(new DeleteObjectsCommand({ Bucket: this.config.bucket, Delete: { Objects: keys, Quiet: true } }));
      const failed = r.Errors?.[0];
      if (failed) throw new Error(`S3Store.deletePrefix: could not delete ${failed.Key}: ${failed.Code} ${failed.Message ?? ""}`.trim());
      if (!page.IsTruncated) return;
    }
  }

  /** The "folders" directly under `prefix` (keys up to the next '/'), every page of the listing. */
  async listPrefixes(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let marker: string | undefined;
    for (;;) {
      // v1 listing with a marker, as in deletePrefix: v2 continuation tokens are not made by every S3-compatible server.
      const page = await this.client.send(new ListObjectsCommand({ Bucket: this.config.bucket, Prefix: prefix, Delimiter: "/", MaxKeys: this.config.pageSize ?? 1000, ...(marker ? { Marker: marker } : {}) }));
      const found = (page.CommonPrefixes ?? []).map((c) => c.Prefix!).filter(Boolean);
      out.push(...found);
      if (!page.IsTruncated) return out;
      const next = page.NextMarker ?? [...found, ...(page.Contents ?? []).map((o) => o.Key!)].sort().at(-1);
      if (!next || next === marker) return out;
      marker = next;
    }
  }

  /** Creates the bucket when it does not exist yet (in the client's region); a bucket we may not use is an error. */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.config.bucket }));
      return;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404) {
        throw new Error(
          `cannot use bucket ${this.config.bucket}${status ? ` (HTTP ${status})` : ""}: ${(err as Error).message || (err as Error).name}` +
            (status === 403 ? " — it belongs to another account or these credentials may not access it" : ""),
          { cause: err },
        );
      }
    }
    const region = await this.client.config.region();
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.config.bucket,
          // us-east-1 is the one region that takes no location constraint.
          ...(region && region !== "us-east-1" && !this.config.endpoint ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } } : {}),
        }),
      );
    } catch (err) {
      // Another run created it between our HEAD and our PUT.
      if ((err as Error).name !== "BucketAlreadyOwnedByYou") throw err;
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** Creates an S3 object store. */
export function s3Store(config: S3StoreConfig): S3Store {
  return new S3Store(config);
}
