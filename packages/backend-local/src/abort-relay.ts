// The abort relay between the attempts' AbortSignals and piscina (see below).
// Piscina cancels a queued or running task (terminating its worker) when the signal it was given fires. Listening
// on every attempt's AbortSignal (an EventTarget) costs more than a small task, so piscina gets a tiny emitter
// instead and one sweeping timer relays aborts to it: a cancelled or timed-out attempt's worker stops within ~20 ms.
// (The scheduler has already settled the attempt by then; the sweep only frees the worker.)
export interface RelayedAbort {
  aborted: boolean;
  reason?: unknown;
  listener?: () => void;
  once(event: "abort", fn: () => void): void;
  // piscina's types name `off`; its code calls `removeListener`. Either removes that listener only.
  off(event: "abort", fn: () => void): void;
  removeListener(event: "abort", fn: () => void): void;
  /** Stops watching the signal, whoever listens: the attempt is over (piscina may never have listened). */
  release(): void;
}
const watched = new Map<AbortSignal, RelayedAbort>();
let sweep: ReturnType<typeof setInterval> | undefined;

export function watchAbort(signal: AbortSignal): RelayedAbort {
  const relay: RelayedAbort = {
    aborted: false,
    once(_event, fn) {
      relay.listener = fn;
    },
    off: (event, fn) => relay.removeListener(event, fn),
    removeListener(_event, fn) {
      if (relay.listener !== fn) return;
      relay.release();
    },
    release() {
      relay.listener = undefined;
      if (watched.get(signal) === relay) watched.delete(signal);
    },
  };
  watched.set(signal, relay);
  sweep ??= setInterval(() => {
    for (const [s, r] of watched) {
      if (!s.aborted) continue;
      watched.delete(s);
      r.aborted = true;
      r.reason = s.reason;
      r.listener?.();
    }
    if (watched.size === 0) {
      clearInterval(sweep);
      sweep = undefined;
    }
  }, 20);
  sweep.unref();
  return relay;
}

/** How many signals are watched now: one per attempt in flight, none once they are over. */
export function watchedSignals(): number {
  return watched.size;
}
