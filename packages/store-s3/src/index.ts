import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
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

  async deletePrefix(prefix: string): Promise<void> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: prefix, ContinuationToken: token }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length) await this.client.send(new DeleteObjectsCommand({ Bucket: this.config.bucket, Delete: { Objects: keys, Quiet: true } }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Creates the bucket when it does not exist yet. */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.config.bucket }));
    } catch {
      await this.client.send(new CreateBucketCommand({ Bucket: this.config.bucket }));
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
