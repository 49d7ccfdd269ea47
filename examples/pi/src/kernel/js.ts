// The pi kernel in plain JavaScript: the fallback where WebAssembly SIMD is not available, and the "plain JS"
// column of the benchmark. The stream is defined in reference.ts; this computes exactly the same hit count.

const TWO32 = 4294967296;
// The filter that decides almost every point in 32-bit integers (the same as in pi.wat): with xt = x >>> 17 and
// yt = y >>> 17 (15 bits each), d = xt^2 + yt^2 < 2^31, and since xt * 2^17 <= x < (xt + 1) * 2^17,
//   d >= 2^30             => x^2 + y^2 >= 2^64, a miss;
//   d <= 2^30 - 131070    => x^2 + y^2 < ((xt+1)^2 + (yt+1)^2) * 2^34 <= 2^64, a hit.
// Points with d in between (about one in 10^4) are decided exactly by exactHit.
const LIM = 0x40000000;
const NEAR = LIM - 131070;

/** lowbias32, the 32-bit mixer of the stream (see reference.ts). Returns a signed 32-bit value. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  return h ^ (h >>> 16);
}

/** The four per-block keys (signed 32-bit) for the block of 2^32 points with index high word `hi`. */
export function blockKeys(seed: number, hi: number): [number, number, number, number] {
  const k = mix32((mix32(seed ^ 0x243f6a88) + hi) | 0);
  return [mix32(k ^ 0x85a308d3), mix32(k ^ 0x13198a2e), mix32(k ^ 0x03707344), mix32(k ^ 0xa4093822)];
}

/** x^2 + y^2 < 2^64 for u32 x, y, exactly: the squares split into 16-bit halves so every partial sum fits a double. */
export function exactHit(x: number, y: number): boolean {
  const xh = x >>> 16;
  const xl = x & 0xffff;
  const yh = y >>> 16;
  const yl = y & 0xffff;
  const high = xh * xh + yh * yh; // weight 2^32, < 2^33
  const low = (xh * xl + yh * yl) * 131072 + xl * xl + yl * yl; // weight 1, < 2^51
  // x^2 + y^2 = high * 2^32 + low < 2^64  <=>  low < (2^32 - high) * 2^32; both sides are exact doubles.
  return low < (TWO32 - high) * TWO32;
}

/** mix(mix(l + a) + b) as an unsigned 32-bit value: one full coordinate. */
function coordinate(l: number, a: number, b: number): number {
  return mix32((mix32((l + a) | 0) + b) | 0) >>> 0;
}

/**
 * mix(mix(t) + k) without the final "h ^= h >>> 16", which leaves the top 16 bits (all the filter reads) alone.
 * Returns a signed 32-bit value.
 */
function coordinateTop(t: number, k: number): number {
  let h = t ^ (t >>> 16);
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  h = (h + k) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return Math.imul(h, 0x846ca68b);
}

/** Hits among points [lo, lo + n) of one block (lo + n <= 2^32, n < 2^31), given the block's keys. */
function countBlock(a: number, b: number, c: number, d: number, lo: number, n: number): number {
  let hits = 0;
  let la = (lo + a) | 0; // lo + A + j, the first mixer input of x (mod 2^32)
  let lc = (lo + c) | 0;
  for (let j = 0; j < n; j++) {
    const xt = coordinateTop(la, b) >>> 17;
    const yt = coordinateTop(lc, d) >>> 17;
    la = (la + 1) | 0;
    lc = (lc + 1) | 0;
    const dd = xt * xt + yt * yt;
    hits += (dd - LIM) >>> 31; // 1 when dd < 2^30, without a branch
    if ((dd - NEAR - 1) >>> 0 < LIM - NEAR - 1) {
      // NEAR < dd < 2^30: counted as a hit above, but it may be a miss.
      const l = (lo + j) | 0;
      if (!exactHit(coordinate(l, a, b), coordinate(l, c, d))) hits--;
    }
  }
  return hits;
}

/** Throws unless seed is a u32 and [start, start + count) a range of whole numbers within [0, 2^53]. */
export function checkRange(seed: number, start: number, count: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`pi kernel: seed must be an integer in 0..4294967295, got ${seed}`);
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`pi kernel: start must be a whole number, got ${start}`);
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`pi kernel: count must be a whole number, got ${count}`);
  if (count > 2 ** 53 - start) throw new RangeError(`pi kernel: start + count must be at most 2^53, got ${start} + ${count}`);
}

/** Hits among points [start, start + count) of the stream of `seed`, in plain JavaScript (no BigInt). */
export function countHitsJs(seed: number, start: number, count: number): number {
  checkRange(seed, start, count);
  let hits = 0;
  while (count > 0) {
    const hi = Math.floor(start / TWO32);
    const lo = start - hi * TWO32;
    const n = Math.min(count, TWO32 - lo, 0x40000000);
    const [a, b, c, d] = blockKeys(seed, hi);
    hits += countBlock(a, b, c, d, lo, n);
    start += n;
    count -= n;
  }
  return hits;
}
