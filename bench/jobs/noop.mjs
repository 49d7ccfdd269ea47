import { defineJob } from "@superfaas/core";

/** n tasks that do nothing: measures pure orchestration overhead. */
export const noop = defineJob({
  name: "noop",
  partition: (input) => Array.from({ length: input.n }, (_, i) => i),
  map: (i) => i,
  reduce: (partials) => partials.length,
});
