import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseWskprops, resolveOpenWhiskConfig } from "../src/config.js";

const dir = mkdtempSync(join(tmpdir(), "sf-ow-config-"));
const props = join(dir, "wskprops");
writeFileSync(props, "# written by wsk property set\nAPIHOST=ow.example.com:443\nAUTH=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP\nNAMESPACE=guest\n");
const none = join(dir, "missing");

describe("OpenWhisk configuration", () => {
  it("parses wsk properties files", () => {
    expect(parseWskprops("APIHOST=a\n\n# c\nAUTH = x:y \r\n")).toEqual({ APIHOST: "a", AUTH: "x:y" });
  });

  it("reads ~/.wskprops-style files, adding https:// to a bare host", () => {
    const c = resolveOpenWhiskConfig({ env: { WSK_CONFIG_FILE: props } });
    expect(c).toMatchObject({ apihost: "https://ow.example.com:443", namespace: "guest", kind: undefined, memory: 256, keep: false, maxInFlight: 30 });
    expect(c.auth.startsWith("23bc46b1")).toBe(true);
  });

  it("prefers flags over __OW_* variables over the properties file", () => {
    const env = { WSK_CONFIG_FILE: props, __OW_API_HOST: "http://127.0.0.1:3233", __OW_NAMESPACE: "envns" };
    expect(resolveOpenWhiskConfig({ env }).apihost).toBe("http://127.0.0.1:3233");
    expect(resolveOpenWhiskConfig({ env }).namespace).toBe("envns");
    expect(resolveOpenWhiskConfig({ env, apihost: "https://flag.example.com", namespace: "flagns" })).toMatchObject({ apihost: "https://flag.example.com", namespace: "flagns" });
  });

  it("names what is missing and every place it can come from", () => {
    expect(() => resolveOpenWhiskConfig({ env: { WSK_CONFIG_FILE: none } })).toThrow(/openwhisk: the API host is not set/);
    try {
      resolveOpenWhiskConfig({ env: { WSK_CONFIG_FILE: none, __OW_API_HOST: "localhost:3233" } });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe("openwhisk: the auth key is not set");
      expect((e as { hint: string }).hint).toMatch(/--auth UUID:KEY, set __OW_API_KEY, or run `wsk property set --auth UUID:KEY`/);
      expect((e as { code: string }).code).toBe("BACKEND_CONFIG");
    }
  });

  it("rejects malformed settings with the flag to fix", () => {
    const env = { WSK_CONFIG_FILE: props };
    expect(() => resolveOpenWhiskConfig({ env, auth: "no-colon" })).toThrow(/invalid --auth: must look like UUID:KEY/);
    expect(() => resolveOpenWhiskConfig({ env, memory: 0 })).toThrow(/invalid --memory/);
    expect(() => resolveOpenWhiskConfig({ env, proxyTimeout: 0.1 })).toThrow(/invalid --proxy-timeout/);
    expect(() => resolveOpenWhiskConfig({ env, kind: "python:3" })).toThrow(/invalid --kind: must be a Node.js kind/);
    expect(() => resolveOpenWhiskConfig({ env, apihost: "http://" })).toThrow(/invalid API host/);
    expect(() => resolveOpenWhiskConfig({ wskprops: none })).toThrow(/cannot read .*missing/);
  });

  it("needs object-store keys the actions can use when a bucket is set", () => {
    const env = { WSK_CONFIG_FILE: props };
    expect(() => resolveOpenWhiskConfig({ env, bucket: "b" })).toThrow(/bucket b is set but no S3 credentials are/);
    const c = resolveOpenWhiskConfig({ env: { ...env, AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s", AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9000" }, bucket: "b" });
    expect(c.s3).toEqual({ bucket: "b", region: "us-east-1", endpoint: "http://127.0.0.1:9000", forcePathStyle: true, credentials: { accessKeyId: "k", secretAccessKey: "s" } });
  });
});
