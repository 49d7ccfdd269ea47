// The emulator's inner shapes: the state every part works on (actions, activations in flight, invokers and their
// containers, faults, counters) and what the parts ask of one another through the emulator. Types only.
import type { Agent, IncomingMessage, ServerResponse } from "node:http";
import type { ActivationRecord, EmulatorContainer, OpenWhiskEmulatorLimits, OpenWhiskEmulatorSettings, OpenWhiskEmulatorStats } from "./options.js";

/** An action's limits, as the PUT settled them. */
export interface ActionLimits {
  timeout: number;
  memory: number;
  logs: number;
  concurrency: number;
}

/** An action document as the controller keeps it (with its code). */
export interface Action {
  namespace: string;
  name: string;
  version: string;
  publish: boolean;
  exec: { kind: string; code: string; binary: boolean; main?: string };
  annotations: { key: string; value: unknown }[];
  parameters: { key: string; value: unknown }[];
  limits: ActionLimits;
  updated: number;
}

/** An activation accepted and not yet recorded. */
export interface Activation {
  id: string;
  key: string;
  ns: string;
  action: Action;
  params: Record<string, unknown>;
  acceptedAt: number;
  waiters: Set<(record: ActivationRecord | undefined) => void>;
  logs: string[];
  /** The `straggle` option's factor, when it picked this one. */
  slowBy?: number;
  /** Its container dies this long after the run request reaches it (crashNext, exhaustMemoryNext). */
  crashAfterMs?: number;
  /** ... and for exceeding its memory (exhaustMemoryNext). */
  memoryKill?: boolean;
}

/** An activation's outcome: the status code (an index of STATUS), the result, its size when the invoker measured it. */
export interface Outcome {
  statusCode: number;
  result?: Record<string, unknown>;
  size?: number;
}

/** When an activation ran, as its record says. */
export interface Times {
  start: number;
  end: number;
  waitTime?: number;
  initTime?: number;
  timedOut?: boolean;
  /** Recorded by the scheduler without an invoker (MemoryQueue.generateFallbackActivation). */
  fallback?: boolean;
}

export interface Invoker {
  index: number;
  containers: Set<Container>;
}

/** A container: one child process running proxy.js, and what the invoker knows of it. */
export interface Container extends EmulatorContainer {
  invoker: Invoker;
  running: Set<Activation>;
  /** Activations given to it while it starts (concurrency above 1). */
  backlog: Activation[];
  lastUsed: number;
  dir: string;
  port: number;
  /** Run requests sent to it so far. */
  runs: number;
  /** End-of-activation markers seen on each stream. */
  marks: { stdout: number; stderr: number };
  markWaiters: Set<() => void>;
  /** The activation its output belongs to (concurrency 1 only). */
  logTarget: Activation | undefined;
  memoryMb: number;
  memoryKilled: boolean;
  exited?: Promise<unknown>;
}

/** The faults waiting for the next invocations, each for `left` more. */
export interface Faults {
  serverError: { left: number; status: number }[];
  throttle: { left: number; reason: "concurrent" | "minute" | "queue"; whiskError: boolean }[];
  applicationError: { left: number; message: string }[];
  slow: { left: number; delayMs: number }[];
  lost: { left: number }[];
  crash: { left: number; afterMs: number }[];
  memory: { left: number; afterMs: number }[];
}

/** What the parts of the emulator share: its state, and the steps one part asks of another. */
export interface Emulator {
  readonly options: OpenWhiskEmulatorSettings;
  readonly kinds: Map<string, string>;
  readonly limits: OpenWhiskEmulatorLimits;
  readonly namespace: string;
  readonly auth: string;
  readonly subject: string;
  readonly stats: OpenWhiskEmulatorStats;
  readonly actions: Map<string, Action>;
  readonly activations: Map<string, ActivationRecord>;
  readonly lost: Set<string>;
  readonly pending: Map<string, Activation>;
  readonly queue: Activation[];
  readonly invokers: Invoker[];
  readonly ns: { inFlight: number; minute: number; minuteCount: number };
  readonly faults: Faults;
  readonly timers: Set<NodeJS.Timeout>;
  straggleSeq: number;
  readonly closed: boolean;
  readonly root: string;
  readonly url: string;
  /** Keeps the connections to the containers open between requests. */
  readonly childAgent: Agent;
  memoryTimer: NodeJS.Timeout | undefined;
  /** Every live container, as the invoker sees it. */
  live(): Container[];
  /** Runs `fn` after `ms` unless the emulator closed meanwhile; the timer is cleared on close. */
  later(ms: number, fn: () => void): NodeJS.Timeout;
  send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void;
  error(res: ServerResponse, status: number, error: string, headers?: Record<string, string>): void;
  readBody(req: IncomingMessage, limit: number): Promise<{ size: number; tooLarge: boolean; text: string }>;
  complete(act: Activation, response: Outcome, times: Times): void;
  enqueue(act: Activation): void;
  pump(): void;
  retire(c: Container, why: string): void;
  kill(c: Container, why: string): void;
  killForMemory(c: Container): void;
  internalError(err: unknown): void;
}
