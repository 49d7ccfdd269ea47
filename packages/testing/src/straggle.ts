// Stragglers on demand for both loopback servers: the same rule as the local backend's `straggle` option
// (@superfaas/core's straggle.ts), kept here on its own because the servers stand in for platforms that know
// nothing of superfaas.

export interface StraggleRule {
  fraction: number;
  factor: number;
  seed?: number;
}

/** Whether the n-th invocation (0-based, in arrival order) straggles: a hash of (seed, n) against the fraction. */
export function straggles(spec: StraggleRule, n: number): boolean {
  let x = ((spec.seed ?? 1) ^ Math.imul(n + 1, 0x9e3779b9)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x / 2 ** 32 < spec.fraction;
}

/** Checks a straggle option and returns it (or undefined when absent); throws a plain Error naming the server. */
export function checkStraggle(spec: StraggleRule | undefined, who: string): StraggleRule | undefined {
  if (spec === undefined) return undefined;
  const ok = spec && spec.fraction >= 0 && spec.fraction <= 1 && spec.factor >= 1 && Number.isFinite(spec.factor) && (spec.seed === undefined || Number.isSafeInteger(spec.seed));
  if (!ok) throw new Error(`${who}: straggle takes {fraction: 0..1, factor: >= 1, seed?: integer}, got ${JSON.stringify(spec)}`);
  return spec;
}
