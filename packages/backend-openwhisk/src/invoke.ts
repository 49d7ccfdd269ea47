// The wire call of one attempt: a blocking invoke (POST …/actions/NAME?blocking=true&timeout=…) that waits for the
// activation's record, polling for it when the blocking window runs out first, with the namespace's
// concurrent_actions as the most sent at once. The answer is the record's envelope or the failure to classify.
import { TaskError, type Answer } from "@superfaas/core";
import { classify, isPending, isRecord, Refused, Unreachable, type Activation, type Where } from "./classify.js";
import { sleep } from "./control.js";
import { maxBlockingWait } from "./discover.js";
import type { HttpAnswer, Transport } from "./transport.js";

/** What an invocation reads of the platform: its settings, the deployment and the transport of the moment. */
export interface InvokeContext extends Where {
  readonly transport: Transport | undefined;
}

export class ActionInvoker {
  /** The run's progress log, for the one line saying the controller's maximum wait was found lower. */
  log: ((message: string) => void) | undefined;
  private readonly paths = new Map<string, string>();

  constructor(
    private readonly at: InvokeContext,
    /**
     * Blocking invocations ask the controller to answer within this: below any front proxy's limit, and at most the
     * longest wait the controller allows (60 s by default, lowered when it says its maximum is less).
     */
    public blockingTimeoutMs: number,
  ) {}

  /** Forgets the invoke paths (a new transport, or the backend closed). */
  reset(): void {
    this.paths.clear();
  }

  /** Blocking invoke; falls back to polling when the platform's blocking window (60 s) runs out first. */
  async send(name: string, body: string, signal: AbortSignal): Promise<Answer> {
    const transport = this.at.transport!;
    // The path carries the blocking timeout (lowered when the controller allows less). The run's window keeps at most
    // the namespace's concurrent_actions in flight (facts.platformConcurrency): no queue of slots here.
    let path = this.paths.get(name);
    if (path === undefined) this.paths.set(name, (path = transport.invokePath(name)));
    const startedAt = performance.now();
    const post = (to: string) =>
      // The signal reaches the request: an aborted attempt destroys its connection at once.
      transport.post(to, body, signal).catch((err: unknown) => {
        throw new Unreachable(transport.url(to), err);
      });
    const asked = this.blockingTimeoutMs;
    let answer = await post(path);
    const allowed = answer.status === 400 ? maxBlockingWait(answer.body) : undefined;
    if (allowed !== undefined && allowed < asked) {
      // The controller waits less than we asked for (its max-wait-for-blocking-activation is below 60 s) and refused
      // the invocation before making an activation: ask for its maximum from now on (the invocations sent meanwhile
      // learn the same), and send this one again.
      this.lowerBlockingTimeout(allowed);
      path = this.paths.get(name) ?? transport.invokePath(name);
      this.paths.set(name, path);
      answer = await post(path);
    }
    const { status, body: record } = answer;
    // 200 for a success; an activation that ran and failed comes back with its record too: 502 for application and
    // developer errors, 500 for whisk internal errors. The record says more than the status does.
    if (isRecord(record) && (status < 300 || status === 500 || status === 502)) return this.answer(record);
    // 202: the blocking window ran out first, the activation is still running. Poll for its record.
    if (status < 300 && isPending(record)) return this.answer(await this.poll(transport, record.activationId, startedAt, signal));
    throw new Refused(status, record);
  }

  /** Blocking invocations ask for at most `ms` from now on (every action's path is made again). */
  lowerBlockingTimeout(ms: number): void {
    if (ms >= this.blockingTimeoutMs) return;
    this.log?.(`openwhisk: the controller waits at most ${ms} ms for a blocking invocation (it refused timeout=${this.blockingTimeoutMs}): blocking invocations ask for ${ms} ms, longer activations are polled`);
    this.blockingTimeoutMs = ms;
    if (this.at.transport) this.at.transport.blockingTimeout = ms;
    this.paths.clear();
  }

  private async poll(transport: Transport, activationId: string, invokedAt: number, signal: AbortSignal): Promise<Activation> {
    // An activation that is still not recorded well after the action's own time limit is lost: run it again.
    const giveUpAt = invokedAt + (this.at.deployment?.actionTimeoutMs ?? this.at.config.actionTimeoutMs) + this.at.config.activationGraceMs;
    const path = transport.activationPath(activationId);
    for (let i = 0; ; i++) {
      await sleep(Math.min(2_000, 100 * 2 ** i), signal);
      let answer: HttpAnswer | undefined;
      try {
        answer = await transport.get(path, signal);
      } catch {
        if (signal.aborted) throw signal.reason;
        // A network error while polling: the activation goes on regardless, so keep polling (until giveUpAt).
      }
      if (answer) {
        if (answer.status === 200 && isRecord(answer.body)) return answer.body;
        if (answer.status !== 404) {
          const te = classify(new Refused(answer.status, answer.body), this.at);
          if (te !== "missing" && !te.retryable) throw te;
        }
      }
      if (performance.now() > giveUpAt) throw new TaskError(`activation ${activationId} was never recorded (lost by the platform)`, { retryable: true, origin: "platform" });
    }
  }

  /** The record's envelope (success, or the job's error in `error`: see action-entry) or the record as a failure. */
  private answer(a: Activation): Answer {
    const response = a.response;
    const status = response?.status;
    const result = response?.result;
    const envelope =
      result && typeof result === "object" && "ok" in result ? result : result?.error && typeof result.error === "object" && "ok" in (result.error as object) ? result.error : undefined;
    let waitMs: number | undefined;
    let initMs: number | undefined;
    const notes = a.annotations;
    if (notes) {
      for (let i = 0; i < notes.length; i++) {
        const n = notes[i]!;
        if (n.key === "waitTime") waitMs = n.value as number;
        else if (n.key === "initTime") initMs = n.value as number;
      }
    }
    return {
      ...(envelope && (status === "success" || status === "application error") ? { envelope } : { failure: a }),
      platformId: a.activationId,
      workerId: a.activationId,
      durationMs: a.duration,
      billedMs: a.duration,
      waitMs,
      initMs,
      coldStart: initMs !== undefined,
    };
  }
}
