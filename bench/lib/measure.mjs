// What the client-throughput benchmarks share: forced garbage collection and CPU-time arithmetic.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gcFunction;
/** A full, synchronous garbage collection, without needing `node --expose-gc`. */
export function collectGarbage() {
  if (!gcFunction) {
    if (typeof globalThis.gc === "function") gcFunction = globalThis.gc;
    else {
      setFlagsFromString("--expose-gc");
      gcFunction = runInNewContext("gc");
    }
  }
  gcFunction();
}

/** Seconds of CPU in a `process.cpuUsage()` reading or delta. */
export const cpuSeconds = (u) => (u.user + u.system) / 1e6;
