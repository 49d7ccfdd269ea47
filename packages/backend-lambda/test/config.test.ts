import { describe, expect, it } from "vitest";
import { SuperfaasError } from "@superfaas/core";
import { LAMBDA_PRICING, lambdaBackendDescriptor, lambdaOptionsFromFlags, MINIMAL_ROLE_HINT, resolveLambdaConfig, type LambdaOptions } from "../src/index.js";

const ROLE = "arn:aws:iam::123456789012:role/superfaas-lambda";
const resolve = (o: LambdaOptions = {}) => resolveLambdaConfig({ env: {}, ...o });
const configError = (o: LambdaOptions): SuperfaasError => {
  try {
    resolve(o);
  } catch (err) {
    expect(err).toBeInstanceOf(SuperfaasError);
    expect((err as SuperfaasError).code).toBe("BACKEND_CONFIG");
    return err as SuperfaasError;
  }
  throw new Error("expected a BACKEND_CONFIG error");
};

describe("lambda configuration", () => {
  it("has defaults that fit a compute job: 1769 MB (one vCPU), 300 s, x86_64, nodejs22.x, 100 of 1000 concurrent", () => {
    const c = resolve();
    expect(c).toMatchObject({ memory: 1769, timeoutSeconds: 300, arch: "x86_64", runtime: "nodejs22.x", concurrencyLimit: 1000, defaultConcurrency: 100, keep: false });
    expect(c.role).toBeUndefined();
    expect(c.s3).toBeUndefined();
    expect(c.price).toEqual(LAMBDA_PRICING.x86_64);
  });

  it("bounds API calls (30 s) and keeps the logs of created functions 14 days by default; refuses a retention CloudWatch does not offer", () => {
    expect(resolve()).toMatchObject({ apiTimeoutSeconds: 30, logRetentionDays: 14 });
    expect(resolve({ apiTimeout: 5, logRetention: 365 })).toMatchObject({ apiTimeoutSeconds: 5, logRetentionDays: 365 });
    expect(configError({ logRetention: 10 }).message).toMatch(/invalid --log-retention 10: must be one of CloudWatch's retention periods/);
    expect(configError({ apiTimeout: 0 }).message).toMatch(/invalid --api-timeout 0: must be at least 1 second/);
  });

  it("takes the role and the bucket from SUPERFAAS_LAMBDA_ROLE and SUPERFAAS_BUCKET", () => {
    const c = resolve({ env: { SUPERFAAS_LAMBDA_ROLE: ROLE, SUPERFAAS_BUCKET: "my-bucket" } });
    expect(c.role).toBe(ROLE);
    expect(c.s3?.bucket).toBe("my-bucket");
  });

  it("takes endpoints from AWS_ENDPOINT_URL_LAMBDA / _S3 before AWS_ENDPOINT_URL, and flags before both", () => {
    const env = { AWS_ENDPOINT_URL: "http://localhost:4566", AWS_ENDPOINT_URL_LAMBDA: "http://lambda:9001", SUPERFAAS_BUCKET: "b-1" };
    expect(resolve({ env })).toMatchObject({ endpoint: "http://lambda:9001", s3: { endpoint: "http://localhost:4566", functionEndpoint: "http://localhost:4566" } });
    expect(resolve({ env: { ...env, AWS_ENDPOINT_URL_S3: "http://s3:9000" } }).s3?.endpoint).toBe("http://s3:9000");
    expect(resolve({ env, endpoint: "http://flag:1" }).endpoint).toBe("http://flag:1");
    expect(resolve({ env, functionS3Endpoint: "none" }).s3?.functionEndpoint).toBeUndefined();
    expect(resolve({ env, functionS3Endpoint: "http://s3.internal:9000" }).s3?.functionEndpoint).toBe("http://s3.internal:9000");
  });

  it("picks the arm64 price with --arch arm64 and lets the user override the table", () => {
    expect(resolve({ arch: "arm64" }).price).toEqual(LAMBDA_PRICING.arm64);
    expect(resolve({ arch: "arm64", pricing: { arm64: { gbSecondUsd: 0.00001 } } }).price).toEqual({ gbSecondUsd: 0.00001, requestUsd: LAMBDA_PRICING.arm64.requestUsd });
  });

  it("never defaults to more concurrency than the limit allows", () => {
    expect(resolve({ concurrencyLimit: 20 }).defaultConcurrency).toBe(20);
  });

  it.each([
    [{ memory: 64 }, /--memory 64: must be at least 128 MB/],
    [{ memory: 20000 }, /--memory 20000: must be at most 10240 MB/],
    [{ memory: 1000.5 }, /--memory 1000\.5: must be a whole number/],
    [{ functionTimeout: 0 }, /--function-timeout 0: must be at least 1 second/],
    [{ functionTimeout: 901 }, /--function-timeout 901: must be at most 900 seconds/],
    [{ arch: "sparc" as never }, /--arch "sparc": must be x86_64 or arm64/],
    [{ runtime: "python3.12" }, /--runtime "python3.12": must be a Node.js runtime/],
    [{ bucket: "Bad_Bucket" }, /--bucket "Bad_Bucket": must be an S3 bucket name/],
    [{ concurrencyLimit: 0 }, /--concurrency-limit 0: must be at least 1/],
    [{ endpoint: "localhost:4566" }, /--endpoint "localhost:4566": must be an http\(s\) URL/],
    [{ pricing: { x86_64: { gbSecondUsd: -1 } } }, /--price-gb-second/],
  ] as [LambdaOptions, RegExp][])("rejects %j with BACKEND_CONFIG naming the flag", (o, message) => {
    expect(configError(o).message).toMatch(message);
  });

  it("rejects a role that is not an IAM role ARN, and the hint names the minimal policy", () => {
    const err = configError({ role: "superfaas-lambda" });
    expect(err.message).toMatch(/invalid --role/);
    expect(err.hint).toBe(MINIMAL_ROLE_HINT);
    expect(err.hint).toMatch(/logs:CreateLogStream and logs:PutLogEvents on arn:aws:logs:REGION:ACCOUNT:log-group:\/aws\/lambda\/superfaas-\*:\*/);
    expect(err.hint).toMatch(/s3:ListBucket on the bucket/);
    expect(err.hint).toMatch(/s3:GetObject, s3:PutObject and s3:DeleteObject/);
  });

  it("turns the price flags into one pricing entry, and leaves numbers checked by the config schema", async () => {
    const o = lambdaOptionsFromFlags({ memory: 512, functionTimeout: 60, concurrencyLimit: 50, arch: "arm64", keep: true, priceGbSecond: 0.00002 });
    expect(o).toMatchObject({ memory: 512, functionTimeout: 60, concurrencyLimit: 50, arch: "arm64", keep: true });
    expect(resolve(o).price.gbSecondUsd).toBe(0.00002);
    // The factory loads the adapter first (lazily): the bad setting rejects its promise.
    await expect(lambdaBackendDescriptor.create({ memory: Number.NaN, env: {} } as never)).rejects.toThrow(/--memory/);
  });

  it("declares its numeric flags so the CLI converts and checks them", () => {
    const typed = Object.fromEntries(lambdaBackendDescriptor.flags!.filter((f) => f.type).map((f) => [f.name, f.type]));
    expect(typed).toEqual({ memory: "integer", "function-timeout": "integer", "api-timeout": "integer", "log-retention": "integer", "concurrency-limit": "integer", "price-gb-second": "number", "price-per-request": "number" });
  });

  it("offers its flags to the CLI without clashing with the run's own flags", () => {
    const names = lambdaBackendDescriptor.flags!.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(["role", "memory", "function-timeout", "arch", "runtime", "bucket", "concurrency-limit", "keep"]));
    for (const runFlag of ["timeout", "concurrency", "tasks", "retries", "backend", "job", "json", "verbose"]) expect(names).not.toContain(runFlag);
    expect(lambdaBackendDescriptor.name).toBe("lambda");
  });
});
