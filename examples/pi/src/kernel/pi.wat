;; The pi Monte Carlo kernel in WebAssembly with 128-bit SIMD. Compiled by scripts/build-wasm.mjs (the wabt npm
;; package) into src/kernel/wasm-bytes.ts; edit this file, then run `pnpm run build:wasm` in examples/pi.
;;
;; The point stream is defined in src/kernel/reference.ts. In short, for point i with lo = i mod 2^32, hi = i / 2^32:
;;   mix(h)  = lowbias32: h ^= h>>16; h *= 0x7feb352d; h ^= h>>15; h *= 0x846ca68b; h ^= h>>16
;;   k       = mix(mix(seed ^ 0x243f6a88) + hi); A, B, C, D = mix(k ^ 0x85a308d3), ..0x13198a2e, ..0x03707344, ..0xa4093822
;;   x       = mix(mix(lo + A) + B), y = mix(mix(lo + C) + D); a hit when x^2 + y^2 < 2^64 exactly.
;;
;; export hits(seed, hi, lo, n) -> the hit count among points [lo, lo + n) of block hi, where lo + n <= 2^32 and
;; n < 2^31 (every i32 read as unsigned). index.ts cuts longer ranges into such calls.
;;
;; The main loop takes 16 points per iteration: four independent vectors of four lanes, each computing x and y with
;; i32x4 multiplies, shifts, adds and xors. Three things keep it short:
;;
;; 1. The hit test. The exact test x^2 + y^2 < 2^64 would cost four i64x2 extmuls, sign flips and compares per
;;    vector. Instead a filter decides almost every point in 32-bit lanes: xt = x >> 17, yt = y >> 17 (15 bits,
;;    so they fit signed 16-bit halves) and d = xt^2 + yt^2 (one i32x4.dot_i16x8_s). As xt*2^17 <= x < (xt+1)*2^17:
;;      d >= 2^30           =>  x^2 + y^2 >= d * 2^34 >= 2^64: a miss;
;;      d <= 2^30 - 131070  =>  x^2 + y^2 < ((xt+1)^2 + (yt+1)^2) * 2^34 <= (d + 2*(xt+yt) + 2) * 2^34 <= 2^64: a hit.
;;    The loop counts d < 2^30 as a hit and flags the lanes in between ("unsure", about one point in 10^4). An
;;    iteration with a flag leaves the loop, and scalar code adds (exact - filter) over its 16 points.
;; 2. The filter reads only the top 15 bits of x and y, which the last step of mix (h ^= h >> 16) leaves alone,
;;    so the vector code skips that step.
;; 3. Runs. While the 16 inputs lo+A+i of an iteration share their top 16 bits H (and likewise lo+C+i), the first
;;    step of mix, h ^ (h >> 16), is h ^ H: one xor with a constant of the run. The few iterations that straddle a
;;    multiple of 2^16 (two in 4096) are counted in scalar code.
(module
  ;; lowbias32
  (func $mix (param $h i32) (result i32)
    (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
    (local.set $h (i32.mul (local.get $h) (i32.const 0x7feb352d)))
    (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 15))))
    (local.set $h (i32.mul (local.get $h) (i32.const 0x846ca68b)))
    (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))

  ;; exact hits among points [l, l + m) (m >= 0) of the block with keys a b c d:
  ;; x^2 + y^2 <= 2^64 - 1, i.e. x^2 <= ~(y^2) as unsigned 64-bit
  (func $exactHits (param $l i32) (param $m i32) (param $a i32) (param $b i32) (param $c i32) (param $d i32) (result i32)
    (local $x i64) (local $y i64) (local $r i32)
    (block $end
      (loop $point
        (br_if $end (i32.eqz (local.get $m)))
        (local.set $x (i64.extend_i32_u (call $mix (i32.add (call $mix (i32.add (local.get $l) (local.get $a))) (local.get $b)))))
        (local.set $y (i64.extend_i32_u (call $mix (i32.add (call $mix (i32.add (local.get $l) (local.get $c))) (local.get $d)))))
        (local.set $r (i32.add (local.get $r)
          (i64.le_u (i64.mul (local.get $x) (local.get $x)) (i64.xor (i64.mul (local.get $y) (local.get $y)) (i64.const -1)))))
        (local.set $l (i32.add (local.get $l) (i32.const 1)))
        (local.set $m (i32.sub (local.get $m) (i32.const 1)))
        (br $point)))
    (local.get $r))

  ;; what the vector filter counts among points [l, l + m): (x>>17)^2 + (y>>17)^2 < 2^30
  (func $filterHits (param $l i32) (param $m i32) (param $a i32) (param $b i32) (param $c i32) (param $d i32) (result i32)
    (local $x i32) (local $y i32) (local $r i32)
    (block $end
      (loop $point
        (br_if $end (i32.eqz (local.get $m)))
        (local.set $x (i32.shr_u (call $mix (i32.add (call $mix (i32.add (local.get $l) (local.get $a))) (local.get $b))) (i32.const 17)))
        (local.set $y (i32.shr_u (call $mix (i32.add (call $mix (i32.add (local.get $l) (local.get $c))) (local.get $d))) (i32.const 17)))
        (local.set $r (i32.add (local.get $r)
          (i32.lt_u (i32.add (i32.mul (local.get $x) (local.get $x)) (i32.mul (local.get $y) (local.get $y))) (i32.const 0x40000000))))
        (local.set $l (i32.add (local.get $l) (i32.const 1)))
        (local.set $m (i32.sub (local.get $m) (i32.const 1)))
        (br $point)))
    (local.get $r))

  (func (export "hits") (param $seed i32) (param $hi i32) (param $lo i32) (param $n i32) (result i32)
    (local $k i32) (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $j i32) (local $blocks i32) (local $run i32) (local $runy i32) (local $cx i32) (local $cy i32) (local $hits i32)
    (local $t v128) (local $ca v128) (local $kx v128) (local $ky v128) (local $kb v128) (local $kd v128)
    (local $m1 v128) (local $m2 v128) (local $lim v128) (local $near v128) (local $acc v128) (local $unsure v128)
    (local $x0 v128) (local $y0 v128) (local $d0 v128) (local $x1 v128) (local $y1 v128) (local $d1 v128)
    (local $x2 v128) (local $y2 v128) (local $d2 v128) (local $x3 v128) (local $y3 v128) (local $d3 v128)

    ;; the block's keys
    (local.set $k (call $mix (i32.add (call $mix (i32.xor (local.get $seed) (i32.const 0x243f6a88))) (local.get $hi))))
    (local.set $a (call $mix (i32.xor (local.get $k) (i32.const 0x85a308d3))))
    (local.set $b (call $mix (i32.xor (local.get $k) (i32.const 0x13198a2e))))
    (local.set $c (call $mix (i32.xor (local.get $k) (i32.const 0x03707344))))
    (local.set $d (call $mix (i32.xor (local.get $k) (i32.const 0xa4093822))))

    ;; loop constants: y's mixer inputs are x's plus C - A; $lim = 2^30 is the filter's radius squared
    (local.set $ca (i32x4.splat (i32.sub (local.get $c) (local.get $a))))
    (local.set $kb (i32x4.splat (local.get $b)))
    (local.set $kd (i32x4.splat (local.get $d)))
    (local.set $m1 (v128.const i32x4 0x7feb352d 0x7feb352d 0x7feb352d 0x7feb352d))
    (local.set $m2 (v128.const i32x4 0x846ca68b 0x846ca68b 0x846ca68b 0x846ca68b))
    (local.set $lim (v128.const i32x4 0x40000000 0x40000000 0x40000000 0x40000000))
    (local.set $near (v128.const i32x4 0x7ffe0002 0x7ffe0002 0x7ffe0002 0x7ffe0002)) ;; 2^31 - 131070

    (local.set $blocks (i32.shr_u (local.get $n) (i32.const 4)))
    (block $done
      (loop $resume
        (br_if $done (i32.eqz (local.get $blocks)))
        ;; A run: the iterations from j on whose 16 mixer inputs lo+A+i (and lo+C+i) share their top 16 bits, so
        ;; that mix's first step h ^= h >> 16 is h ^ (constant) for all of them.
        (local.set $cx (i32.add (i32.add (local.get $lo) (local.get $a)) (local.get $j)))
        (local.set $cy (i32.add (i32.add (local.get $lo) (local.get $c)) (local.get $j)))
        (local.set $run (i32.shr_u (i32.sub (i32.const 0x10000) (i32.and (local.get $cx) (i32.const 0xffff))) (i32.const 4)))
        (local.set $runy (i32.shr_u (i32.sub (i32.const 0x10000) (i32.and (local.get $cy) (i32.const 0xffff))) (i32.const 4)))
        (if (i32.lt_u (local.get $runy) (local.get $run)) (then (local.set $run (local.get $runy))))
        (if (i32.lt_u (local.get $blocks) (local.get $run)) (then (local.set $run (local.get $blocks))))
        (if (i32.eqz (local.get $run)) (then
          ;; these 16 points straddle a 2^16 boundary of lo+A+i or lo+C+i: count them in scalar code
          (local.set $hits (i32.add (local.get $hits) (call $exactHits (i32.add (local.get $lo) (local.get $j)) (i32.const 16)
            (local.get $a) (local.get $b) (local.get $c) (local.get $d))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
          (br $resume)))
        (local.set $t (i32x4.add (i32x4.splat (local.get $cx)) (v128.const i32x4 0 1 2 3)))
        (local.set $kx (i32x4.splat (i32.shr_u (local.get $cx) (i32.const 16))))
        (local.set $ky (i32x4.splat (i32.shr_u (local.get $cy) (i32.const 16))))
        (block $unsure_found
          (loop $main
            ;; points j+0 .. j+3; $t holds lo+A+j .. lo+A+j+3. Each coordinate: mix's first step as one xor with
            ;; the run's top half, the rest of mix, + key, mix again but its last step. Then the filter:
            ;; d = (x>>17)^2 + (y>>17)^2 from one shuffle (a blend) and one dot product, a hit counted when
            ;; d < 2^30, and d + 2^30 kept for the unsure test after the fourth vector.
            (local.set $x0 (local.get $t))
            (local.set $y0 (v128.xor (i32x4.add (local.get $x0) (local.get $ca)) (local.get $ky)))
            (local.set $x0 (v128.xor (local.get $x0) (local.get $kx)))
            (local.set $x0 (i32x4.mul (local.get $x0) (local.get $m1)))
            (local.set $x0 (v128.xor (local.get $x0) (i32x4.shr_u (local.get $x0) (i32.const 15))))
            (local.set $x0 (i32x4.mul (local.get $x0) (local.get $m2)))
            (local.set $x0 (v128.xor (local.get $x0) (i32x4.shr_u (local.get $x0) (i32.const 16))))
            (local.set $x0 (i32x4.add (local.get $x0) (local.get $kb)))
            (local.set $x0 (v128.xor (local.get $x0) (i32x4.shr_u (local.get $x0) (i32.const 16))))
            (local.set $x0 (i32x4.mul (local.get $x0) (local.get $m1)))
            (local.set $x0 (v128.xor (local.get $x0) (i32x4.shr_u (local.get $x0) (i32.const 15))))
            (local.set $x0 (i32x4.mul (local.get $x0) (local.get $m2)))
            (local.set $y0 (i32x4.mul (local.get $y0) (local.get $m1)))
            (local.set $y0 (v128.xor (local.get $y0) (i32x4.shr_u (local.get $y0) (i32.const 15))))
            (local.set $y0 (i32x4.mul (local.get $y0) (local.get $m2)))
            (local.set $y0 (v128.xor (local.get $y0) (i32x4.shr_u (local.get $y0) (i32.const 16))))
            (local.set $y0 (i32x4.add (local.get $y0) (local.get $kd)))
            (local.set $y0 (v128.xor (local.get $y0) (i32x4.shr_u (local.get $y0) (i32.const 16))))
            (local.set $y0 (i32x4.mul (local.get $y0) (local.get $m1)))
            (local.set $y0 (v128.xor (local.get $y0) (i32x4.shr_u (local.get $y0) (i32.const 15))))
            (local.set $y0 (i32x4.mul (local.get $y0) (local.get $m2)))
            (local.set $d0 (i8x16.shuffle 0 1 18 19 4 5 22 23 8 9 26 27 12 13 30 31
              (i32x4.shr_u (local.get $x0) (i32.const 17)) (i32x4.shr_u (local.get $y0) (i32.const 1))))
            (local.set $d0 (i32x4.dot_i16x8_s (local.get $d0) (local.get $d0)))
            (local.set $acc (i32x4.sub (local.get $acc) (i32x4.gt_s (local.get $lim) (local.get $d0))))
            (local.set $d0 (i32x4.add (local.get $d0) (local.get $lim)))
            ;; points j+4 .. j+7
            (local.set $x1 (i32x4.add (local.get $t) (v128.const i32x4 4 4 4 4)))
            (local.set $y1 (v128.xor (i32x4.add (local.get $x1) (local.get $ca)) (local.get $ky)))
            (local.set $x1 (v128.xor (local.get $x1) (local.get $kx)))
            (local.set $x1 (i32x4.mul (local.get $x1) (local.get $m1)))
            (local.set $x1 (v128.xor (local.get $x1) (i32x4.shr_u (local.get $x1) (i32.const 15))))
            (local.set $x1 (i32x4.mul (local.get $x1) (local.get $m2)))
            (local.set $x1 (v128.xor (local.get $x1) (i32x4.shr_u (local.get $x1) (i32.const 16))))
            (local.set $x1 (i32x4.add (local.get $x1) (local.get $kb)))
            (local.set $x1 (v128.xor (local.get $x1) (i32x4.shr_u (local.get $x1) (i32.const 16))))
            (local.set $x1 (i32x4.mul (local.get $x1) (local.get $m1)))
            (local.set $x1 (v128.xor (local.get $x1) (i32x4.shr_u (local.get $x1) (i32.const 15))))
            (local.set $x1 (i32x4.mul (local.get $x1) (local.get $m2)))
            (local.set $y1 (i32x4.mul (local.get $y1) (local.get $m1)))
            (local.set $y1 (v128.xor (local.get $y1) (i32x4.shr_u (local.get $y1) (i32.const 15))))
            (local.set $y1 (i32x4.mul (local.get $y1) (local.get $m2)))
            (local.set $y1 (v128.xor (local.get $y1) (i32x4.shr_u (local.get $y1) (i32.const 16))))
            (local.set $y1 (i32x4.add (local.get $y1) (local.get $kd)))
            (local.set $y1 (v128.xor (local.get $y1) (i32x4.shr_u (local.get $y1) (i32.const 16))))
            (local.set $y1 (i32x4.mul (local.get $y1) (local.get $m1)))
            (local.set $y1 (v128.xor (local.get $y1) (i32x4.shr_u (local.get $y1) (i32.const 15))))
            (local.set $y1 (i32x4.mul (local.get $y1) (local.get $m2)))
            (local.set $d1 (i8x16.shuffle 0 1 18 19 4 5 22 23 8 9 26 27 12 13 30 31
              (i32x4.shr_u (local.get $x1) (i32.const 17)) (i32x4.shr_u (local.get $y1) (i32.const 1))))
            (local.set $d1 (i32x4.dot_i16x8_s (local.get $d1) (local.get $d1)))
            (local.set $acc (i32x4.sub (local.get $acc) (i32x4.gt_s (local.get $lim) (local.get $d1))))
            (local.set $d1 (i32x4.add (local.get $d1) (local.get $lim)))
            ;; points j+8 .. j+11
            (local.set $x2 (i32x4.add (local.get $t) (v128.const i32x4 8 8 8 8)))
            (local.set $y2 (v128.xor (i32x4.add (local.get $x2) (local.get $ca)) (local.get $ky)))
            (local.set $x2 (v128.xor (local.get $x2) (local.get $kx)))
            (local.set $x2 (i32x4.mul (local.get $x2) (local.get $m1)))
            (local.set $x2 (v128.xor (local.get $x2) (i32x4.shr_u (local.get $x2) (i32.const 15))))
            (local.set $x2 (i32x4.mul (local.get $x2) (local.get $m2)))
            (local.set $x2 (v128.xor (local.get $x2) (i32x4.shr_u (local.get $x2) (i32.const 16))))
            (local.set $x2 (i32x4.add (local.get $x2) (local.get $kb)))
            (local.set $x2 (v128.xor (local.get $x2) (i32x4.shr_u (local.get $x2) (i32.const 16))))
            (local.set $x2 (i32x4.mul (local.get $x2) (local.get $m1)))
            (local.set $x2 (v128.xor (local.get $x2) (i32x4.shr_u (local.get $x2) (i32.const 15))))
            (local.set $x2 (i32x4.mul (local.get $x2) (local.get $m2)))
            (local.set $y2 (i32x4.mul (local.get $y2) (local.get $m1)))
            (local.set $y2 (v128.xor (local.get $y2) (i32x4.shr_u (local.get $y2) (i32.const 15))))
            (local.set $y2 (i32x4.mul (local.get $y2) (local.get $m2)))
            (local.set $y2 (v128.xor (local.get $y2) (i32x4.shr_u (local.get $y2) (i32.const 16))))
            (local.set $y2 (i32x4.add (local.get $y2) (local.get $kd)))
            (local.set $y2 (v128.xor (local.get $y2) (i32x4.shr_u (local.get $y2) (i32.const 16))))
            (local.set $y2 (i32x4.mul (local.get $y2) (local.get $m1)))
            (local.set $y2 (v128.xor (local.get $y2) (i32x4.shr_u (local.get $y2) (i32.const 15))))
            (local.set $y2 (i32x4.mul (local.get $y2) (local.get $m2)))
            (local.set $d2 (i8x16.shuffle 0 1 18 19 4 5 22 23 8 9 26 27 12 13 30 31
              (i32x4.shr_u (local.get $x2) (i32.const 17)) (i32x4.shr_u (local.get $y2) (i32.const 1))))
            (local.set $d2 (i32x4.dot_i16x8_s (local.get $d2) (local.get $d2)))
            (local.set $acc (i32x4.sub (local.get $acc) (i32x4.gt_s (local.get $lim) (local.get $d2))))
            (local.set $d2 (i32x4.add (local.get $d2) (local.get $lim)))
            ;; points j+12 .. j+15
            (local.set $x3 (i32x4.add (local.get $t) (v128.const i32x4 12 12 12 12)))
            (local.set $y3 (v128.xor (i32x4.add (local.get $x3) (local.get $ca)) (local.get $ky)))
            (local.set $x3 (v128.xor (local.get $x3) (local.get $kx)))
            (local.set $x3 (i32x4.mul (local.get $x3) (local.get $m1)))
            (local.set $x3 (v128.xor (local.get $x3) (i32x4.shr_u (local.get $x3) (i32.const 15))))
            (local.set $x3 (i32x4.mul (local.get $x3) (local.get $m2)))
            (local.set $x3 (v128.xor (local.get $x3) (i32x4.shr_u (local.get $x3) (i32.const 16))))
            (local.set $x3 (i32x4.add (local.get $x3) (local.get $kb)))
            (local.set $x3 (v128.xor (local.get $x3) (i32x4.shr_u (local.get $x3) (i32.const 16))))
            (local.set $x3 (i32x4.mul (local.get $x3) (local.get $m1)))
            (local.set $x3 (v128.xor (local.get $x3) (i32x4.shr_u (local.get $x3) (i32.const 15))))
            (local.set $x3 (i32x4.mul (local.get $x3) (local.get $m2)))
            (local.set $y3 (i32x4.mul (local.get $y3) (local.get $m1)))
            (local.set $y3 (v128.xor (local.get $y3) (i32x4.shr_u (local.get $y3) (i32.const 15))))
            (local.set $y3 (i32x4.mul (local.get $y3) (local.get $m2)))
            (local.set $y3 (v128.xor (local.get $y3) (i32x4.shr_u (local.get $y3) (i32.const 16))))
            (local.set $y3 (i32x4.add (local.get $y3) (local.get $kd)))
            (local.set $y3 (v128.xor (local.get $y3) (i32x4.shr_u (local.get $y3) (i32.const 16))))
            (local.set $y3 (i32x4.mul (local.get $y3) (local.get $m1)))
            (local.set $y3 (v128.xor (local.get $y3) (i32x4.shr_u (local.get $y3) (i32.const 15))))
            (local.set $y3 (i32x4.mul (local.get $y3) (local.get $m2)))
            (local.set $d3 (i8x16.shuffle 0 1 18 19 4 5 22 23 8 9 26 27 12 13 30 31
              (i32x4.shr_u (local.get $x3) (i32.const 17)) (i32x4.shr_u (local.get $y3) (i32.const 1))))
            (local.set $d3 (i32x4.dot_i16x8_s (local.get $d3) (local.get $d3)))
            (local.set $acc (i32x4.sub (local.get $acc) (i32x4.gt_s (local.get $lim) (local.get $d3))))
            (local.set $d3 (i32x4.add (local.get $d3) (local.get $lim)))
            ;; unsure lanes: 2^30 - 131070 < d < 2^30, i.e. d + 2^30 > 2^31 - 131070 as signed (d >= 2^30 wraps negative)
            (local.set $d0 (i32x4.max_s (i32x4.max_s (local.get $d0) (local.get $d1)) (i32x4.max_s (local.get $d2) (local.get $d3))))
            (local.set $unsure (i32x4.gt_s (local.get $d0) (local.get $near)))
            (local.set $t (i32x4.add (local.get $t) (v128.const i32x4 16 16 16 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
            (br_if $unsure_found (v128.any_true (local.get $unsure)))
            (br_if $main (local.tee $run (i32.sub (local.get $run) (i32.const 1)))))
          (br $resume))
        ;; the 16 points just done had a lane the filter could not decide: correct it in scalar code
        (local.set $hits (i32.add (local.get $hits)
          (i32.sub
            (call $exactHits (i32.sub (i32.add (local.get $lo) (local.get $j)) (i32.const 16)) (i32.const 16)
              (local.get $a) (local.get $b) (local.get $c) (local.get $d))
            (call $filterHits (i32.sub (i32.add (local.get $lo) (local.get $j)) (i32.const 16)) (i32.const 16)
              (local.get $a) (local.get $b) (local.get $c) (local.get $d)))))
        (br $resume)))

    ;; the filter's hits, each lane of $acc a count
    (local.set $hits (i32.add (local.get $hits)
      (i32.add
        (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
        (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc))))))

    ;; the last n mod 16 points
    (i32.add (local.get $hits)
      (call $exactHits (i32.add (local.get $lo) (local.get $j)) (i32.sub (local.get $n) (local.get $j))
        (local.get $a) (local.get $b) (local.get $c) (local.get $d)))))
