// sum-of-squares.ts
import { defineJob, splitRange } from "@superfaas/core";

export const sumOfSquares = defineJob({
  name: "sum-of-squares",
  deterministic: true,                                                  // same task, same partial: backups on
  params: { n: { type: "count", default: 1_000_000, description: "sum the squares below n" } },
  partition: (input, plan) => splitRange(input.n, plan.tasks),          // [{start, count}, ...]
  // The sum passes 2^53, where numbers stop being exact, near n = 300,000: add BigInts, and send each
  // partial as a decimal string, because partials must be JSON.
  map: ({ start, count }: { start: number; count: number }) => {
    let s = 0n;
    for (let i = BigInt(start), end = BigInt(start + count); i < end; i++) s += i * i;
    return s.toString();
  },
  reduce: (partials: string[]) => partials.reduce((sum, p) => sum + BigInt(p), 0n).toString(),
});
