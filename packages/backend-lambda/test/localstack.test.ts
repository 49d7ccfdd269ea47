// The conformance suite against LocalStack's Lambda and S3, started with testcontainers. It never pulls an image:
// it runs only when a Docker engine answers and already holds a localstack/localstack image.
import { request } from "node:http";
import { existsSync } from "node:fs";
import { afterAll } from "vitest";
import { describeConformance } from "@superfaas/core/conformance";
import { lambdaBackend } from "../src/index.js";

const SOCKET = process.env.DOCKER_HOST?.startsWith("unix://") ? process.env.DOCKER_HOST.slice("unix://".length) : "/var/run/docker.sock";

/** Asks the Docker Engine API (over its unix socket) for local localstack images; never pulls. */
function localstackImage(): Promise<{ image?: string; reason?: string }> {
  if (process.env.DOCKER_HOST && !process.env.DOCKER_HOST.startsWith("unix://")) return Promise.resolve({ reason: `DOCKER_HOST ${process.env.DOCKER_HOST} is not a unix socket this test can query` });
  if (!existsSync(SOCKET)) return Promise.resolve({ reason: `no Docker engine (${SOCKET} does not exist)` });
  return new Promise((resolve) => {
    const filters = encodeURIComponent(JSON.stringify({ reference: ["localstack/localstack"] }));
    const req = request({ socketPath: SOCKET, path: `/images/json?filters=${filters}`, timeout: 3_000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString("utf8")));
      res.on("end", () => {
        try {
          const images = JSON.parse(body) as { RepoTags?: string[] }[];
          const tag = images.flatMap((i) => i.RepoTags ?? []).find((t) => t.startsWith("localstack/localstack:"));
          resolve(tag ? { image: tag } : { reason: "the Docker engine has no localstack/localstack image (this test never pulls one)" });
        } catch {
          resolve({ reason: `the Docker engine answered HTTP ${res.statusCode} to an image query` });
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ reason: `the Docker engine at ${SOCKET} does not answer: ${err.message}` }));
    req.end();
  });
}

const found = await localstackImage();
let stop: (() => Promise<unknown>) | undefined;
afterAll(async () => {
  await stop?.();
});

describeConformance({
  name: `lambda (LocalStack${found.image ? ` ${found.image}` : ""})`,
  ...(found.reason ? { skipReason: found.reason } : {}),
  async createBackend() {
    const { LocalstackContainer } = await import("@testcontainers/localstack");
    // LocalStack runs each function in a container of its own, so it needs the engine's socket.
    const container = await new LocalstackContainer(found.image!)
      .withEnvironment({ SERVICES: "lambda,s3,iam" })
      .withBindMounts([{ source: SOCKET, target: "/var/run/docker.sock" }])
      .start();
    stop = () => container.stop();
    const endpoint = container.getConnectionUri();
    return lambdaBackend({
      endpoint,
      s3Endpoint: endpoint,
      // Inside LocalStack's function containers AWS_ENDPOINT_URL already points at LocalStack.
      functionS3Endpoint: "none",
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      role: "arn:aws:iam::000000000000:role/superfaas-lambda",
      bucket: "superfaas-localstack",
      memory: 512,
      functionTimeout: 60,
      env: {},
    });
  },
  largePayloadBytes: 7 * 1024 * 1024,
  timeScale: 4,
});
