import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { openEnvelopeWithStore, runTask, defineJob } from "@superfaas/core";
import { S3Store, s3Store } from "../src/index.js";
import { startS3Server, type S3TestServer } from "@superfaas/testing";

describe("S3Store against a real S3-compatible server (s3rver)", () => {
  let server: S3TestServer;
  let store: S3Store;
  const bucket = "superfaas-test";

  beforeAll(async () => {
    server = await startS3Server({ buckets: [bucket] });
    store = s3Store(server.storeConfig(bucket));
  });
  afterAll(async () => {
    store?.destroy();
    await server?.close();
  });

  const keys = async (prefix: string) =>
    ((await store.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key).sort();

  it("round-trips unicode text byte for byte", async () => {
    const text = JSON.stringify({ s: "π ≈ 3.14 — Grüße, 你好, 🚀👩‍👩‍👧‍👦, \u2028, \u0000, quote\" back\\slash" });
    await store.put("roundtrip/unicode.json", text);
    expect(await store.get("roundtrip/unicode.json")).toBe(text);
  });

  it("round-trips a payload larger than Lambda's 6 MB limit", async () => {
    const text = JSON.stringify({ data: `${"x".repeat(7 * 1024 * 1024)}é` });
    await store.put("roundtrip/large.json", text);
    expect(await store.get("roundtrip/large.json")).toBe(text);
  });

  it("rejects a read of a missing key with NoSuchKey", async () => {
    await expect(store.get("missing/nothing.json")).rejects.toMatchObject({ name: "NoSuchKey" });
  });

  it("deletes every key under a prefix across listing pages and nothing else", async () => {
    const paged = new S3Store({ ...server.storeConfig(bucket), pageSize: 3 });
    try {
      await Promise.all(Array.from({ length: 10 }, (_, i) => paged.put(`run-a/tasks/${i}.json`, String(i))));
      await paged.put("run-ab/keep.json", "1");
      await paged.put("run-b/keep.json", "2");
      await paged.deletePrefix("run-a/");
      expect(await keys("run-a/")).toEqual([]);
      expect(await keys("run-ab/")).toEqual(["run-ab/keep.json"]);
      expect(await keys("run-b/")).toEqual(["run-b/keep.json"]);
    } finally {
      paged.destroy();
    }
  });

  it("refuses to delete with an empty prefix", async () => {
    await expect(store.deletePrefix("")).rejects.toThrow(/empty prefix/);
  });

  it("creates a missing bucket once and accepts an existing one", async () => {
    const other = new S3Store(server.storeConfig("superfaas-created-by-test"));
    try {
      await other.ensureBucket();
      await other.ensureBucket();
      await other.put("a.json", "{}");
      expect(await other.get("a.json")).toBe("{}");
    } finally {
      other.destroy();
    }
  });

  it("reports a bucket it cannot use instead of trying to create it", async () => {
    const denied = new S3Store({ ...server.storeConfig(bucket), credentials: { accessKeyId: "NOT-A-KEY", secretAccessKey: "S3RVER" } });
    try {
      await expect(denied.ensureBucket()).rejects.toThrow(/cannot use bucket superfaas-test \(HTTP 403\)/);
    } finally {
      denied.destroy();
    }
  });

  it("carries a task and a partial by reference through the runtime", async () => {
    const job = defineJob({
      name: "double",
      partition: () => [],
      map: (t: { data: string }) => ({ data: t.data + t.data }),
      reduce: (p: unknown[]) => p,
    });
    const data = "ab".repeat(20_000);
    await store.put("refs/task-0.json", JSON.stringify({ data }));
    const envelope = await runTask(job, { taskRef: "refs/task-0.json", taskIndex: 0, attempt: 1, resultKey: "refs/result-0-1.json", maxInlineBytes: 1024 }, "test", store);
    expect(envelope).toMatchObject({ ok: true, partialRef: "refs/result-0-1.json" });
    const result = await openEnvelopeWithStore(envelope, store);
    expect((result.partial as { data: string }).data).toBe(data + data);
  });

  it("keeps its configuration plain JSON so functions can receive it", () => {
    const config = server.storeConfig(bucket);
    expect(JSON.parse(JSON.stringify(config))).toEqual(config);
  });
});
