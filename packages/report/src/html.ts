import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { reportCharts, type ChartDef } from "./charts.js";
import type { ReportDocument } from "./schema.js";
import { compareRows, costRows, costVerdict, formatMs, scaleRows } from "./text.js";

const require = createRequire(import.meta.url);

// The UMD builds each package ships next to its entry point; read from node_modules so the page needs no network.
const BUNDLES = [
  ["vega", "vega.min.js"],
  ["vega-lite", "vega-lite.min.js"],
  ["vega-embed", "vega-embed.min.js"],
] as const;

let bundles: Promise<string[]> | undefined;

/** The Vega, Vega-Lite and vega-embed browser bundles, read once per process. */
export function chartLibraries(): Promise<string[]> {
  bundles ??= Promise.all(
    BUNDLES.map(async ([pkg, file]) => {
      const code = await readFile(join(dirname(require.resolve(pkg)), file), "utf8");
      // A source-map comment would point at a file the page does not have.
      return code.replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, "\n");
    }),
  );
  return bundles;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** JSON that is safe inside a <script> element: no `</script>` or `<!--` can close or confuse it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** Code must not close its <script> element early. */
function scriptCode(code: string): string {
  return code.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

function table(rows: string[][], caption?: string): string {
  if (rows.length === 0) return "";
  const [head, ...body] = rows;
  const th = head!.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join("");
  // Text tables indent sub-rows (prepare, execute under wall time) with spaces, which HTML would collapse.
  const rowHead = (c: string) => (c.startsWith("  ") ? `<th scope="row" class="sub">${escapeHtml(c.trim())}</th>` : `<th scope="row">${escapeHtml(c)}</th>`);
  const tr = body.map((r) => `<tr>${r.map((c, i) => (i === 0 ? rowHead(c) : `<td>${escapeHtml(c)}</td>`)).join("")}</tr>`).join("\n");
  return `<table>${caption ? `<caption>${escapeHtml(caption)}</caption>` : ""}<thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

function title(doc: ReportDocument): string {
  if (doc.kind === "compare") return `${doc.job}: ${doc.runs.map((r) => r.label).join(" vs ") || "no backend ran"}`;
  if (doc.kind === "scale") return `${doc.job}: scaling on ${doc.runs[0]?.backend ?? "?"}`;
  if (doc.kind === "cost") return `${doc.job}: cost sweep on ${doc.cost.backend}`;
  return `${doc.job} on ${doc.runs[0]?.backend ?? "?"}`;
}

function verdict(doc: ReportDocument): string {
  if (doc.kind !== "compare" && doc.kind !== "cost") return "";
  const c = doc.comparison;
  const what = doc.kind === "cost" ? "configuration" : "backend";
  if (c.reference === null) return `<p class="verdict bad">No ${what} produced an output to compare.</p>`;
  if (c.agree) return `<p class="verdict good">Outputs agree: every ${what} that ran gave the same output as ${escapeHtml(c.reference)}.</p>`;
  const diffs = c.outputs.filter((o) => o.agrees === false).map((o) => `<li><b>${escapeHtml(o.label)}</b>: ${escapeHtml(o.difference ?? "")}</li>`);
  return `<div class="verdict bad"><p>Outputs differ from ${escapeHtml(c.reference)}'s:</p><ul>${diffs.join("")}</ul></div>`;
}

function summary(doc: ReportDocument): string {
  if (doc.kind === "scale") {
    const s = doc.scaling;
    return table(scaleRows(doc), `speedup and efficiency against ${s.baselineLevel} worker${s.baselineLevel === 1 ? "" : "s"}, by ${s.basis} time`);
  }
  if (doc.kind === "cost") {
    const [measured, picks] = costVerdict(doc);
    return `${table(costRows(doc), measured)}<p class="pick">${escapeHtml(picks ?? "")}</p>`;
  }
  return table(compareRows(doc));
}

function errors(doc: ReportDocument): string {
  const failed = doc.runs.filter((r) => r.report.error);
  if (failed.length === 0) return "";
  return `<ul class="errors">${failed.map((r) => `<li><b>${escapeHtml(r.label)}</b> ${escapeHtml(r.status)}: [${escapeHtml(r.report.error!.code)}] ${escapeHtml(r.report.error!.message)}</li>`).join("")}</ul>`;
}

function figure(c: ChartDef): string {
  return `<figure class="chart" id="chart-${c.id}" data-chart="${c.id}">
<figcaption><h2>${escapeHtml(c.title)}</h2><p>${escapeHtml(c.description)}</p></figcaption>
<div class="view" role="img" aria-label="${escapeHtml(c.title)}"></div>
</figure>`;
}

const STYLE = `
:root { color-scheme: light; --fg: #1d2329; --muted: #5b6670; --line: #dde3e8; --good: #1a7f37; --bad: #c62828; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1080px; padding: 24px 28px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 2px; }
.meta { color: var(--muted); margin: 0 0 18px; word-break: break-word; }
.meta code { font-size: 12px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
caption { caption-side: bottom; text-align: left; color: var(--muted); padding-top: 6px; }
th, td { padding: 3px 12px 3px 0; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th[scope="row"], thead th:first-child { text-align: left; font-weight: 500; }
th.sub { padding-left: 1.2em; font-weight: 400; color: var(--muted); }
thead th { border-bottom: 2px solid var(--line); }
.verdict { padding: 8px 12px; border-radius: 6px; margin: 8px 0 16px; }
.verdict.good { background: #e9f6ec; color: var(--good); }
.verdict.bad { background: #fdecea; color: var(--bad); }
.verdict p, .verdict ul { margin: 0; }
.skipped, .errors { color: var(--muted); }
.pick { font-weight: 600; margin: 0 0 12px; }
figure.chart { margin: 28px 0 0; }
figcaption p { margin: 0 0 8px; color: var(--muted); max-width: 820px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
`;

// Renders every chart; the result is left on <html data-charts-status> for people debugging and for browser tests.
const BOOT = `
(function () {
  var root = document.documentElement;
  var charts = JSON.parse(document.getElementById("superfaas-charts").textContent);
  var options = { renderer: "svg", actions: { export: true, source: false, compiled: false, editor: false } };
  Promise.allSettled(charts.map(function (c) {
    return vegaEmbed(document.querySelector("#chart-" + c.id + " .view"), c.spec, options);
  })).then(function (results) {
    var failed = 0;
    results.forEach(function (r, i) {
      if (r.status === "rejected") { failed++; console.error("superfaas report: chart " + charts[i].id + " failed to render:", r.reason); }
    });
    root.dataset.chartsRendered = String(results.length - failed);
    root.dataset.chartsStatus = failed ? "failed" : "done";
  });
})();
`;

/**
 * A self-contained HTML page for a report: tables, the comparison verdict and the charts, with the Vega libraries
 * inlined so it opens offline (its Content-Security-Policy forbids any network access).
 */
export async function renderHtml(doc: ReportDocument, charts: ChartDef[] = reportCharts(doc)): Promise<string> {
  const libs = await chartLibraries();
  const heading = title(doc);
  const kind = doc.kind === "run" ? "run" : doc.kind === "compare" ? "comparison" : doc.kind === "cost" ? "cost sweep" : "scaling run";
  const wall = doc.runs.reduce((s, r) => s + r.summary.wallMs, 0);
  const skipped = doc.skipped.length
    ? `<ul class="skipped">${doc.skipped.map((s) => `<li>${doc.kind === "cost" ? "refused" : "skipped"} <b>${escapeHtml(s.backend)}</b>: ${escapeHtml(s.reason)}</li>`).join("")}</ul>`
    : "";
  return `<!doctype html>
<html lang="en" data-charts-status="pending">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:">
<meta name="generator" content="superfaas report (format ${doc.formatVersion})">
<title>superfaas ${escapeHtml(kind)}: ${escapeHtml(heading)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(heading)}</h1>
<p class="meta">superfaas ${escapeHtml(kind)} of job <b>${escapeHtml(doc.job)}</b> · ${escapeHtml(doc.createdAt)} · ${doc.runs.length} run${doc.runs.length === 1 ? "" : "s"}, ${escapeHtml(formatMs(wall))} in all<br>input <code>${escapeHtml(JSON.stringify(doc.input) ?? "null")}</code></p>
</header>
<main>
${verdict(doc)}
${summary(doc)}
${skipped}
${errors(doc)}
${charts.map(figure).join("\n")}
</main>
<footer>The data behind this page is in report.json next to it (format "${doc.format}", version ${doc.formatVersion}). Charts drawn with Vega-Lite.</footer>
${libs.map((code) => `<script>${scriptCode(code)}</script>`).join("\n")}
<script type="application/json" id="superfaas-charts">${scriptJson(charts.map((c) => ({ id: c.id, spec: c.spec })))}</script>
<script>${BOOT}</script>
</body>
</html>
`;
}
