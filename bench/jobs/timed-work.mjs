import { defineJob, splitRange } from "@superfaas/core";

// Work that takes a known time without using the CPU: each unit waits `msPerUnit` times its own weight (0.5 to 1.5,
// fixed by its index, so some ranges are heavier than others, as real inputs are). On a loopback cloud server on a
// 2-core machine, CPU-bound tasks in eight containers would measure the machine; waits measure the orchestration, as
// eight real function instances, each with its own CPU, would.
const weight = (i) => 0.5 + ((Math.sin(i * 12.9898) * 43758.5453) % 1 + 1) % 1;

export const timedWork = defineJob({
  name: "timed-work",
  partition: (input, plan) => splitRange(input.units, plan.tasks).map((r) => ({ ...r, msPerUnit: input.msPerUnit })),
  async map({ start, count, msPerUnit }) {
    let ms = 0;
    for (let i = start; i < start + count; i++) ms += weight(i) * msPerUnit;
    await new Promise((r) => setTimeout(r, ms));
    return count;
  },
  reduce: (partials) => partials.reduce((a, b) => a + b, 0),
});
