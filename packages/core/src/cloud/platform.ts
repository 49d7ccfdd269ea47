// What a cloud supplies to the shared function lifecycle (function-backend.ts): deployment, transport and error
// classification for its platform, nothing else. Bundling, the object store's per-run prefix, offloading, envelopes,
// figures, billing and clean-up live in the shared part, once for every cloud.
import type { BackendFacts, PrepareContext } from "../backend.js";
import type { Bundle } from "../remote/bundle.js";
import type { TaskError } from "../errors.js";
import type { ObjectStore } from "../data/store.js";

/** Who made a function or an object-store prefix: written on it so a later clean-up can find what a killed run left. */
export interface OwnerMarker {
  /** Always "superfaas". */
  tool: "superfaas";
  runId: string;
  /** ISO 8601 time the run deployed or wrote it. */
  createdAt: string;
  job: string;
  /**
   * The run was told to keep the function (`--keep`): `superfaas clean --orphans` never deletes it, whatever becomes of
   * the run's journal. What `--keep` kept stays until the user deletes it by name.
   */
  kept?: true;
}

/** What to deploy: the function's name (code and settings hashed), its bundle and its owner. */
export interface FunctionSpec {
  name: string;
  bundle: Bundle;
  owner: OwnerMarker;
}

/** What the platform said about one invocation, whatever its outcome. */
export interface InvocationFigures {
  /** Time the function ran, as the platform measured it. */
  durationMs?: number;
  billedMs?: number;
  initMs?: number;
  waitMs?: number;
  coldStart?: boolean;
  /** Activation id, request id. */
  platformId?: string;
  /** Used when the envelope names no worker. */
  workerId?: string;
  /** Peak memory of the function's environment, in MB, where the platform reports it. */
  maxMemoryUsedMb?: number;
}

/**
 * The platform's answer to one invocation that ran: the function's envelope (success or the job's own error), or
 * `failure` when the platform itself ended the invocation (a crash, its own time limit, a refused result), which
 * `classify` turns into a TaskError. Both carry the figures, so failed attempts are billed like successful ones.
 */
export interface Answer extends InvocationFigures {
  envelope?: unknown;
  failure?: unknown;
}

/** How the shared part goes on with one attempt once its request is answered or has failed (see `sendThen`). */
export interface AttemptContinuation<T> {
  /** The attempt's task, for messages. */
  readonly taskIndex: number;
  /** The platform answered. */
  answered(answer: Answer): T | Promise<T>;
  /** The request failed as `send` would have rejected. */
  failed(err: unknown): T | Promise<T>;
}

/** The object store as the shared part uses it: the ObjectStore contract, and a way to let go of its client. */
export interface CloudStore extends ObjectStore {
  destroy?(): void;
  /** The "folders" directly under `prefix`, every page (`superfaas clean` looks for run prefixes with it). */
  listPrefixes?(prefix: string): Promise<string[]>;
}

/** A function found on the platform with superfaas's owner marker. */
export interface OwnedFunction {
  name: string;
  owner: OwnerMarker;
}

/** One cloud's deploy, transport and error classification, handed to `FunctionBackend`. */
export interface CloudPlatform {
  /** "openwhisk", "lambda": names the backend, its bundles and its messages. */
  readonly name: string;
  /** The shared part offloads tasks over `inlinePayloadBytes` and asks the function to store partials over it. */
  readonly facts: BackendFacts & { inlinePayloadBytes: number };
  /** Words for the inline limit in errors, e.g. "OpenWhisk's 1 MB parameter limit". */
  readonly inlineLimitText: string;
  /** The function's entry module (see `entryModulePath`) and the Node.js version the platform runs ("node20"). */
  readonly entry: { path: string; nodeTarget: string };
  /** Packages the entry imports only to reach the object store: left out of the bundle when no store is configured. */
  readonly storeModules: string[];
  /** Longest function name the platform takes (default 64). */
  readonly maxNameLength?: number;
  /** Keep deployed functions after the run (they are deleted otherwise). */
  readonly keep: boolean;
  /** The object store for payloads over the inline limit, when one is configured (ready after `open`). */
  readonly store: CloudStore | undefined;
  /** Reads the platform's limits before a run is planned, updating `facts` (see `Backend.discover`). */
  discover?(ctx: { signal?: AbortSignal; log?: (message: string) => void }): Promise<void>;
  /** Called by every prepare before anything else: size connection pools for `ctx.concurrency`, make the store ready. */
  open(ctx: PrepareContext): Promise<void>;
  /**
   * Every setting that changes what the deployed function does (runtime, memory, time limit, concurrency,
   * architecture, role, bound parameters such as the store's location): hashed into the function's name with the
   * code, so changed settings never reuse a stale function. Valid after `open`.
   */
  settings(): Record<string, unknown>;
  /** Makes the function exist and ready, marked with its owner; "found" when it existed already (not ours to delete). */
  deploy(spec: FunctionSpec, ctx: PrepareContext): Promise<"created" | "found">;
  /** Deletes a function this backend created. */
  remove(name: string): Promise<void>;
  /** Every function on the platform that carries superfaas's owner marker, all pages of the listing. */
  listOwned?(): Promise<OwnedFunction[]>;
  /** The log group a function writes to, where the platform keeps one per function that outlives it (Lambda). */
  logGroupOf?(name: string): string;
  /** Deletes a log group a run's function left (`superfaas clean`); a missing one is no error. */
  removeLogGroup?(group: string): Promise<void>;
  /** Invokes the function with the task payload (JSON text); rejects with what `classify` understands. */
  send(name: string, payload: string, signal: AbortSignal): Promise<Answer>;
  /**
   * Optional: `send(...).then((a) => next.answered(a), (e) => next.failed(e))`, for a transport that can carry `next`
   * with its request, so an attempt in flight holds no continuation of its own.
   */
  sendThen?<T>(name: string, payload: string, signal: AbortSignal, next: AttemptContinuation<T>): Promise<T>;
  /** Turns a rejection of `send`, or an Answer's `failure`, into a TaskError; "missing" when the function is gone. */
  classify(error: unknown, name: string): TaskError | "missing";
  /** What the platform recorded for the function's invocations since `since` (epoch ms), where it keeps records (see `Backend.billedSince`). */
  billedSince?(name: string, since: number, expected: number, signal: AbortSignal): Promise<{ invocations: number; billedMs: number; complete: boolean } | undefined>;
  /** Estimated cost in US dollars of the attempts, where the platform bills for them. */
  estimateCost?(usage: { invocations: number; billedMs: number }): number;
  /** Closes clients and connections (after `remove` and the store's clean-up). */
  close(): Promise<void>;
}
