import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsClient } from "aws4fetch";
import { listObjects, ObjectReadError, partitionObjects, readBytes, readRange, splitRecords, type S3Access } from "@superfaas/core";
import { startS3Server, type S3TestServer } from "@superfaas/testing";

describe("ranged reads of S3 objects (s3rver)", () => {
  let server: S3TestServer;
  let access: S3Access;
  let signer: AwsClient;
  const bucket = "data";
  const texts = ["alpha\nbeta\ngamma\n", "", "one line without end", "x\n\n\ny\nzz\n"];

  beforeAll(async () => {
    server = await startS3Server({ buckets: [bucket] });
    access = { endpoint: server.endpoint, region: server.region, credentials: server.credentials };
    signer = new AwsClient({ ...server.credentials, service: "s3", region: server.region });
    for (const [i, t] of texts.entries()) await signer.fetch(`${server.endpoint}/${bucket}/text/part-${i}.txt`, { method: "PUT", body: t });
    await signer.fetch(`${server.endpoint}/${bucket}/other/k`, { method: "PUT", body: "0123456789" });
  });
  afterAll(async () => server?.close());

  it("answers Range requests as S3 does: 206 with Content-Range, suffix ranges, 416 with the size, bad ranges ignored", async () => {
    const get = async (range: string) => {
      const r = await signer.fetch(`${server.endpoint}/${bucket}/other/k`, { headers: { Range: range } });
      return [r.status, r.headers.get("content-range"), await r.text()];
    };
    expect(await get("bytes=2-4")).toEqual([206, "bytes 2-4/10", "234"]);
    expect(await get("bytes=5-1000")).toEqual([206, "bytes 5-9/10", "56789"]);
    expect(await get("bytes=-3")).toEqual([206, "bytes 7-9/10", "789"]);
    expect(await get("bytes=-30")).toEqual([206, "bytes 0-9/10", "0123456789"]);
    const [status, contentRange] = await get("bytes=10-12");
    expect([status, contentRange]).toEqual([416, "bytes */10"]);
    expect(await get("bytes=5-2")).toEqual([200, null, "0123456789"]);
    // The AWS SDK signs the Range header: a suffix range through it still verifies and reads the end.
    const { S3Client, GetObjectCommand } = await import("@aws-sdk/client-s3");
    const sdk = new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials: server.credentials });
    const r = await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: "other/k", Range: "bytes=-4" }));
    expect([r.ContentRange, await r.Body?.transformToString()]).toEqual(["bytes 6-9/10", "6789"]);
    sdk.destroy();
  });

  it("lists a prefix with sizes and reads every delimited record exactly once across objects, at several chunk sizes", async () => {
    const objects = await listObjects(`s3://${bucket}/text/`, access);
    expect(objects).toEqual(texts.map((t, i) => ({ url: `s3://${bucket}/text/part-${i}.txt`, size: Buffer.byteLength(t) })));
    // A key that names no object is taken as a folder-like prefix.
    expect(await listObjects(`s3://${bucket}/text`, access)).toEqual(objects);
    expect(await listObjects(`s3://${bucket}/other/k`, access)).toEqual([{ url: `s3://${bucket}/other/k`, size: 10 }]);
    // By keys: each listed in the order given.
    expect(await listObjects([`s3://${bucket}/other/k`, `s3://${bucket}/text/part-0.txt`], access)).toEqual([{ url: `s3://${bucket}/other/k`, size: 10 }, objects[0]]);
    const expected = texts.flatMap((t) => splitRecords(Buffer.from(t)).map((b) => Buffer.from(b).toString()));
    for (const chunkBytes of [1, 3, 8, 64]) {
      const got: string[] = [];
      for (const r of partitionObjects(objects, { kind: "delimited" }, { chunkBytes })) {
        got.push(...splitRecords(await readRange(r, access)).map((b) => Buffer.from(b).toString()));
      }
      expect(got, `chunk ${chunkBytes}`).toEqual(expected);
    }
    await expect(listObjects(`s3://${bucket}/nothing-here/`, access)).rejects.toThrow(/no objects at s3:\/\/data\/nothing-here\//);
  });

  it("retries a transient 503, 500 or dropped connection during a range read and gets the bytes", async () => {
    server.failNextReads(2, { status: 503, match: /other\/k$/ });
    const before = server.rangedReads.length;
    expect(Buffer.from(await readBytes(`s3://${bucket}/other/k`, 3, 6, access, { baseMs: 1 })).toString()).toBe("345");
    expect(server.rangedReads.length - before).toBe(1);
    server.failNextReads(1, { status: 500 });
    expect(Buffer.from(await readBytes(`s3://${bucket}/other/k`, 0, 2, access, { baseMs: 1 })).toString()).toBe("01");
    // A connection dropped mid-request is transient too.
    server.failNextReads(2, { status: "reset" });
    expect(Buffer.from(await readBytes(`s3://${bucket}/other/k`, 8, 10, access, { baseMs: 1 })).toString()).toBe("89");
  });

  it("gives up after its retries with an error the scheduler may retry, and fails at once on 403 and 404", async () => {
    server.failNextReads(3, { status: 503 });
    const err = await readBytes(`s3://${bucket}/other/k`, 0, 2, access, { retries: 2, baseMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectReadError);
    expect(err).toMatchObject({ retryable: true, status: 503, message: expect.stringMatching(/failed 3 times: .*HTTP 503 SlowDown/) });
    const before = server.rangedReads.length;
    await expect(readBytes(`s3://${bucket}/missing`, 0, 2, access, { baseMs: 1 })).rejects.toMatchObject({ retryable: false, status: 404 });
    const wrongKey = { ...access, credentials: { accessKeyId: "S3RVER", secretAccessKey: "wrong" } };
    await expect(readBytes(`s3://${bucket}/other/k`, 0, 2, wrongKey, { baseMs: 1 })).rejects.toMatchObject({ retryable: false, status: 403 });
    // One request each: neither was retried.
    expect(server.rangedReads.length - before).toBe(2);
  });
});
