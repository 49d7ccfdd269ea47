import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext } from "playwright-core";
import { costSweep, run, SuperfaasError, type Backend, type SweepConfiguration } from "@superfaas/core";
import { localBackend } from "@superfaas/backend-local";
import { compareDocument, compareOutputs, costDocument, runDocument, scaleDocument, writeReport, type ReportDocument } from "../src/index.js";
import { busyReport, fakeReport } from "./fixtures.js";
import { spin } from "./fixtures/spin-job.mjs";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const SCREENSHOT = fileURLToPath(new URL("../../../docs/report-screenshot.png", import.meta.url));
const reason = hasChromium ? "" : ` (skipped: ${CHROMIUM} is absent; install it with \`apt-get install -y chromium\` as root, as .ci/run does)`;

interface PageCheck {
  status: string | undefined;
  rendered: number;
  figures: { id: string; marks: number; svg: boolean }[];
  consoleErrors: string[];
  consoleWarnings: string[];
  requests: string[];
}

describe.skipIf(!hasChromium)(`report.html in headless Chromium${reason}`, () => {
  let context: BrowserContext;
  let dir: string;

  beforeAll(async () => {
    const { chromium } = await import("playwright-core");
    dir = await mkdtemp(join(tmpdir(), "superfaas-report-browser-"));
    context = await chromium.launchPersistentContext(join(dir, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1120, height: 900 },
    });
  });

  afterAll(async () => {
    await context?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Writes the report, opens report.html and returns what rendered and what the page logged. */
  async function open(doc: ReportDocument, name: string, screenshot?: string): Promise<PageCheck> {
    const out = join(dir, name);
    const written = await writeReport(out, doc);
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    const consoleWarnings: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
      if (m.type() === "warning") consoleWarnings.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
    page.on("request", (r) => {
      if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) requests.push(r.url());
    });
    try {
      await page.goto(pathToFileURL(written.html).href);
      await page.waitForFunction(() => document.documentElement.dataset.chartsStatus !== "pending", undefined, { timeout: 20_000 });
      const result = await page.evaluate(() => ({
        status: document.documentElement.dataset.chartsStatus,
        rendered: Number(document.documentElement.dataset.chartsRendered),
        figures: [...document.querySelectorAll<HTMLElement>("figure.chart")].map((f) => ({
          id: f.dataset.chart ?? "",
          // Items of the chart's own marks (bars, lines, points, rules), not axes or legends.
          marks: f.querySelectorAll(".view svg g.role-mark > path, .view svg g.role-mark > line, .view svg g.role-mark > rect").length,
          svg: f.querySelector(".view svg") !== null,
        })),
      }));
      if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
      return { ...result, consoleErrors, consoleWarnings, requests };
    } finally {
      await page.close();
    }
  }

  const expectClean = (r: PageCheck, charts: string[]) => {
    expect(r.consoleErrors).toEqual([]);
    expect(r.consoleWarnings).toEqual([]);
    expect(r.requests).toEqual([]);
    expect(r.status).toBe("done");
    expect(r.figures.map((f) => f.id)).toEqual(charts);
    expect(r.rendered).toBe(charts.length);
    for (const f of r.figures) {
      expect(f.svg, `${f.id} drew an svg`).toBe(true);
      expect(f.marks, `${f.id} has marks`).toBeGreaterThan(0);
    }
  };

  it("renders a run report's timeline, concurrency and latency charts, offline and without console errors", async () => {
    const r = await open(runDocument({ report: busyReport(40, 4), output: 42 }), "run");
    expectClean(r, ["timeline", "concurrency", "latency"]);
    // Every task that ran is a bar on the timeline (plus the cold-start markers and the end-of-prepare rule).
    expect(r.figures[0]!.marks).toBeGreaterThanOrEqual(40);
  });

  it("renders a comparison with side-by-side bars, faceted timelines and a skipped backend", async () => {
    const runs = [
      { report: busyReport(24, 3, { backend: "local", taskMs: 30 }), output: { hits: 7 } },
      { report: busyReport(24, 6, { backend: "lambda", taskMs: 80, prepareMs: 900, costUsd: 0.00042, seed: 7 }), output: { hits: 7 } },
    ];
    const comparison = compareOutputs(runs.map((r) => ({ label: r.report.backend, output: r.output, hasOutput: true })));
    const doc = compareDocument({ job: "fake", input: { n: 1 }, runs, comparison, skipped: [{ backend: "openwhisk", code: "BACKEND_CONFIG", reason: "no API host" }] });
    const r = await open(doc, "compare");
    expectClean(r, ["compare", "timeline", "concurrency", "latency"]);
  });

  it("renders a failed run without breaking the page", async () => {
    const report = fakeReport([{ start: 5, end: 20, worker: "a" }, { start: 6, end: 9, worker: "b", status: "failed", attempts: 4 }, {}]);
    const r = await open(runDocument({ report }), "failed");
    expectClean(r, ["timeline", "concurrency", "latency"]);
  });

  it("renders a cost sweep's cost-against-time chart with its Pareto front, and lists the refused configuration", async () => {
    // A platform whose CPU grows with memory up to 1,769 MB (one vCPU), as Lambda's; arm64 a little slower and cheaper.
    const platform = (memoryMb: number, arch: string): Backend => ({
      name: "lambda",
      facts: { defaultConcurrency: 4 },
      async prepare() {
        if (memoryMb > 3008) throw new SuperfaasError("BACKEND_CONFIG", "'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to 3008", "ask AWS to raise the account's quota");
      },
      async invoke(req) {
        const ms = 400 * Math.max(1, 1769 / memoryMb) * (arch === "arm64" ? 1.1 : 1) + (req.taskIndex % 3) * 7;
        return { partial: spin.map(req.task as never, { taskIndex: req.taskIndex, attempt: 1, workerId: "w" }), durationMs: ms, billedMs: Math.ceil(ms), workerId: `w${req.taskIndex % 4}` };
      },
      async dispose() {},
    });
    const prices = { x86_64: { gbSecondUsd: 0.0000166667, requestUsd: 0.0000002 }, arm64: { gbSecondUsd: 0.0000133334, requestUsd: 0.0000002 } };
    const configurations: SweepConfiguration[] = [];
    for (const arch of ["x86_64", "arm64"] as const) {
      for (const mb of [128, 512, 1769, 3008, 4096]) configurations.push({ label: `${mb} MB ${arch}`, memoryMb: mb, arch, price: prices[arch], createBackend: () => platform(mb, arch) });
    }
    const result = await costSweep(spin, { n: 40_000 }, { configurations, tasks: 40, sample: 8 });
    const doc = costDocument({ backend: "lambda", result });
    const r = await open(doc, "cost");
    expectClean(r, ["cost", "timeline", "concurrency", "latency"]);
    // Eight points (the Pareto line and the labels besides).
    expect(r.figures[0]!.marks).toBeGreaterThanOrEqual(8);
    const html = await readFile(join(dir, "cost", "report.html"), "utf8");
    expect(html).toContain("refused <b>4096 MB x86_64</b>");
    expect(html).toContain("cheapest within 1.25× of the fastest");
    expect(existsSync(join(dir, "cost", "cost.svg"))).toBe(true);
  });

  it("renders a real scaling run on the local backend (and saves the screenshot for the docs)", async () => {
    // Bigger tasks when refreshing the docs' screenshot, so the timeline has something to show.
    const forDocs = process.env.SUPERFAAS_UPDATE_SCREENSHOT === "1";
    const runs = [];
    for (const level of [1, 2]) {
      const backend = localBackend({ workers: level });
      try {
        const { output, report } = await run(spin, { n: forDocs ? 60_000_000 : 3_000_000 }, { backend, concurrency: level, tasks: forDocs ? 24 : 8 });
        runs.push({ report, output, level });
      } finally {
        await backend.dispose();
      }
    }
    const doc = scaleDocument({ job: "spin", input: runs[0]!.report.input, runs });
    const shot = join(dir, "scale.png");
    const r = await open(doc, "scale", shot);
    expectClean(r, ["scaling", "timeline", "concurrency", "latency"]);
    const png = await readFile(shot);
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    if (forDocs) {
      await mkdir(join(SCREENSHOT, ".."), { recursive: true });
      await copyFile(shot, SCREENSHOT);
    }
  });
});
