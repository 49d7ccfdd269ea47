/*
 * The pi Monte Carlo kernel in plain C: the native baseline of the benchmark (bench/pi-kernel.mjs) and a third
 * implementation that the tests compare with the WebAssembly one. Same stream as src/kernel/reference.ts:
 *
 *   point i (0 <= i < 2^53): lo = i mod 2^32, hi = i / 2^32
 *   k = mix(mix(seed ^ 0x243F6A88) + hi); A, B, C, D = mix(k ^ four constants)
 *   x = mix(mix(lo + A) + B), y = mix(mix(lo + C) + D), hit when x^2 + y^2 < 2^64 (exact, 64-bit unsigned)
 *
 * Written plainly, with no intrinsics, so that gcc -O3 -march=native vectorises the inner loop by itself.
 *
 *   gcc -O3 -march=native -o pi pi.c
 *   ./pi SEED START COUNT [REPEATS]
 *
 * prints {"hits":...,"seconds":...,"cpuSeconds":...,"pointsPerSec":...}: the best of REPEATS runs, timed inside the
 * program (startup excluded), in wall-clock seconds and in CPU seconds of the process.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* lowbias32: a 32-bit xorshift-multiply finaliser. */
static inline uint32_t mix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  h *= 0x846ca68bu;
  h ^= h >> 16;
  return h;
}

/* Hits among points [lo, lo + n) of one block of 2^32 points (lo + n <= 2^32), given the block's keys. */
static uint64_t count_block(uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t lo, uint64_t n) {
  uint64_t hits = 0;
  for (uint64_t j = 0; j < n; j++) {
    uint32_t l = lo + (uint32_t)j;
    uint32_t x = mix(mix(l + a) + b);
    uint32_t y = mix(mix(l + c) + d);
    uint64_t x2 = (uint64_t)x * x;
    uint64_t y2 = (uint64_t)y * y;
    hits += x2 <= ~y2; /* x^2 + y^2 <= 2^64 - 1 */
  }
  return hits;
}

/* Hits among points [start, start + count) of the stream of `seed`. */
uint64_t countHits(uint32_t seed, uint64_t start, uint64_t count) {
  uint64_t hits = 0;
  while (count > 0) {
    uint32_t hi = (uint32_t)(start >> 32);
    uint32_t lo = (uint32_t)start;
    uint64_t room = (UINT64_C(1) << 32) - lo;
    uint64_t n = count < room ? count : room;
    uint32_t k = mix(mix(seed ^ 0x243f6a88u) + hi);
    hits += count_block(mix(k ^ 0x85a308d3u), mix(k ^ 0x13198a2eu), mix(k ^ 0x03707344u), mix(k ^ 0xa4093822u), lo, n);
    start += n;
    count -= n;
  }
  return hits;
}

static double now(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s SEED START COUNT [REPEATS]\n", argv[0]);
    return 2;
  }
  uint32_t seed = (uint32_t)strtoull(argv[1], NULL, 10);
  uint64_t start = strtoull(argv[2], NULL, 10);
  uint64_t count = strtoull(argv[3], NULL, 10);
  int repeats = argc > 4 ? atoi(argv[4]) : 1;
  if (repeats < 1) repeats = 1;
  uint64_t hits = 0;
  double best = 1e300, bestCpu = 1e300;
  for (int r = 0; r < repeats; r++) {
    double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    uint64_t h = countHits(seed, start, count);
    double s = now(CLOCK_MONOTONIC) - t0, c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (r > 0 && h != hits) {
      fprintf(stderr, "pi: repeat %d gave %" PRIu64 " hits, not %" PRIu64 "\n", r, h, hits);
      return 1;
    }
    hits = h;
    if (s < best) best = s;
    if (c < bestCpu) bestCpu = c;
  }
  printf("{\"hits\":%" PRIu64 ",\"seconds\":%.9f,\"cpuSeconds\":%.9f,\"pointsPerSec\":%.6e}\n", hits, best, bestCpu,
         best > 0 ? (double)count / best : 0.0);
  return 0;
}
