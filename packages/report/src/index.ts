export * from "./schema.js";
export * from "./model.js";
export * from "./outputs.js";
export * from "./document.js";
export * from "./text.js";
export { reportCharts, type ChartDef } from "./charts.js";
export { renderHtml, chartLibraries, escapeHtml } from "./html.js";
export { renderSvg } from "./svg.js";
export { writeReport, type WrittenReport } from "./write.js";
