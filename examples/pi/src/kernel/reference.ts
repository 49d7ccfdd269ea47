// The pi point stream written as plainly as possible, in BigInt arithmetic: the definition that the fast kernels
// (js.ts, pi.wat, kernel/pi.c) must reproduce bit for bit. Slow (about a million points per second); tests only.
//
// Point i of the stream of seed s (0 <= i < 2^53) has the coordinates
//   lo = i mod 2^32, hi = floor(i / 2^32)
//   k  = mix(mix(s xor 0x243F6A88) + hi)                         per-block key: one per (seed, 2^32 points)
//   A = mix(k xor 0x85A308D3), B = mix(k xor 0x13198A2E), C = mix(k xor 0x03707344), D = mix(k xor 0xA4093822)
//   x  = mix(mix(lo + A) + B),    y = mix(mix(lo + C) + D)        (+ is modulo 2^32)
// where mix is the 32-bit "lowbias32" finaliser (xorshift-multiply, two multiplies). The point is a hit when
// x^2 + y^2 < 2^64, exactly, in integers.
//
// Why this generator:
// - Counter-based: a point is a pure function of (seed, i), so any split of [0, N) into tasks gives the same total,
//   and a task starts anywhere at no cost.
// - Each coordinate goes through two full rounds of lowbias32 (four multiplies, six xorshifts) with a key added
//   between them ("+", not "xor": with xor the two rounds' adjacent "h ^= h >> 16" steps would cancel). One round
//   of a good 32-bit finaliser already has low avalanche bias; two keyed rounds leave no structure that the hit
//   fraction can see, where weaker hashes (xorshift only, or a single multiply) show lattice patterns on
//   consecutive counters. x and y use independent keys, so they are separate keyed permutations of the counter.
// - For a fixed (seed, hi), x (and y) is a bijection of lo: within each block of 2^32 points every x value occurs
//   exactly once. The marginals are thus exactly uniform per block (a little better than independent draws); the
//   pairing of x with y is what is pseudo-random.
// - Only 32-bit lane operations (add, xor, shift, multiply), so it vectorises on any SIMD unit, WebAssembly's
//   i32x4 included; the 64-bit squares are i64x2.extmul in principle (pi.wat decides almost all points without
//   them, see there).

const M32 = 0xffffffffn;
const TWO64 = 1n << 64n;

/** lowbias32: h ^= h>>16; h *= 0x7feb352d; h ^= h>>15; h *= 0x846ca68b; h ^= h>>16, all modulo 2^32. */
export function mixReference(h: bigint): bigint {
  h &= M32;
  h ^= h >> 16n;
  h = (h * 0x7feb352dn) & M32;
  h ^= h >> 15n;
  h = (h * 0x846ca68bn) & M32;
  h ^= h >> 16n;
  return h;
}

/** The four keys of the block of 2^32 points with index high word `hi`. */
export function blockKeysReference(seed: number, hi: number): { a: bigint; b: bigint; c: bigint; d: bigint } {
  const k = mixReference(mixReference(BigInt(seed) ^ 0x243f6a88n) + BigInt(hi));
  return {
    a: mixReference(k ^ 0x85a308d3n),
    b: mixReference(k ^ 0x13198a2en),
    c: mixReference(k ^ 0x03707344n),
    d: mixReference(k ^ 0xa4093822n),
  };
}

/** The coordinates (two uniform u32) of point `index` of the stream of `seed`. */
export function pointReference(seed: number, index: number | bigint): { x: bigint; y: bigint } {
  const i = BigInt(index);
  const lo = i & M32;
  const { a, b, c, d } = blockKeysReference(seed, Number(i >> 32n));
  return {
    x: mixReference(mixReference(lo + a) + b),
    y: mixReference(mixReference(lo + c) + d),
  };
}

/** Hits among points [start, start + count) of the stream of `seed`: the reference for every kernel. */
export function countHitsReference(seed: number, start: number, count: number): number {
  let hits = 0;
  const end = BigInt(start) + BigInt(count);
  for (let i = BigInt(start); i < end; i++) {
    const { x, y } = pointReference(seed, i);
    if (x * x + y * y < TWO64) hits++;
  }
  return hits;
}
