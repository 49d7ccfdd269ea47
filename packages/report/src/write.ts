import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { reportCharts } from "./charts.js";
import { renderHtml } from "./html.js";
import { jsonChunks, writeFileChunks } from "./json.js";
import { parseReportDocument, taskRecordSchema, type ReportDocument } from "./schema.js";
import { renderSvg } from "./svg.js";

/** The files `writeReport` wrote. */
export interface WrittenReport {
  dir: string;
  json: string;
  html: string;
  /** SVG exports: `timeline.svg` always (when there are tasks), plus `compare.svg`, `scaling.svg` or `cost.svg`. */
  svg: string[];
}

/**
 * Writes a report directory: `report.json` (validated against the schema first, so a bad document never reaches
 * disk), the self-contained `report.html`, and SVG exports of the main charts.
 */
export async function writeReport(dir: string, doc: ReportDocument): Promise<WrittenReport> {
  const valid = validDocument(doc);
  await mkdir(dir, { recursive: true });
  const json = join(dir, "report.json");
  const html = join(dir, "report.html");
  await writeFileChunks(json, jsonChunks(valid));
  // The charts are worked out once for the page and the SVGs: for a large run that is most of the time spent here.
  const charts = reportCharts(valid);
  await writeFile(html, await renderHtml(valid, charts));
  const svg: string[] = [];
  for (const chart of charts) {
    if (chart.id !== "timeline" && chart.id !== "compare" && chart.id !== "scaling" && chart.id !== "cost") continue;
    const file = join(dir, `${chart.id}.svg`);
    await writeFile(file, await renderSvg(chart.spec));
    svg.push(file);
  }
  return { dir, json, html, svg };
}

/**
 * Validates what will be on disk: the document as JSON sees it. The per-task records are checked one by one in
 * place rather than copied through a JSON round trip with the rest, which for a million tasks would hold two more
 * copies of them in memory at once.
 */
export function validDocument(doc: ReportDocument): ReportDocument {
  const shell = { ...doc, runs: doc.runs.map((r) => ({ ...r, report: { ...r.report, tasks: [] } })) };
  const valid = parseReportDocument(JSON.parse(JSON.stringify(shell)));
  for (const [i, run] of valid.runs.entries()) {
    const tasks = doc.runs[i]!.report.tasks;
    // z.number() refuses NaN and ±Infinity, the values JSON would turn into null, so no round trip is needed.
    for (const t of tasks) taskRecordSchema.parse(t);
    run.report.tasks = tasks;
  }
  return valid;
}
