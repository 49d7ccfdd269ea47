// Endpoints that are not the API they are named as (#21 items 14, 15, 22): a proxy's HTML login or error page in place
// of S3 or Lambda, and an S3 endpoint that accepts requests and never answers. The real CLI process meets them.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLambdaEmulator, TEST_ROLE, type LambdaEmulator } from "@superfaas/testing";
import { built, errorLines, notBuilt, superfaas } from "./process.js";

const PAGE = "<!DOCTYPE html>\n<html><head><title>Corporate proxy - sign in</title></head><body><h1>Please sign in</h1></body></html>";

/** A loopback server that answers every request with `handle`; `requests` counts those that arrived. */
async function loopback(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    req.resume();
    handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const htmlPage = (status: number) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
  res.end(PAGE);
};

const s3Env = (endpoint: string, extra: Record<string, string> = {}) => ({
  ...process.env,
  AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "secret",
  AWS_REGION: "us-east-1",
  AWS_ENDPOINT_URL_S3: endpoint,
  ...extra,
});

describe.skipIf(!built)(`endpoints that are not the API they are named as${notBuilt}`, () => {
  describe("an S3 endpoint that answers an HTML page (#21 item 14)", () => {
    let ok: Awaited<ReturnType<typeof loopback>>;
    let bad: Awaited<ReturnType<typeof loopback>>;
    beforeAll(async () => {
      [ok, bad] = await Promise.all([loopback(htmlPage(200)), loopback(htmlPage(502))]);
    });
    afterAll(async () => {
      await Promise.allSettled([ok?.close(), bad?.close()]);
    });

    it.each([
      ["a prefix, HTTP 200", "ok", "s3://data/text/", /^error\[BAD_INPUT\]: cannot list s3:\/\/data\/text\/: http:\/\/127\.0\.0\.1:\d+ answered the listing with an HTML page "Corporate proxy - sign in" \(HTTP 200, text\/html\), not S3's XML: it is not an S3 API endpoint — point AWS_ENDPOINT_URL_S3/],
      ["a prefix, HTTP 502", "bad", "s3://data/text/", /^error\[BAD_INPUT\]: cannot list s3:\/\/data\/text\/: http:\/\/127\.0\.0\.1:\d+ answered the listing with an HTML page "Corporate proxy - sign in" \(HTTP 502, text\/html\), not S3's XML/],
      ["a key (HEAD), HTTP 200", "ok", "s3://data/text/a.txt", /^error\[BAD_INPUT\]: cannot list s3:\/\/data\/text\/a\.txt: http:\/\/127\.0\.0\.1:\d+ answered a HEAD request with an HTML page \(HTTP 200, text\/html\), not S3's XML/],
      ["a key (HEAD), HTTP 502", "bad", "s3://data/text/a.txt", /^error\[BAD_INPUT\]: cannot list s3:\/\/data\/text\/a\.txt: http:\/\/127\.0\.0\.1:\d+ answered a HEAD request with an HTML page \(HTTP 502, text\/html\), not S3's XML/],
    ])("names what answered, not an empty listing: %s", async (_what, which, data, line) => {
      const server = which === "ok" ? ok : bad;
      const r = await superfaas(["run", "wordcount", "--data", data], { env: s3Env(server.url) });
      expect(r.stderr).not.toMatch(/no objects at|upload the data first/);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(line)]);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.code).toBe(2);
    });
  });

  describe("an S3 endpoint that accepts requests and never answers (#21 item 15)", () => {
    let silent: Awaited<ReturnType<typeof loopback>>;
    beforeAll(async () => {
      silent = await loopback(() => {
        // never answers
      });
    });
    afterAll(async () => {
      await silent?.close();
    });

    it("fails the listing at its deadline (SUPERFAAS_S3_TIMEOUT), in one line, exit 2", async () => {
      const r = await superfaas(["run", "wordcount", "--data", "s3://data/text/"], { env: s3Env(silent.url, { SUPERFAAS_S3_TIMEOUT: "1" }) });
      expect(errorLines(r.stderr)).toEqual([
        expect.stringMatching(/^error\[BAD_INPUT\]: cannot list s3:\/\/data\/text\/: http:\/\/127\.0\.0\.1:\d+ accepted the connection but did not answer within 1 s — .*SUPERFAAS_S3_TIMEOUT/),
      ]);
      expect(r.code).toBe(2);
    });

    it("refuses a SUPERFAAS_S3_TIMEOUT that is not a number of seconds, in one line, exit 2", async () => {
      const r = await superfaas(["run", "wordcount", "--data", "s3://data/text/"], { env: s3Env(silent.url, { SUPERFAAS_S3_TIMEOUT: "soon" }) });
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[BAD_INPUT\]: invalid SUPERFAAS_S3_TIMEOUT "soon" — it takes seconds/)]);
      expect(r.code).toBe(2);
    });

    it.each([
      ["SIGINT", 130, "s3://data/text/"],
      ["SIGTERM", 143, "s3://data/text/a.txt"],
    ] as const)("the first %s ends a run stuck in its listing within a second", async (sig, exitCode, data) => {
      const before = silent.requests();
      let sentAt = 0;
      let exitedAt = 0;
      const r = await superfaas(["run", "wordcount", "--data", data], {
        env: s3Env(silent.url),
        onStart: (child) => {
          // Once the listing's request has reached the server, which will never answer it.
          const poll = setInterval(() => {
            if (silent.requests() <= before) return;
            clearInterval(poll);
            sentAt = performance.now();
            child.kill(sig);
          }, 20);
          child.on("exit", () => {
            clearInterval(poll);
            exitedAt = performance.now();
          });
        },
      });
      expect(sentAt).toBeGreaterThan(0);
      expect(r.stderr).toMatch(new RegExp(`cancelling \\(${sig}\\)`));
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^error\[CANCELLED\]: .*(partitioning|listing)/)]);
      expect(r.code).toBe(exitCode);
      // Ended by the signal, not by the listing's deadline (tens of seconds): well within it even on a loaded machine,
      // where the process's own exit took over a second (the promise of a second is measured, not asserted here).
      expect(exitedAt - sentAt).toBeLessThan(5_000);
    });
  });

  describe("a Lambda endpoint that answers an HTML page (#21 item 22)", () => {
    let page: Awaited<ReturnType<typeof loopback>>;
    beforeAll(async () => {
      page = await loopback(htmlPage(200));
    });
    afterAll(async () => {
      await page?.close();
    });

    it("names what answered (an HTML page, its title, status and content type) in one line, not a SyntaxError", async () => {
      const r = await superfaas(
        ["run", "pi", "--points", "1e6", "--tasks", "2", "--backend", "lambda", "--endpoint", page.url, "--region", "us-east-1", "--role", "arn:aws:iam::123456789012:role/superfaas-test"],
        { env: { ...process.env, AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" } },
      );
      expect(r.stderr).not.toMatch(/SyntaxError|not valid JSON|Deserialization error/);
      expect(errorLines(r.stderr)).toEqual([
        expect.stringMatching(
          /^error\[BACKEND_CONFIG\]: lambda: http:\/\/127\.0\.0\.1:\d+ answered with an HTML page "Corporate proxy - sign in" \(HTTP 200, text\/html\) while looking up function superfaas-pi-\w+, not Lambda's JSON: it is not a Lambda API endpoint — point --endpoint/,
        ),
      ]);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.code).toBe(2);
    });
  });
  describe("a proxy in front of Lambda that answers invocations with an HTML page (#21 item 22)", () => {
    let lambda: LambdaEmulator;
    let proxy: Awaited<ReturnType<typeof loopback>>;
    beforeAll(async () => {
      lambda = await startLambdaEmulator({ pendingMs: 50, updateMs: 50, maxEnvironments: 2 });
      const to = new URL(lambda.endpoint);
      // Control calls reach the emulator; every Invoke gets the proxy's page instead.
      proxy = await loopback((req, res) => {
        if (req.method === "POST" && /\/invocations$/.test(req.url ?? "")) return htmlPage(200)(req, res);
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const fwd = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          });
          fwd.on("error", () => res.destroy());
          fwd.end(Buffer.concat(chunks));
        });
      });
    });
    afterAll(async () => {
      await proxy?.close();
      await lambda?.close();
    });

    it("names the page (its title and status) in one line, and does not retry it", async () => {
      const r = await superfaas(
        ["run", "pi", "--points", "1e6", "--tasks", "2", "--concurrency", "1", "--backend", "lambda", "--endpoint", proxy.url, "--region", lambda.region, "--role", TEST_ROLE],
        { env: { ...process.env, AWS_ACCESS_KEY_ID: lambda.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: lambda.credentials.secretAccessKey } },
      );
      expect(r.stderr).not.toMatch(/SyntaxError|not valid JSON|Deserialization error/);
      expect(errorLines(r.stderr)).toEqual([
        expect.stringMatching(/^error\[TASK_FAILED\]: task 0 failed: lambda: an invocation was answered with an HTML page "Corporate proxy - sign in" \(HTTP 200\), not the function's JSON: the endpoint is not a Lambda API/),
      ]);
      expect(r.stderr).not.toMatch(/retrying task/);
      expect(r.code).not.toBe(0);
    }, 120_000);
  });
});
