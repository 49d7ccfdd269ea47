// Image classification with `--data s3://...` through the CLI on local, OpenWhisk and Lambda (loopback servers): every
// shard reads its own images by range from the S3 test server, the predictions match the inline mode's, and no
// invocation the platforms receive carries pixel data or a secret.
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseReportDocument } from "@superfaas/report";
import { uploadFashionMnist } from "@superfaas/example-image-classification";
import { startLambdaEmulator, startOpenWhiskEmulator, startS3Server, type LambdaEmulator, type OpenWhiskEmulator, type S3TestServer } from "@superfaas/testing";
import { cli } from "./helpers.js";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

/** An HTTP proxy in front of a loopback platform that keeps every request body it forwards (headers untouched). */
async function recordingProxy(target: string): Promise<{ url: string; requests: Array<{ method: string; path: string; body: string }>; close(): Promise<void> }> {
  const requests: Array<{ method: string; path: string; body: string }> = [];
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? "", path: req.url ?? "", body: body.toString() });
      const fwd = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      fwd.on("error", () => res.destroy());
      fwd.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe("image-classification --data s3:// on local, openwhisk and lambda", () => {
  let s3: S3TestServer;
  let ow: OpenWhiskEmulator;
  let lambda: LambdaEmulator;
  let owProxy: Awaited<ReturnType<typeof recordingProxy>>;
  let lambdaProxy: Awaited<ReturnType<typeof recordingProxy>>;
  const saved = { ...process.env };
  const fixtures = fileURLToPath(new URL("../../../examples/image-classification/test/fixtures", import.meta.url));

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ["data"] });
    await uploadFashionMnist(fixtures, "s3://data/fashion", { splits: ["test"], access: { endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials } });
    ow = await startOpenWhiskEmulator({});
    // Lambda hands every environment its execution role's keys: here, keys the S3 server accepts.
    lambda = await startLambdaEmulator({ pendingMs: 50, updateMs: 50, maxEnvironments: 4, credentials: s3.credentials });
    owProxy = await recordingProxy(ow.url);
    lambdaProxy = await recordingProxy(lambda.endpoint);
    // This machine's S3 settings, as the usual variables: the orchestrator and the local backend read with them.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: s3.region, AWS_ENDPOINT_URL_S3: s3.endpoint });
    delete process.env.AWS_PROFILE;
  });

  afterAll(async () => {
    process.env = saved;
    await Promise.allSettled([owProxy?.close(), lambdaProxy?.close(), ow?.close(), lambda?.close()]);
    await s3?.close();
  });

  it("predicts what the inline mode predicts on all three, and the platforms receive ranges, never pixels or keys", async () => {
    const inline = await cli(["run", "image-classification", "--backend", "local", "--images", "60", "--data", fixtures, "--tasks", "2", "--json"]);
    expect(inline.stderr).not.toMatch(/error\[/);
    const inlineSha = /"predictionsSha256":\s*"([0-9a-f]+)"/.exec(inline.stdout)?.[1];
    expect(inlineSha).toMatch(/^[0-9a-f]{64}$/);

    const before = s3.rangedReads.length;
    const { code, stdout, stderr } = await cli([
      "compare", "image-classification", "--backends", "local,openwhisk,lambda", "--json",
      "--images", "60", "--data", "s3://data/fashion", "--tasks", "3", "--concurrency", "2",
      "--apihost", owProxy.url, "--auth", ow.auth, "--namespace", ow.namespace, "--wskprops", "/dev/null",
      "--region", lambda.region, "--endpoint", lambdaProxy.url, "--role", "arn:aws:iam::123456789012:role/superfaas-test",
      "--memory", "512", "--bucket", "superfaas-runs", "--s3-endpoint", s3.endpoint,
    ]);
    expect(stderr).not.toMatch(/error\[/);
    expect(code).toBe(0);
    const doc = JSON.stringify(parseReportDocument(JSON.parse(stdout)));
    const shas = [...doc.matchAll(/"predictionsSha256":"([0-9a-f]+)"/g)].map((m) => m[1]);
    expect(shas).toEqual([inlineSha, inlineSha, inlineSha]);
    // Three backends × 3 shards, each reading its images and its labels by range (header reads excluded).
    const shardReads = s3.rangedReads.slice(before).filter((r) => r.path.startsWith("data/fashion/") && !/^bytes=0-(15|7)$/.test(r.range));
    expect(shardReads.filter((r) => r.status === 206)).toHaveLength(3 * 3 * 2);

    const invocations = [
      ...owProxy.requests.filter((r) => r.method === "POST" && /\/actions\/[^/?]+(\?|$)/.test(r.path)),
      ...lambdaProxy.requests.filter((r) => r.method === "POST" && r.path.endsWith("/invocations")),
    ];
    expect(invocations.length).toBeGreaterThanOrEqual(6);
    for (const inv of invocations) {
      expect(inv.body).toContain('"ranges"');
      expect(inv.body).not.toContain('"pixels"');
      expect(inv.body).not.toContain(s3.credentials.secretAccessKey);
      expect(inv.body.length).toBeLessThan(2_000);
    }
    // Three platforms deploy and start (Lambda under AWS's runtime client) on a shared 2-core machine: give it time.
  }, 180_000);

  it.skipIf(!built)(`fails with one error line when the data is not there or a flag is wrong${notBuilt}`, async () => {
    const r = await superfaas(["run", "image-classification", "--backend", "local", "--data", "s3://data/nowhere", "--images", "10"], { env: { ...process.env } });
    expect(r.code).not.toBe(0);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[BAD_INPUT\]: Fashion-MNIST file not found: s3:\/\/data\/nowhere\/t10k-(images|labels)-idx\d-ubyte — upload the uncompressed IDX files first/)]);
    const wc = await superfaas(["run", "wordcount", "--data", "s3://data/fashion/", "--chunk", "0x10"], { env: { ...process.env } });
    expect(wc.code).toBe(2);
    expect(errorLines(wc.stderr)).toEqual([expect.stringMatching(/^error\[BAD_INPUT\]: invalid value "0x10" for chunk/)]);
  });
});
