// The OpenWhisk emulator's public types: its options, limits, counters, activation records and info document, as
// consumers of @superfaas/testing see them. Types only.
import type { ChildProcess } from "node:child_process";

/** A runtime kind the deployment offers, as its runtimes manifest lists it. */
export interface EmulatorKind {
  kind: string;
  image?: string;
  default?: boolean;
  deprecated?: boolean;
}

/** Which real deployment to behave like: "apache" (nodejs:18, nodejs:20), "helm" (nodejs:14, nodejs:16), "custom". */
export type OpenWhiskProfile = "apache" | "helm" | "custom";

/** What each profile sets; every option given beside `profile` wins over it. */
export interface ProfileSettings {
  kinds: EmulatorKind[];
  actionConcurrency: { min: number; max: number; std: number };
  allowConcurrent: boolean;
  concurrencyWording: "threshold" | "range";
}

/** Stragglers on demand (see `OpenWhiskEmulatorOptions.straggle`). */
export interface StraggleSpec {
  fraction: number;
  factor: number;
  seed?: number;
}

/** How the emulator is set up; every field has the stock deployment's value by default. */
export interface OpenWhiskEmulatorOptions {
  /** The deployment to behave like (default "apache": the stock limits, kinds nodejs:18 and nodejs:20). */
  profile?: OpenWhiskProfile;
  /**
   * Which controller and scheduler throttle (default "legacy": the ShardingContainerPoolBalancer's controller, whose
   * 429s count). "fpc": the new scheduler's controller answers a concurrency 429 as "Too many requests" (per-minute
   * 429s as legacy), and `throttleNext(n, {reason: "queue"})` is its MemoryQueue's way.
   */
  scheduler?: "legacy" | "fpc";
  /** Runtime kinds offered (default: the profile's); the first with `default` is what `nodejs:default` means. */
  kinds?: EmulatorKind[];
  /** The invokers set __OW_ALLOW_CONCURRENT=true (default: the profile's; false on stock deployments). */
  allowConcurrent?: boolean;
  /** How a refused action concurrency is worded: "threshold" (current controllers) or "range" ("out of [1, 1]"). */
  concurrencyWording?: "threshold" | "range";
  /**
   * A front proxy (an OpenShift route: 30 s by default) that answers an HTML 504 to any request not answered within
   * this many ms, while the controller goes on (default 0: none).
   */
  frontProxyTimeoutMs?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: a random free one). */
  port?: number;
  /** The one namespace (default "guest"); `_` in paths means it. */
  namespace?: string;
  /** `uuid:key` accepted by basic auth (default: a random one, see `emulator.auth`). */
  auth?: string;
  /** Invokers (default 1). */
  invokers?: number;
  /** Containers one invoker runs at once, like INVOKER_MAX_CONTAINERS (default 8). */
  containersPerInvoker?: number;
  /** Per-namespace activations in flight, queued ones included (default 30, a stock deployment's). */
  concurrentInvocations?: number;
  /** Per-namespace invocations per wall-clock minute (default 60, a stock deployment's). */
  invocationsPerMinute?: number;
  /**
   * How long a blocking invocation waits before answering 202 (default 60 000 ms), and the largest `timeout` query
   * parameter accepted (controller.activation.max-wait-for-blocking-activation): a larger one gets 400, as on the platform.
   */
  blockingWindowMs?: number;
  /** Largest invocation body (default 1 MiB): larger ones get 413. */
  maxParameterBytes?: number;
  /** Largest result (default 1 MiB): larger ones end as an application error. */
  maxResultBytes?: number;
  /** Largest action code (default 48 MiB). */
  maxCodeBytes?: number;
  memoryMb?: { min: number; max: number; std: number };
  timeoutMs?: { min: number; max: number; std: number };
  logsMb?: { min: number; max: number; std: number };
  actionConcurrency?: { min: number; max: number; std: number };
  /** Activation records kept (oldest dropped first; default 100 000). */
  activationsKept?: number;
  /** How long a container may take to start listening (default 30 000 ms). */
  containerStartTimeoutMs?: number;
  /** Copy every container's output to stderr (default false). */
  log?: boolean;
  /** The wall clock the per-minute throttle counts by (default Date.now). */
  clock?: () => number;
  /**
   * For throughput benchmarks only (default false): activations do not run in containers. Each accepted
   * invocation is answered at once, in the emulator's own process, with the envelope of an identity `map` (the
   * invocation's `task` comes back as the partial), which is what the benchmark's no-op job computes. Every
   * controller step (auth, throttles, faults, payload limits, activation records, polling) still happens; only
   * the action's code is never run (except for `crashNext`, which needs a container to kill), so a test of real
   * action code must leave this off.
   */
  instantActions?: boolean;
  /**
   * Stragglers on demand: this fraction of activations (picked from the seed by the order they are accepted in, so a
   * run is reproducible) is slowed by `factor` on the platform side. The action runs as usual, then its container holds
   * the answer back (factor − 1) times the run time, busy meanwhile and within the action's time limit; the activation
   * record's duration includes the wait. Not applied with `instantActions` (no container runs). Default: none.
   */
  straggle?: StraggleSpec;
  /** Time added to every activation before it reaches a container (controller, bus, invoker queue), in its waitTime (default 0). */
  invokeOverheadMs?: number;
  /** How often containers' resident memory is checked against their action's memory limit, in ms (default 20). */
  memoryCheckMs?: number;
}

