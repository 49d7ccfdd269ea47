import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { reportCharts } from "./charts.js";
import { renderHtml } from "./html.js";
import { parseReportDocument, type ReportDocument } from "./schema.js";
import { renderSvg } from "./svg.js";

/** The files `writeReport` wrote. */
export interface WrittenReport {
  dir: string;
  json: string;
  html: string;
  /** SVG exports: `timeline.svg` always (when there are tasks), plus `compare.svg` or `scaling.svg`. */
  svg: string[];
}

/**
 * Writes a report directory: `report.json` (validated against the schema first, so a bad document never reaches
 * disk), the self-contained `report.html`, and SVG exports of the main charts.
 */
export async function writeReport(dir: string, doc: ReportDocument): Promise<WrittenReport> {
  // Validate what will be on disk: the document as JSON sees it.
  const valid = parseReportDocument(JSON.parse(JSON.stringify(doc)));
  await mkdir(dir, { recursive: true });
  const json = join(dir, "report.json");
  const html = join(dir, "report.html");
  await writeFile(json, `${JSON.stringify(valid, null, 2)}\n`);
  await writeFile(html, await renderHtml(valid));
  const svg: string[] = [];
  for (const chart of reportCharts(valid)) {
    if (chart.id !== "timeline" && chart.id !== "compare" && chart.id !== "scaling") continue;
    const file = join(dir, `${chart.id}.svg`);
    await writeFile(file, await renderSvg(chart.spec));
    svg.push(file);
  }
  return { dir, json, html, svg };
}
