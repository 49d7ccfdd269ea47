import { describe, expect, it } from "vitest";
import { compile } from "vega-lite";
import { compareDocument, compareOutputs, escapeHtml, renderHtml, renderSvg, reportCharts, runDocument, scaleDocument } from "../src/index.js";
import { busyReport, fakeReport } from "./fixtures.js";

const compare = () => {
  const runs = [
    { report: busyReport(12, 3), output: 1 },
    { report: busyReport(12, 4, { backend: "lambda", costUsd: 0.0001 }), output: 1 },
  ];
  return compareDocument({ job: "j", input: { n: 1 }, runs, comparison: compareOutputs(runs.map((r) => ({ label: r.report.backend, output: 1, hasOutput: true }))) });
};

describe("charts", () => {
  it("offers the timeline, concurrency and latency charts for a run, and the main chart first for compare and scale", () => {
    expect(reportCharts(runDocument({ report: busyReport(5, 2) })).map((c) => c.id)).toEqual(["timeline", "concurrency", "latency"]);
    expect(reportCharts(compare()).map((c) => c.id)).toEqual(["compare", "timeline", "concurrency", "latency"]);
    const scale = scaleDocument({ job: "j", input: {}, runs: [1, 2].map((level) => ({ level, report: busyReport(8, level) })) });
    expect(reportCharts(scale).map((c) => c.id)).toEqual(["scaling", "timeline", "concurrency", "latency"]);
  });

  it("leaves out charts with nothing to draw", () => {
    expect(reportCharts(runDocument({ report: fakeReport([{}, {}]) }))).toEqual([]);
  });

  it("gives Vega-Lite specs that compile without warnings", () => {
    for (const c of reportCharts(compare())) {
      const warnings: unknown[] = [];
      const logger = { level: () => logger, error: (...a: unknown[]) => warnings.push(a), warn: (...a: unknown[]) => warnings.push(a), info: () => logger, debug: () => logger };
      compile(c.spec, { logger: logger as never });
      expect(warnings, c.id).toEqual([]);
    }
  });

  it("renders the timeline to SVG headless, one bar per task", async () => {
    const tl = reportCharts(runDocument({ report: busyReport(7, 2) })).find((c) => c.id === "timeline")!;
    const svg = await renderSvg(tl.spec);
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const bars = svg.match(/<g class="mark-rect role-mark[^"]*"[^>]*>(.*?)<\/g>/s)?.[1] ?? "";
    expect(bars.match(/<path /g)).toHaveLength(7);
  });
});

describe("report.html", () => {
  it("is self-contained: libraries inlined, no external references, network forbidden by its CSP", async () => {
    const html = await renderHtml(compare());
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'/);
    const markup = html.replace(/<script>[\s\S]*?<\/script>/g, "<script></script>");
    expect(markup).not.toMatch(/<(script|img|link|iframe)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/sourceMappingURL/);
    expect(html).toContain("vegaEmbed");
    expect(html.length).toBeGreaterThan(500_000); // vega, vega-lite and vega-embed inlined
    for (const id of ["compare", "timeline", "concurrency", "latency"]) expect(html).toContain(`id="chart-${id}"`);
  });

  it("escapes what it shows and cannot be broken out of by data", async () => {
    const report = busyReport(2, 1);
    const doc = runDocument({ report: { ...report, job: "<img src=x onerror=alert(1)>", input: { s: "</script><script>alert(1)</script>" } } });
    const html = await renderHtml(doc);
    expect(html).not.toContain("<img src=x");
    expect(html).not.toContain("</script><script>alert(1)");
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });

  it("states whether outputs agree and lists skipped backends", async () => {
    const doc = compare();
    const skipped = { ...doc, skipped: [{ backend: "openwhisk", code: "BACKEND_CONFIG", reason: "no API host" }] };
    const html = await renderHtml(skipped);
    expect(html).toContain("Outputs agree");
    expect(html).toMatch(/skipped <b>openwhisk<\/b>: no API host/);
  });
});
