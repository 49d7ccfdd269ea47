// The conformance suite against a real OpenWhisk: (1) the deployment your credentials point at, when
// SUPERFAAS_LIVE=1; (2) an openwhisk/standalone container started with testcontainers, when a Docker engine is
// reachable and already has the images (nothing is ever pulled). Each is skipped with its reason otherwise.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { run } from "@superfaas/core";
import { conformanceJob, describeConformance } from "@superfaas/core/conformance";
import { OpenWhiskBackend, resolveOpenWhiskConfig, type OpenWhiskOptions } from "../src/index.js";

const MB = 1024 * 1024;

/** Eight warm containers before the suite: its ordering test cannot tell finishing order through cold starts. */
async function warmUp(backend: OpenWhiskBackend): Promise<OpenWhiskBackend> {
  await run(conformanceJob, { tasks: Array.from({ length: 8 }, (_, i) => ({ op: "echo" as const, value: i, sleepMs: 200 })) }, { backend, concurrency: 8 });
  return backend;
}

// ---- (1) the deployment the credentials point at --------------------------------------------------------------

function liveSkipReason(): string | undefined {
  if (process.env.SUPERFAAS_LIVE !== "1") return "set SUPERFAAS_LIVE=1 to run against a real OpenWhisk";
  try {
    resolveOpenWhiskConfig({});
    return undefined;
  } catch (err) {
    return `no OpenWhisk credentials (__OW_API_HOST/__OW_API_KEY or ~/.wskprops): ${(err as Error).message}`;
  }
}
const liveReason = liveSkipReason();
const liveBucket = process.env.SUPERFAAS_BUCKET;

describeConformance({
  name: `live OpenWhisk${liveBucket ? ` with bucket ${liveBucket}` : " (no SUPERFAAS_BUCKET: large payload kept under 1 MB)"}`,
  ...(liveReason ? { skipReason: liveReason } : {}),
  // Without a bucket a payload over 1 MB cannot come back at all; the suite then checks a large inline one.
  largePayloadBytes: liveBucket ? 3 * MB : 900 * 1024,
  timeScale: 3,
  createBackend: () => warmUp(new OpenWhiskBackend({ actionTimeout: 120 })),
});

// ---- (2) openwhisk/standalone in Docker, only with images already present -------------------------------------

const STANDALONE_IMAGE = process.env.SUPERFAAS_OW_STANDALONE_IMAGE ?? "openwhisk/standalone:nightly";
const RUNTIME_IMAGE = process.env.SUPERFAAS_OW_RUNTIME_IMAGE ?? "openwhisk/action-nodejs-v20:nightly";
// The standalone image's built-in guest key, the same in every copy of it (not a secret).
const STANDALONE_GUEST_AUTH = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

async function dockerSkipReason(): Promise<string | undefined> {
  const hints = [process.env.DOCKER_HOST, "/var/run/docker.sock", join(homedir(), ".testcontainers.properties"), process.env.XDG_RUNTIME_DIR && join(process.env.XDG_RUNTIME_DIR, "docker.sock")];
  if (!hints.some((h) => h && (h.includes("://") || existsSync(h)))) return "no Docker engine (no DOCKER_HOST, /var/run/docker.sock or ~/.testcontainers.properties)";
  // testcontainers' resource reaper is itself an image it would pull: clean up by hand instead.
  process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
  try {
    const { getContainerRuntimeClient, ImageName } = await import("testcontainers");
    const client = await withTimeout(getContainerRuntimeClient(), 10_000, "the Docker engine");
    for (const image of [STANDALONE_IMAGE, RUNTIME_IMAGE]) {
      if (!(await withTimeout(client.image.exists(ImageName.fromString(image)), 10_000, "docker image inspect"))) {
        return `image ${image} is not present locally (this suite never pulls; \`docker pull ${image}\` first)`;
      }
    }
    return undefined;
  } catch (err) {
    return `Docker engine not reachable: ${(err as Error).message.split("\n")[0]}`;
  }
}
const dockerReason = await dockerSkipReason();

let stopStandalone: (() => Promise<void>) | undefined;
describeConformance({
  name: `openwhisk/standalone in Docker (${STANDALONE_IMAGE})`,
  ...(dockerReason ? { skipReason: dockerReason } : {}),
  largePayloadBytes: 900 * 1024,
  timeScale: 3,
  async createBackend() {
    const { GenericContainer, Wait } = await import("testcontainers");
    const container = await new GenericContainer(STANDALONE_IMAGE)
      .withPullPolicy({ shouldPull: () => false })
      .withExposedPorts(3233)
      // The standalone controller starts action containers through the host's engine.
      .withBindMounts([{ source: "/var/run/docker.sock", target: "/var/run/docker.sock" }])
      .withWaitStrategy(Wait.forHttp("/api/v1", 3233).forStatusCode(200))
      .withStartupTimeout(180_000)
      .start();
    stopStandalone = async () => {
      await container.stop({ timeout: 10_000 }).catch(() => undefined);
    };
    const options: OpenWhiskOptions = {
      apihost: `http://${container.getHost()}:${container.getMappedPort(3233)}`,
      auth: STANDALONE_GUEST_AUTH,
      namespace: "guest",
      wskprops: "/dev/null",
      env: {},
      actionTimeout: 120,
    };
    const backend = await warmUp(new OpenWhiskBackend(options));
    // Dispose the backend, then stop the container, whatever the suite did.
    const dispose = backend.dispose.bind(backend);
    backend.dispose = async () => {
      try {
        await dispose();
      } finally {
        await stopStandalone?.();
      }
    };
    return backend;
  },
});
