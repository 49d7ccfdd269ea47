// What Lambda runs cost: the price table, and the estimate from the billed time the REPORT lines give.

// The project's Lambda price table. Source: https://aws.amazon.com/lambda/pricing/, US East (N. Virginia), on-demand,
// first tier; the same figures since arm64 (Graviton2) functions were first priced in September 2021. Checked on
// 2026-12-02 against the project's PLATFORMS.md and public copies of that page (this machine cannot reach it):
//   x86_64: $0.0000166667 per GB-second for the first 6 billion GB-seconds a month,
//   arm64:  $0.0000133334 per GB-second for the first 7.5 billion GB-seconds a month,
//   requests: $0.20 per million, either architecture.
// Duration is billed per 1 ms, rounded up, at the function's memory in MB / 1024 GB. Since August 1, 2025 the init
// phase of on-demand, ZIP-packaged functions on managed runtimes is billed too, and the REPORT line's Billed Duration
// includes it (AWS Compute Blog, "AWS Lambda standardizes billing for INIT Phase", April 2025:
// https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/). The cost estimate therefore
// takes the Billed Duration of each invocation as it is and adds nothing for init.
// Other regions, higher tiers, Savings Plans and the free tier are not in this table: override it with `pricing`
// (library), --price-gb-second/--price-per-request or `superfaas cost --prices FILE` (CLI).

/** Instruction set of the function. */
export type LambdaArch = "x86_64" | "arm64";

/** What one architecture costs: per GB-second of billed duration and per request, in US dollars. */
export interface LambdaPrice {
  gbSecondUsd: number;
  requestUsd: number;
}

/** us-east-1 on-demand prices (first pricing tier), billed per 1 ms; see the source above. */
export const LAMBDA_PRICING: Readonly<Record<LambdaArch, Readonly<LambdaPrice>>> = Object.freeze({
  x86_64: Object.freeze({ gbSecondUsd: 0.0000166667, requestUsd: 0.2 / 1_000_000 }),
  arm64: Object.freeze({ gbSecondUsd: 0.0000133334, requestUsd: 0.2 / 1_000_000 }),
});

/** When the figures above were last checked. */
export const LAMBDA_PRICING_DATE = "2026-12-02";

/** Estimated cost in US dollars: billed GB-seconds at the architecture's price, plus the per-request charge. */
export function estimateLambdaCost(usage: { invocations: number; billedMs: number }, memoryMb: number, price: LambdaPrice): number {
  const gbSeconds = (usage.billedMs / 1000) * (memoryMb / 1024);
  return gbSeconds * price.gbSecondUsd + usage.invocations * price.requestUsd;
}
