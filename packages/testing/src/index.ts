// Test support for superfaas, imported by name from every package's tests: `import { ... } from "@superfaas/testing"`.
export { startS3Server, type S3TestServer, type S3TestStoreConfig } from "./s3-server.js";
export * from "./openwhisk/server.js";
export * from "./lambda/lambda-emulator.js";
export { startOpenWhiskTestbed, startLambdaTestbed, TEST_ROLE, type Testbed, type BackendTestbed, type OpenWhiskTestOptions, type LambdaTestOptions } from "./testbed.js";

/** Paths of the servers' own scripts (built JS), for benchmarks that run them in a process of their own. */
export const SERVER_SCRIPTS = {
  openwhisk: new URL("../dist/openwhisk/server.js", import.meta.url).pathname,
  lambda: new URL("../dist/lambda/serve.js", import.meta.url).pathname,
};