/** Limits in force; tests may change them between runs. */
export interface OpenWhiskEmulatorLimits {
  concurrentInvocations: number;
  invocationsPerMinute: number;
  blockingWindowMs: number;
  maxParameterBytes: number;
  maxResultBytes: number;
  maxCodeBytes: number;
  containersPerInvoker: number;
}

export type ActivationStatus = "success" | "application error" | "action developer error" | "whisk internal error";

/** An activation record as GET /activations/{id} returns it. */
export interface ActivationRecord {
  namespace: string;
  name: string;
  version: string;
  subject: string;
  activationId: string;
  start: number;
  end: number;
  duration: number;
  response: { status: ActivationStatus; success: boolean; result: Record<string, unknown>; size: number };
  logs: string[];
  annotations: { key: string; value: unknown }[];
  publish: boolean;
}

/** The controller's info document (Controller.scala `info`). */
export interface ControllerInfo {
  description: string;
  support: Record<string, string>;
  api_paths: string[];
  limits: Record<string, number>;
  runtimes: Record<string, { kind: string; image: string; deprecated: boolean; default: boolean; attached: boolean; requireMain: boolean }[]>;
}

export interface OpenWhiskEmulatorStats {
  /** Responses a front proxy cut with a 504 (see `frontProxyTimeoutMs`). */
  cut?: number;
  requests: number;
  /** Requests for the info document (`GET /`) that carried an Authorization header (it needs none). */
  infoWithCredentials: number;
  /** GET /activations/{id} calls. */
  polls: number;
  invocations: number;
  accepted: number;
  throttled: number;
  rejected: number;
  completed: number;
  coldStarts: number;
  warmStarts: number;
  containersStarted: number;
  containersKilled: number;
  /** Containers killed for going over their action's memory. */
  memoryKills: number;
  peakContainers: number;
  peakInFlight: number;
  /** Activations the `straggle` option slowed. */
  straggled: number;
  byStatus: Record<ActivationStatus, number>;
}

/** A container: one child process running proxy.js. */
export interface EmulatorContainer {
  id: string;
  key: string;
  version: string;
  state: "starting" | "ready" | "dead";
  running: Set<unknown>;
  /** Set (to the reason) once its action was deleted or updated: it runs what it runs to the end, then goes. */
  retiring?: string;
  child: ChildProcess | undefined;
}

/** The options in force: the defaults, then the profile's, then those given. */
export type OpenWhiskEmulatorSettings = Omit<Required<OpenWhiskEmulatorOptions>, "auth" | "straggle"> & { auth?: string; straggle: StraggleSpec | undefined };
