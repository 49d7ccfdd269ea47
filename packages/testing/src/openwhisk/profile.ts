// The deployments the OpenWhisk emulator stands in for, as data in one place: the kinds each offers, its action
// concurrency, and the stock limits every one of them has unless an option says otherwise. The default profile
// ("apache") is the strictest.
import type { OpenWhiskEmulatorSettings, OpenWhiskProfile, ProfileSettings } from "./options.js";

export const MB = 1024 * 1024;

/**
 * Deployment profiles, as real deployments ship (PLATFORMS.md): apache/openwhisk's own defaults
 * (ansible/files/runtimes.json: nodejs:18, nodejs:20 default), the Helm chart (openwhisk-deploy-kube: nodejs:14
 * default, nodejs:16) and a custom one whose operator raised the action-concurrency limit and set
 * __OW_ALLOW_CONCURRENT on the invokers. All three have the stock limits otherwise: memory 128–512 MB, time limit
 * 100 ms–300 s, action concurrency 1..1, 30 activations in flight and 60 invocations a minute per namespace.
 * `concurrencyWording` is how the PUT words a refused action concurrency: current controllers say "exceeds allowed
 * threshold of", the releases the Helm chart ships say "out of [min, max]".
 */
export const PROFILES: Record<OpenWhiskProfile, ProfileSettings> = {
  apache: {
    kinds: [
      { kind: "nodejs:18", image: "openwhisk/action-nodejs-v18:nightly" },
      { kind: "nodejs:20", image: "openwhisk/action-nodejs-v20:nightly", default: true },
    ],
    actionConcurrency: { min: 1, max: 1, std: 1 },
    allowConcurrent: false,
    concurrencyWording: "threshold",
  },
  helm: {
    kinds: [
      { kind: "nodejs:14", image: "openwhisk/action-nodejs-v14:1.21.0", default: true },
      { kind: "nodejs:16", image: "openwhisk/action-nodejs-v16:1.21.0" },
    ],
    actionConcurrency: { min: 1, max: 1, std: 1 },
    allowConcurrent: false,
    concurrencyWording: "range",
  },
  custom: {
    kinds: [
      { kind: "nodejs:18", image: "openwhisk/action-nodejs-v18:nightly" },
      { kind: "nodejs:20", image: "openwhisk/action-nodejs-v20:nightly", default: true },
      { kind: "nodejs:22", image: "example/action-nodejs-v22:latest" },
    ],
    actionConcurrency: { min: 1, max: 500, std: 1 },
    allowConcurrent: true,
    concurrencyWording: "threshold",
  },
};

/** The options every emulator starts from: the stock deployment's limits and a loopback address. */
export const DEFAULTS: Omit<OpenWhiskEmulatorSettings, keyof ProfileSettings> = {
  profile: "apache",
  scheduler: "legacy",
  frontProxyTimeoutMs: 0,
  host: "127.0.0.1",
  port: 0,
  namespace: "guest",
  invokers: 1,
  containersPerInvoker: 8,
  concurrentInvocations: 30,
  invocationsPerMinute: 60,
  blockingWindowMs: 60_000,
  maxParameterBytes: MB,
  maxResultBytes: MB,
  maxCodeBytes: 48 * MB,
  memoryMb: { min: 128, max: 512, std: 256 },
  timeoutMs: { min: 100, max: 300_000, std: 60_000 },
  logsMb: { min: 0, max: 10, std: 10 },
  activationsKept: 100_000,
  containerStartTimeoutMs: 30_000,
  log: false,
  clock: () => Date.now(),
  instantActions: false,
  straggle: undefined,
  // Time the controller and invoker add to every activation before it reaches a container (load balancer, message
  // bus, invoker queue): counted in the record's waitTime, as on the platform. 0 on loopback; benchmarks raise it.
  invokeOverheadMs: 0,
  // How often a container's resident memory is checked against its action's memory limit (as a cgroup enforces it).
  memoryCheckMs: 20,
};
