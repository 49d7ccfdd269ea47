// Stragglers on demand: a platform-side slowdown of a chosen fraction of invocations, so backup tasks can be tested and
// benchmarked. The local backend uses it; the loopback OpenWhisk and Lambda servers keep their own copy of the rule
// (testing/src/straggle.ts): they stand in for platforms that know nothing of superfaas and import none of it.
import { SuperfaasError } from "../errors.js";

/** Slow `fraction` of invocations by `factor`: the work runs, then its answer is held back (factor − 1) × its run time. */
export interface StraggleSpec {
  /** Share of invocations slowed, 0..1. */
  fraction: number;
  /** How many times slower a slowed invocation answers (>= 1). */
  factor: number;
  /** Picks which invocations straggle; the same seed slows the same invocations (by arrival order). Default 1. */
  seed?: number;
}

/**
 * Whether the n-th invocation (0-based, in arrival order) straggles: a hash of (seed, n) against the fraction, so a run
 * is reproducible without any state but the count.
 */
export function straggles(spec: StraggleSpec, n: number): boolean {
  let x = ((spec.seed ?? 1) ^ Math.imul(n + 1, 0x9e3779b9)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x / 2 ** 32 < spec.fraction;
}

/** Parses `FRACTIONxFACTOR` (`0.05x10`: 5% of invocations 10 times slower); throws BAD_INPUT naming `flag`. */
export function parseStraggle(text: string, flag = "--straggle"): StraggleSpec {
  const m = /^\s*([0-9.]+(?:e-?\d+)?)(%?)\s*x\s*([0-9.]+(?:e\d+)?)\s*$/i.exec(text);
  const fraction = m ? Number(m[1]) / (m[2] ? 100 : 1) : Number.NaN;
  const factor = m ? Number(m[3]) : Number.NaN;
  const spec = { fraction, factor };
  checkStraggle(spec, flag, JSON.stringify(text));
  return spec;
}

/** Throws BAD_INPUT unless the fraction is in 0..1 and the factor at least 1. */
export function checkStraggle(spec: StraggleSpec, flag = "straggle", shown = JSON.stringify(spec)): void {
  const seedOk = spec.seed === undefined || (Number.isSafeInteger(spec.seed) && spec.seed >= 0);
  if (!(spec.fraction >= 0 && spec.fraction <= 1) || !(spec.factor >= 1 && Number.isFinite(spec.factor)) || !seedOk) {
    throw new SuperfaasError(
      "BAD_INPUT",
      `invalid value ${shown} for ${flag}`,
      `${flag} takes FRACTIONxFACTOR, a share of invocations from 0 to 1 (or a percentage) and how many times slower they answer, e.g. 0.05x10 or 5%x10`,
    );
  }
}
